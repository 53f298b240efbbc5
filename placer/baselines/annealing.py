"""Simulated annealing on the proxy cost: hard macros on legal spots, soft macros nudged, FD now and then.

The state is the whole placement. Each move is one of: *swap* two hard macros' centres,
*shift* one by up to ``radius`` grid cells along one axis (the radius shrinks as the run
cools), *flip* one (N, FN, S, FS), *move* one to a random cell centre, *shuffle* the
centres of four random hard macros in a cycle (TILOS' move set), or nudge a *soft* macro
(a std-cell cluster) by up to about a grid cell, shrinking as the run cools. A move that
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
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from netlists import NodeKind, Placement
from placer.cost import CostModel, CostReport, CostWeights, IncrementalCost
from placer.fd import FDSchedule, place_soft_macros
from placer.legality import TOUCH, obstacle_boxes
from placer.sequential import FLIPS

MOVES = ("swap", "shift", "flip", "move", "shuffle", "soft")


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
    """

    move_probabilities: tuple[float, ...] = (0.12, 0.12, 0.02, 0.12, 0.12, 0.5)
    initial_acceptance: float = 0.2
    final_ratio: float = 1e-3
    fd_every: int = 20_000
    shuffle_size: int = 4
    calibration_moves: int = 300
    spacing: float = 0.0

    def __post_init__(self) -> None:
        if len(self.move_probabilities) != len(MOVES) or min(self.move_probabilities) < 0:
            raise ValueError(f"move_probabilities needs {len(MOVES)} weights >= 0 ({', '.join(MOVES)})")
        if not 0 < self.initial_acceptance < 1 or not 0 < self.final_ratio <= 1:
            raise ValueError("need 0 < initial_acceptance < 1 and 0 < final_ratio <= 1")
        if self.fd_every < 1 or not 2 <= self.shuffle_size <= 8:
            raise ValueError("need fd_every >= 1 and 2 <= shuffle_size <= 8")


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


@njit(cache=True)
def _fits(new_boxes, count, boxes, skip, spacing, touch, width, height):
    """Whether ``new_boxes[:count]`` lie in the canvas, clear of ``boxes`` (but rows ``skip``) and of each other."""
    for a in range(count):
        x0, y0, x1, y1 = new_boxes[a, 0], new_boxes[a, 1], new_boxes[a, 2], new_boxes[a, 3]
        if x0 < -touch or y0 < -touch or x1 > width + touch or y1 > height + touch:
            return False
        for i in range(boxes.shape[0]):
            skipped = False
            for s in range(count):
                if skip[s] == i:
                    skipped = True
            if skipped:
                continue
            if (min(x1 + spacing, boxes[i, 2]) - max(x0 - spacing, boxes[i, 0]) > touch
                    and min(y1 + spacing, boxes[i, 3]) - max(y0 - spacing, boxes[i, 1]) > touch):  # fmt: skip
                return False
        for b in range(a):
            if (min(x1 + spacing, new_boxes[b, 2]) - max(x0 - spacing, new_boxes[b, 0]) > touch
                    and min(y1 + spacing, new_boxes[b, 3]) - max(y0 - spacing, new_boxes[b, 1]) > touch):  # fmt: skip
                return False
    return True


class _Annealer:
    """The mutable state of one run: positions, boxes, the incremental cost, the random stream."""

    def __init__(self, model, placement, weights, settings, seed, fd_schedule):
        nl, fp = model.netlist, model.floorplan
        self.model, self.weights, self.settings, self.fd_schedule = model, weights, settings, fd_schedule
        self.rng = random.Random(seed)
        hard = nl.nodes_of(NodeKind.HARD_MACRO)
        self.macros = hard[~placement.fixed[hard]].astype(np.int64)
        if not placement.is_placed[self.macros].all():
            raise ValueError("annealing needs every movable hard macro placed (start from greedy or random)")
        others = hard[placement.fixed[hard] & placement.is_placed[hard]]
        self.half_w, self.half_h = nl.node_width[self.macros] / 2, nl.node_height[self.macros] / 2
        fixed_boxes = obstacle_boxes(fp, placement.x[others], placement.y[others], nl.node_width[others],
                                     nl.node_height[others])  # fmt: skip
        self.boxes = np.concatenate([np.zeros((self.macros.size, 4)), fixed_boxes])
        for i, node in enumerate(self.macros):
            self._set_box(i, placement.x[node], placement.y[node])
        self.cum_probabilities = np.cumsum(settings.move_probabilities) / sum(settings.move_probabilities)
        self.new_boxes = np.zeros((8, 4))
        self.skip = np.full(8, -1, dtype=np.int64)
        self.touch = TOUCH * max(fp.width, fp.height)
        self.max_radius = max(1, max(fp.cols, fp.rows) // 4)
        self.radius = self.max_radius
        soft = nl.nodes_of(NodeKind.SOFT_MACRO)
        self.soft = soft[~placement.fixed[soft] & placement.is_placed[soft]].astype(np.int64)
        self.soft_half_w, self.soft_half_h = nl.node_width / 2, nl.node_height / 2
        self.nudge = 1.0  # largest soft-macro nudge, in grid cells; shrinks with the temperature
        self.cost = IncrementalCost(model, placement, weights)

    def _set_box(self, i, x, y):
        self.boxes[i] = (x - self.half_w[i], y - self.half_h[i], x + self.half_w[i], y + self.half_h[i])

    def _stage(self, slot, i, x, y):
        self.new_boxes[slot] = (x - self.half_w[i], y - self.half_h[i], x + self.half_w[i], y + self.half_h[i])
        self.skip[slot] = i

    def _fits(self, count):
        fp = self.model.floorplan
        return _fits(self.new_boxes, count, self.boxes, self.skip, self.settings.spacing, self.touch, fp.width,
                     fp.height)  # fmt: skip

    def propose(self) -> list[int] | None:
        """Make one random legal move (returns the moved macro indices), or ``None`` when it would be illegal."""
        rng, fp, n = self.rng, self.model.floorplan, self.macros.size
        u = rng.random()
        kind = next(k for k, p in enumerate(self.cum_probabilities) if u <= p)
        cost = self.cost
        if kind == 5:  # nudge a soft macro (soft macros may overlap anything)
            if self.soft.size == 0:
                return None
            node = int(self.soft[rng.randrange(self.soft.size)])
            x, y, _ = cost.location(node)
            hw, hh = self.soft_half_w[node], self.soft_half_h[node]
            x = min(max(x + rng.uniform(-1.0, 1.0) * self.nudge * fp.cell_width, hw), fp.width - hw)
            y = min(max(y + rng.uniform(-1.0, 1.0) * self.nudge * fp.cell_height, hh), fp.height - hh)
            cost.move(node, x, y)
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
            for slot, i in enumerate(group):
                self._stage(slot, i, *spots[(slot + 1) % size])
            if not self._fits(size):
                return None
            nodes = self.macros[group]
            xs = [spots[(slot + 1) % size][0] for slot in range(size)]
            ys = [spots[(slot + 1) % size][1] for slot in range(size)]
            cost.move_many(nodes, xs, ys)
            return group
        i = rng.randrange(n)
        x, y, _ = cost.location(int(self.macros[i]))
        if kind == 1:  # shift
            step = rng.randint(1, self.radius) * (1 if rng.random() < 0.5 else -1)
            if rng.random() < 0.5:
                x += step * fp.cell_width
            else:
                y += step * fp.cell_height
        else:  # move anywhere
            x = (rng.randrange(fp.cols) + 0.5) * fp.cell_width
            y = (rng.randrange(fp.rows) + 0.5) * fp.cell_height
        self._stage(0, i, x, y)
        if not self._fits(1):
            return None
        cost.move(int(self.macros[i]), x, y)
        return [i]

    def accept(self, moved: list[int]) -> None:
        for i in moved:
            x, y, _ = self.cost.location(int(self.macros[i]))
            self._set_box(i, x, y)

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
) -> AnnealResult:
    """Anneal the movable hard macros of a legal placement; returns the best placement seen.

    Args:
        model: Cost model of the design.
        placement: A legal start with every movable hard macro placed (e.g. from greedy).
        seconds: Wall-clock budget (the cooling follows the clock).
        moves: Budget in moves (the cooling follows the moves; repeatable for a seed).
            With both, the run stops at whichever comes first and cools by moves.
        seed: Seed of the random moves.
        settings: Move mix, temperatures, re-placement period.
        weights: Weights of the proxy cost.
        fd_schedule: How soft macros are re-placed (the electrostatic schedule by default).
        progress: Called now and then with the fraction of the budget used and the best cost.
    """
    if seconds is None and moves is None:
        raise ValueError("give a budget: seconds, moves or both")
    settings = settings or AnnealSettings()
    weights = weights or CostWeights()
    fd_schedule = fd_schedule or FDSchedule.electrostatic()
    started = time.perf_counter()
    run = _Annealer(model, placement, weights, settings, seed, fd_schedule)
    run.replace_soft_macros(keep_if_worse=not run.soft.size or not placement.is_placed[run.soft].all())
    best, best_cost = run.cost.placement(), run.cost.proxy_cost
    history = [(0, time.perf_counter() - started, 0.0, best_cost, best_cost)]
    temperature = _calibrate(run, settings)
    t_start, log_ratio = temperature, math.log(settings.final_ratio)
    done = accepted = fd_runs = fd_kept = 0
    next_fd, fd_period = settings.fd_every, settings.fd_every
    current = run.cost.proxy_cost
    fraction = 0.0
    while fraction < 1.0:
        moved = run.propose()
        done += 1
        if moved is not None:
            delta = run.cost.proxy_cost - current
            if delta <= 0 or run.rng.random() < math.exp(-delta / temperature):
                current = run.cost.proxy_cost
                run.accept(moved)
                accepted += 1
            else:
                run.cost.undo()
        if done % 256 == 0 or (moves is not None and done >= moves):
            elapsed = time.perf_counter() - started
            fraction = done / moves if moves is not None else elapsed / seconds if seconds > 0 else 1.0
            if moves is not None and seconds is not None and elapsed >= seconds:
                fraction = 1.0
            cooled = min(fraction, 1.0)
            temperature = t_start * math.exp(log_ratio * cooled)
            run.radius = max(1, round(run.max_radius * (1.0 - cooled)))
            run.nudge = 0.05 + 0.95 * (1.0 - cooled)
            if current < best_cost:
                best, best_cost = run.cost.placement(), current
            if done >= next_fd and fraction < 1.0:
                fd_runs += 1
                if run.replace_soft_macros(keep_if_worse=False):
                    fd_kept += 1
                    current = run.cost.proxy_cost
                    if current < best_cost:
                        best, best_cost = run.cost.placement(), current
                else:
                    fd_period *= 2
                next_fd = done + fd_period
            if done % 8192 == 0 or fraction >= 1.0:
                history.append((done, time.perf_counter() - started, temperature, current, best_cost))
                if progress is not None:
                    progress(cooled, best_cost)
    report = model.evaluate(best, weights)
    return AnnealResult(best, report, done, accepted, fd_runs, fd_kept, time.perf_counter() - started, history)


def _calibrate(run: _Annealer, settings: AnnealSettings) -> float:
    """A temperature at which ``initial_acceptance`` of the average uphill move is accepted."""
    uphill = []
    start = run.cost.proxy_cost
    for _ in range(settings.calibration_moves):
        if run.propose() is not None:
            delta = run.cost.proxy_cost - start
            run.cost.undo()
            if delta > 0:
                uphill.append(delta)
    if not uphill:
        return 1e-9
    return float(np.mean(uphill)) / math.log(1.0 / settings.initial_acceptance)
