"""Simulated annealing on the proxy cost: hard macros on legal spots, soft macros nudged, FD now and then.

The state is the whole placement. Each move is one of: *swap* two hard macros' centres,
*shift* one by up to ``radius`` grid cells along one axis (the radius shrinks as the run
cools), *flip* one (N, FN, S, FS), *move* one to a random cell centre, *shuffle* the
centres of four random hard macros in a cycle (TILOS' move set), or nudge a *soft* macro
(a std-cell cluster) by up to about a grid cell, shrinking as the run cools; a share
``pull_share`` of the soft-macro moves *pull* it instead: to the point of least wirelength on
a small lattice spanning the same range (one pass over its nets,
:meth:`placer.cost.IncrementalCost.wirelength_increments`), jittered within a lattice step so
that a cluster already at its best point still moves. A move that
would put a hard macro off the canvas or over another hard macro or a blockage is not
made. The change in proxy cost comes from :class:`placer.cost.IncrementalCost` (a rejected
move is undone exactly) and is accepted by Metropolis' rule ``exp(-delta / T)`` under
exponential cooling, from a temperature calibrated on random moves (``initial_acceptance``
of uphill moves accepted at the start) down to ``final_ratio`` of it.

Every ``fd_every`` moves the soft macros are re-placed by force-directed placement around
the current hard macros; the re-placement is kept when it lowers the cost (early on, after
the hard macros have moved far) and dropped otherwise, and each time it is dropped the
period doubles, so FD runs as often as it pays. The result is the best placement seen. With
a budget in moves and a seed, a run is repeatable.

A *controller* may steer a run: the budget is cut into ``decisions`` blocks, and before each
block the controller reads :attr:`AnnealRun.features` (progress, temperature, and per move
type the acceptance, illegal share and gain of the last block) and returns a
:class:`MoveMix`: the move probabilities and scales of the temperature, the shift radius and
the soft-macro nudge for the next block. Everything else (moves, cost, acceptance, FD,
budget) is the same code, so a steered run and a plain one differ only in those choices.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from netlists import NodeKind, Placement
from placer.cost import CostModel, CostReport, CostWeights, IncrementalCost
from placer.fd import FDSchedule, place_soft_macros
from placer.legality import MacroBoxes, cell_centres, cell_of
from placer.sequential import FLIPS

MOVES = ("swap", "shift", "flip", "move", "shuffle", "soft")
PULL_LATTICE = 5  # points along each axis of a pull's lattice; odd, so the current point is one of them
HARD_PULL_TRIES = 4  # cells of least wirelength a hard-macro pull tries, best first


@dataclass(frozen=True)
class AnnealSettings:
    """Settings of :func:`anneal`.

    Attributes:
        move_probabilities: Weights of swap, shift, flip, move and shuffle (hard macros, in
            TILOS' proportions 0.24 / 0.24 / 0.04 / 0.24 / 0.24) and soft (a soft macro nudged).
        initial_acceptance: Share of uphill moves accepted at the start (sets the temperature).
        final_ratio: Final temperature over the initial one.
        fd_every: Moves before the first re-placement of the soft macros by FD (the period
            doubles each time a re-placement does not pay).
        shuffle_size: Macros in a shuffle.
        calibration_moves: Random moves (each undone) that set the initial temperature.
        spacing: Clearance (µm) between hard macros and from blockages.
        decisions: Blocks of a run steered by a controller (one :class:`MoveMix` each).
        pull_share: Share of the soft-macro moves that pull the macro to its least-wirelength
            point within the nudge range instead of nudging it at random.
        hard_pull_share: Share of the shifts that pull the hard macro instead: to the legal
            cell centre of least wirelength within the shift radius (of the ``HARD_PULL_TRIES``
            best there, the first that fits).
    """

    move_probabilities: tuple[float, ...] = (0.12, 0.12, 0.02, 0.12, 0.12, 0.5)
    initial_acceptance: float = 0.2
    final_ratio: float = 1e-3
    fd_every: int = 20_000
    shuffle_size: int = 4
    calibration_moves: int = 300
    spacing: float = 0.0
    decisions: int = 32
    pull_share: float = 0.5  # at 60 CPU-s, lower cost than 0 in every arm of bench_learned on 6 designs
    hard_pull_share: float = 0.0

    def __post_init__(self) -> None:
        if len(self.move_probabilities) != len(MOVES) or min(self.move_probabilities) < 0:
            raise ValueError(f"move_probabilities needs {len(MOVES)} weights >= 0 ({', '.join(MOVES)})")
        if not 0 < self.initial_acceptance < 1 or not 0 < self.final_ratio <= 1:
            raise ValueError("need 0 < initial_acceptance < 1 and 0 < final_ratio <= 1")
        if self.fd_every < 1 or not 2 <= self.shuffle_size <= 8:
            raise ValueError("need fd_every >= 1 and 2 <= shuffle_size <= 8")
        if self.decisions < 1:
            raise ValueError("need decisions >= 1")
        if not 0 <= self.pull_share <= 1 or not 0 <= self.hard_pull_share <= 1:
            raise ValueError("need 0 <= pull_share <= 1 and 0 <= hard_pull_share <= 1")


@dataclass(frozen=True)
class MoveMix:
    """How the next block of a run moves: what a controller returns.

    Attributes:
        probabilities: Weights of the six moves (``MOVES``), as in ``AnnealSettings.move_probabilities``.
        temperature_scale: Factor on the cooling schedule's temperature.
        radius_scale: Factor on the shift radius (at least one cell, at most the grid).
        nudge_scale: Factor on the largest soft-macro nudge.
    """

    probabilities: tuple[float, ...]
    temperature_scale: float = 1.0
    radius_scale: float = 1.0
    nudge_scale: float = 1.0

    def __post_init__(self) -> None:
        scales = (self.temperature_scale, self.radius_scale, self.nudge_scale)
        if len(self.probabilities) != len(MOVES) or not all(math.isfinite(p) and p >= 0 for p in self.probabilities):
            raise ValueError(f"a move mix needs {len(MOVES)} finite weights >= 0")
        if sum(self.probabilities) <= 0 or not all(math.isfinite(v) and v > 0 for v in scales):
            raise ValueError("a move mix needs a positive weight and finite positive scales")


@dataclass
class AnnealResult:
    """What :func:`anneal` found.

    Attributes:
        placement: The best placement seen.
        report: Its proxy cost.
        moves: Moves tried.
        accepted: Moves accepted.
        fd_runs: Soft-macro re-placements tried (``fd_kept`` of them lowered the cost).
        seconds: Wall time.
        history: ``(moves, seconds, temperature, current cost, best cost)`` now and then.
    """

    placement: Placement
    report: CostReport
    moves: int
    accepted: int
    fd_runs: int
    fd_kept: int
    seconds: float
    history: list[tuple[int, float, float, float, float]] = field(default_factory=list)


class AnnealState:
    """The mutable state of one annealing run: positions, boxes, the incremental cost, the random stream.

    :class:`AnnealRun` draws annealing's random moves from it; the refinement environment
    (``RefinePlacement-v0``) makes the moves a policy picks with :meth:`move_node`. Both accept
    by :meth:`accepts`. The movable hard macros are the slots of :attr:`boxes`, in the order of
    :attr:`macros`; :attr:`soft` lists the soft macros that may move.

    Args:
        model: Cost model of the design.
        placement: A legal start with every movable hard macro placed.
        weights: Weights of the proxy cost.
        settings: Move mix, spacing, calibration.
        seed: Seed of the random stream.
        fd_schedule: How soft macros are re-placed (:meth:`replace_soft_macros`).
    """

    def __init__(self, model, placement, weights, settings, seed, fd_schedule):
        nl, fp = model.netlist, model.floorplan
        self.model, self.weights, self.settings, self.fd_schedule = model, weights, settings, fd_schedule
        self.rng = random.Random(seed)
        hard = nl.nodes_of(NodeKind.HARD_MACRO)
        self.macros = hard[~placement.fixed[hard]].astype(np.int64)
        if not placement.is_placed[self.macros].all():
            raise ValueError("annealing needs every movable hard macro placed (start from greedy or random)")
        self.boxes = MacroBoxes.of(nl, fp, placement, self.macros, settings.spacing)
        self.cum_probabilities = _cumulative(settings.move_probabilities)
        self.kind = 0  # of the last proposal
        self.col_centres, self.row_centres = cell_centres(fp)
        self.max_radius = max(1, max(fp.cols, fp.rows) // 4)
        self.radius = self.max_radius
        soft = nl.nodes_of(NodeKind.SOFT_MACRO)
        self.soft = soft[~placement.fixed[soft] & placement.is_placed[soft]].astype(np.int64)
        self.soft_half_w, self.soft_half_h = nl.node_width / 2, nl.node_height / 2
        self.nudge = 1.0  # largest soft-macro nudge, in grid cells; shrinks with the temperature
        self._lattice = np.linspace(-1.0, 1.0, PULL_LATTICE)
        self.cost = IncrementalCost(model, placement, weights)
        self._slot = {int(node): i for i, node in enumerate(self.macros)}

    def accepts(self, delta: float, temperature: float) -> bool:
        """Metropolis' rule: always downhill, uphill with probability ``exp(-delta / temperature)``."""
        return delta <= 0 or self.rng.random() < math.exp(-delta / temperature)

    def initial_temperature(self) -> float:
        """A temperature at which ``initial_acceptance`` of the average uphill random move is accepted."""
        uphill = []
        start = self.cost.proxy_cost
        for _ in range(self.settings.calibration_moves):
            if self.propose() is not None:
                delta = self.cost.proxy_cost - start
                self.cost.undo()
                if delta > 0:
                    uphill.append(delta)
        if not uphill:
            return 1e-9
        return float(np.mean(uphill)) / math.log(1.0 / self.settings.initial_acceptance)

    def move_node(self, node: int, x: float, y: float, orientation: int | None = None) -> list[int] | None:
        """Move one movable macro's centre to ``(x, y)`` (a hard one also to ``orientation``).

        Returns the moved slots (for :meth:`accept`; ``[]`` for a soft macro), or ``None`` and no
        move when a hard macro would leave the canvas or overlap an obstacle. Soft macros may
        overlap anything; keeping them on the canvas is the caller's.
        """
        slot = self._slot.get(int(node))
        if slot is not None:
            if not self.boxes.fits((slot,), (x,), (y,)):
                return None
            self.cost.move(int(node), x, y, orientation)
            return [slot]
        self.cost.move(int(node), x, y)
        return []

    def propose(self) -> list[int] | None:
        """Make one random legal move (returns the moved macro indices), or ``None`` when it would be illegal."""
        rng, fp, n = self.rng, self.model.floorplan, self.macros.size
        u = rng.random()
        kind = next(k for k, p in enumerate(self.cum_probabilities) if u <= p)
        self.kind = kind
        cost = self.cost
        if kind == 5:  # nudge a soft macro (soft macros may overlap anything)
            if self.soft.size == 0:
                return None
            node = int(self.soft[rng.randrange(self.soft.size)])
            if self.settings.pull_share and rng.random() < self.settings.pull_share:
                x, y = self.pull_target(node)
                spacing = 2.0 / (PULL_LATTICE - 1)  # of a lattice step, in nudge ranges
                x += rng.uniform(-0.5, 0.5) * spacing * self.nudge * fp.cell_width
                y += rng.uniform(-0.5, 0.5) * spacing * self.nudge * fp.cell_height
            else:
                x, y, _ = cost.location(node)
                x += rng.uniform(-1.0, 1.0) * self.nudge * fp.cell_width
                y += rng.uniform(-1.0, 1.0) * self.nudge * fp.cell_height
            hw, hh = self.soft_half_w[node], self.soft_half_h[node]
            cost.move(node, min(max(x, hw), fp.width - hw), min(max(y, hh), fp.height - hh))
            return []
        if kind == 2:  # flip
            i = rng.randrange(n)
            node = int(self.macros[i])
            current = cost.location(node)[2]
            choices = [int(o) for o in FLIPS if o != current]
            cost.flip(node, choices[rng.randrange(len(choices))])
            return []
        if kind == 0 or kind == 4:  # swap, shuffle: a cycle of centres
            size = 2 if kind == 0 else min(self.settings.shuffle_size, n)
            if n < 2:
                return None
            group = rng.sample(range(n), size)
            spots = [cost.location(int(self.macros[i]))[:2] for i in group]
            xs = [spots[(slot + 1) % size][0] for slot in range(size)]
            ys = [spots[(slot + 1) % size][1] for slot in range(size)]
            if not self.boxes.fits(group, xs, ys):
                return None
            cost.move_many(self.macros[group], xs, ys)
            return group
        i = rng.randrange(n)
        if kind == 1 and self.settings.hard_pull_share and rng.random() < self.settings.hard_pull_share:
            return self.pull_hard(i)
        x, y, _ = cost.location(int(self.macros[i]))
        if kind == 1:  # shift
            step = rng.randint(1, self.radius) * (1 if rng.random() < 0.5 else -1)
            if rng.random() < 0.5:
                x += step * fp.cell_width
            else:
                y += step * fp.cell_height
        else:  # move anywhere
            x = self.col_centres[rng.randrange(fp.cols)]
            y = self.row_centres[rng.randrange(fp.rows)]
        if not self.boxes.fits((i,), (x,), (y,)):
            return None
        cost.move(int(self.macros[i]), x, y)
        return [i]

    def pull_target(self, node: int) -> tuple[float, float]:
        """The point of least wirelength for soft macro ``node`` on the lattice spanning its nudge range.

        The lattice has ``PULL_LATTICE`` points along each axis, centred on the macro and kept on
        the canvas; the wirelength separates into x and y, so each axis is minimised alone.
        """
        fp, cost = self.model.floorplan, self.cost
        x, y, _ = cost.location(node)
        hw, hh = self.soft_half_w[node], self.soft_half_h[node]
        xs = np.clip(x + self._lattice * (self.nudge * fp.cell_width), hw, fp.width - hw)
        ys = np.clip(y + self._lattice * (self.nudge * fp.cell_height), hh, fp.height - hh)
        along_x, along_y = cost.wirelength_increments(node, xs, ys)
        return float(xs[np.argmin(along_x)]), float(ys[np.argmin(along_y)])

    def pull_hard(self, i: int) -> list[int] | None:
        """Move hard macro slot ``i`` to the legal cell centre of least wirelength within the shift radius.

        The wirelength separates into x and y, so one pass over its nets scores every cell of
        the window; of the ``HARD_PULL_TRIES`` best cells other than its own, the first that fits
        is taken (``None``: none fits).
        """
        node, fp, r = int(self.macros[i]), self.model.floorplan, self.radius
        x, y, _ = self.cost.location(node)
        row, col = cell_of(fp, x, y)
        cols = np.arange(max(col - r, 0), min(col + r, fp.cols - 1) + 1)
        rows = np.arange(max(row - r, 0), min(row + r, fp.rows - 1) + 1)
        xs, ys = self.col_centres[cols], self.row_centres[rows]
        along_x, along_y = self.cost.wirelength_increments(node, xs, ys)
        total = (along_y[:, None] + along_x[None, :]).ravel()
        tries = min(HARD_PULL_TRIES + 1, total.size)  # + 1: its own cell may be among the best
        best = np.argpartition(total, tries - 1)[:tries]
        for k in best[np.argsort(total[best])]:
            tx, ty = float(xs[k % xs.size]), float(ys[k // xs.size])
            if (tx != x or ty != y) and self.boxes.fits((i,), (tx,), (ty,)):
                self.cost.move(node, tx, ty)
                return [i]
        return None

    def accept(self, moved: list[int]) -> None:
        """Keep the last move: the moved slots' boxes follow their macros."""
        for i in moved:
            x, y, _ = self.cost.location(int(self.macros[i]))
            self.boxes.put(i, x, y)

    def replace_soft_macros(self, keep_if_worse: bool) -> bool:
        """Re-place the soft macros by FD around the current hard macros; returns whether that was kept.

        Unless ``keep_if_worse``, the re-placement is dropped when it does not lower the cost.
        """
        placement = place_soft_macros(self.model.netlist, self.cost.placement(), self.model.floorplan,
                                      self.fd_schedule)  # fmt: skip
        candidate = IncrementalCost(self.model, placement, self.weights)
        if keep_if_worse or candidate.proxy_cost < self.cost.proxy_cost:
            self.cost = candidate
            return True
        return False


def _cumulative(weights: tuple[float, ...]) -> list[float]:
    total = sum(weights)
    cumulative = list(np.cumsum(weights) / total)
    cumulative[-1] = 1.0  # a draw u <= 1 always finds a move
    return cumulative


FEATURES = (
    "fraction", "log_temperature", "gap_to_best", "block_gain", "log_moves_per_node", "hard_share",
    *(f"{stat}_{move}" for stat in ("accepted", "illegal", "gain") for move in MOVES),
)  # fmt: skip
"""What :attr:`AnnealRun.features` holds, in order; each is scaled to about [-1, 1]."""


class AnnealRun:
    """One annealing run, advanced block by block: what :func:`anneal` and a controller's environment step.

    Args:
        model: Cost model of the design.
        placement: A legal start with every movable hard macro placed (e.g. from greedy).
        seconds: Budget on ``clock`` (the cooling follows it).
        moves: Budget in moves (the cooling follows the moves; repeatable for a seed).
            With both, the run stops at whichever comes first and cools by moves.
        seed: Seed of the random moves.
        settings: Move mix, temperatures, re-placement period.
        weights: Weights of the proxy cost.
        fd_schedule: How soft macros are re-placed (the electrostatic schedule by default).
        progress: Called now and then with the fraction of the budget used and the best cost.
        clock: The clock of ``seconds`` (``time.process_time`` for CPU time).
        soft_placed: The soft macros were just placed by FD: skip the first re-placement.
    """

    def __init__(
        self,
        model: CostModel,
        placement: Placement,
        *,
        seconds: float | None = None,
        moves: int | None = None,
        seed: int = 0,
        settings: AnnealSettings | None = None,
        weights: CostWeights | None = None,
        fd_schedule: FDSchedule | None = None,
        progress: Callable[[float, float], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        soft_placed: bool = False,
    ) -> None:
        if seconds is None and moves is None:
            raise ValueError("give a budget: seconds, moves or both")
        self.settings = settings = settings or AnnealSettings()
        self.weights = weights = weights or CostWeights()
        self.seconds, self.moves, self.progress, self.clock = seconds, moves, progress, clock
        self.started = clock()
        run = self.run = AnnealState(
            model, placement, weights, settings, seed, fd_schedule or FDSchedule.electrostatic()
        )
        if not soft_placed:
            run.replace_soft_macros(keep_if_worse=not run.soft.size or not placement.is_placed[run.soft].all())
        self.best, self.best_cost = run.cost.placement(), run.cost.proxy_cost
        self.start_cost = self.best_cost
        self.history = [(0, self.elapsed, 0.0, self.best_cost, self.best_cost)]
        self.t_start = run.initial_temperature()
        self.temperature, self.log_ratio = self.t_start, math.log(settings.final_ratio)
        self.done = self.accepted = self.fd_runs = self.fd_kept = 0
        self.next_fd, self.fd_period = settings.fd_every, settings.fd_every
        self.current = run.cost.proxy_cost
        self.fraction = self.cooled = 0.0
        self.mix = MoveMix(settings.move_probabilities)
        self.nodes = run.macros.size + run.soft.size
        self._block_best = self.best_cost  # at the start of the block
        self._stats = [[0, 0, 0, 0.0] for _ in MOVES]  # per move: proposed, illegal, accepted, cost decrease

    @property
    def elapsed(self) -> float:
        """Time on the run's clock since it started."""
        return self.clock() - self.started

    @property
    def finished(self) -> bool:
        """Whether the budget is spent."""
        return self.fraction >= 1.0

    def set_mix(self, mix: MoveMix) -> None:
        """Move by ``mix`` from now on."""
        self.mix = mix
        self.run.cum_probabilities = _cumulative(mix.probabilities)
        self._cool()

    def features(self) -> np.ndarray:
        """The run's state since the last call, as named in ``FEATURES`` (float32); starts a new block."""
        run, stats = self.run, self._stats
        expected = self.done / self.fraction if self.fraction > 0 else 0.0
        head = [
            self.fraction,
            math.log(self.temperature / self.t_start) / abs(self.log_ratio) if self.t_start > 0 else 0.0,
            min((self.current - self.best_cost) / self.best_cost * 100.0, 10.0) / 10.0,
            min((self._block_best - self.best_cost) / self.best_cost * 100.0, 10.0) / 10.0,
            math.log10(1.0 + expected / max(self.nodes, 1)) / 4.0,
            run.macros.size / max(self.nodes, 1),
        ]
        accepted = [s[2] / max(s[0] - s[1], 1) for s in stats]
        illegal = [s[1] / max(s[0], 1) for s in stats]
        gain = [math.copysign(math.log1p(abs(s[3]) / max(s[0], 1) / self.best_cost * 1e5), s[3]) / 5.0 for s in stats]
        self._block_best = self.best_cost
        self._stats = [[0, 0, 0, 0.0] for _ in MOVES]
        return np.clip(np.nan_to_num(np.array(head + accepted + illegal + gain, dtype=np.float32)), -1.0, 1.0)

    def advance(self, until: float = 1.0) -> None:
        """Make moves until ``until`` of the budget is spent (checked every 256 moves), or all of it."""
        run, moves, stats = self.run, self.moves, self._stats
        while self.fraction < until and not self.finished:
            moved = run.propose()
            self.done += 1
            record = stats[run.kind]
            record[0] += 1
            if moved is None:
                record[1] += 1
            else:
                delta = run.cost.proxy_cost - self.current
                if run.accepts(delta, self.temperature):
                    self.current = run.cost.proxy_cost
                    run.accept(moved)
                    self.accepted += 1
                    record[2] += 1
                    record[3] -= delta
                else:
                    run.cost.undo()
            if self.done % 256 == 0 or (moves is not None and self.done >= moves):
                self._checkpoint()

    def _checkpoint(self) -> None:
        run, moves, seconds = self.run, self.moves, self.seconds
        elapsed = self.elapsed
        self.fraction = self.done / moves if moves is not None else elapsed / seconds if seconds > 0 else 1.0
        if moves is not None and seconds is not None and elapsed >= seconds:
            self.fraction = 1.0
        self._cool()
        if self.current < self.best_cost:
            self.best, self.best_cost = run.cost.placement(), self.current
        if self.done >= self.next_fd and self.fraction < 1.0:
            self.fd_runs += 1
            if run.replace_soft_macros(keep_if_worse=False):
                self.fd_kept += 1
                self.current = run.cost.proxy_cost
                if self.current < self.best_cost:
                    self.best, self.best_cost = run.cost.placement(), self.current
            else:
                self.fd_period *= 2
            self.next_fd = self.done + self.fd_period
        if self.done % 8192 == 0 or self.fraction >= 1.0:
            self.history.append((self.done, self.elapsed, self.temperature, self.current, self.best_cost))
            if self.progress is not None:
                self.progress(self.cooled, self.best_cost)

    def _cool(self) -> None:
        """Temperature, shift radius and nudge for the budget spent, scaled by the move mix."""
        run, mix = self.run, self.mix
        self.cooled = cooled = min(self.fraction, 1.0)
        self.temperature = self.t_start * math.exp(self.log_ratio * cooled) * mix.temperature_scale
        fp = run.model.floorplan
        radius = round(run.max_radius * (1.0 - cooled) * mix.radius_scale)
        run.radius = max(1, min(radius, max(fp.cols, fp.rows)))
        run.nudge = (0.05 + 0.95 * (1.0 - cooled)) * mix.nudge_scale

    def result(self) -> AnnealResult:
        """The best placement seen, scored, with the run's counts."""
        report = self.run.model.evaluate(self.best, self.weights)
        return AnnealResult(self.best, report, self.done, self.accepted, self.fd_runs, self.fd_kept, self.elapsed,
                            self.history)  # fmt: skip


def anneal(
    model: CostModel,
    placement: Placement,
    *,
    seconds: float | None = None,
    moves: int | None = None,
    seed: int = 0,
    settings: AnnealSettings | None = None,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
    progress: Callable[[float, float], None] | None = None,
    controller: Callable[[np.ndarray], MoveMix] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> AnnealResult:
    """Anneal the movable hard macros of a legal placement; returns the best placement seen.

    Args:
        model: Cost model of the design.
        placement: A legal start with every movable hard macro placed (e.g. from greedy).
        seconds: Budget on ``clock`` (wall time by default; the cooling follows it).
        moves: Budget in moves (the cooling follows the moves; repeatable for a seed).
            With both, the run stops at whichever comes first and cools by moves.
        seed: Seed of the random moves.
        settings: Move mix, temperatures, re-placement period.
        weights: Weights of the proxy cost.
        fd_schedule: How soft macros are re-placed (the electrostatic schedule by default).
        progress: Called now and then with the fraction of the budget used and the best cost.
        controller: Chooses the move mix of each of ``settings.decisions`` blocks from the
            run's features; without one, the run moves by ``settings`` throughout.
        clock: The clock of ``seconds`` (``time.process_time`` for CPU time).
    """
    run = AnnealRun(model, placement, seconds=seconds, moves=moves, seed=seed, settings=settings, weights=weights,
                    fd_schedule=fd_schedule, progress=progress, clock=clock)  # fmt: skip
    if controller is None:
        run.advance()
    else:
        blocks = run.settings.decisions
        for block in range(blocks):
            run.set_mix(controller(run.features()))
            run.advance((block + 1) / blocks)
    return run.result()
