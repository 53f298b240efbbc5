"""Steering simulated annealing as a gymnasium environment: ``AnnealControl-v0``.

An episode is one annealing run (:class:`placer.baselines.AnnealRun`) on a design, started
from its greedy placement or from the analytic flow's (``start``; then the run is that flow's
polish, as ``placer place --method rl --budget`` plays it), with a budget of
``moves_per_node`` moves per movable macro. The run is cut into ``decisions`` blocks; each
step chooses how the next block moves and then plays it:

* observation: the run's features (``placer.baselines.annealing.FEATURES``): progress,
  temperature, the gap to the best cost, and per move type the acceptance, illegal share and
  gain over the last block; all float32 in [-1, 1];
* action: ``ACTION_SIZE`` numbers in [-1, 1] (decoded by :func:`move_mix`): six offsets of
  the move types' log-probabilities, and log-scales of the temperature (x0.1 to x10), the
  shift radius and the soft-macro nudge (x1/4 to x4). The all-zero action is annealing's own
  settings, so a policy that outputs zeros anneals exactly as ``placer place --method sa``;
* reward: the decrease of the run's best proxy cost over the block, in percent of the
  starting cost, so an episode's return is the run's total gain in percent.

The proxy cost is the exact incremental one; moves, acceptance and FD are annealing's own
code. Actions outside the box (or not finite) are clipped (not finite: zero), never refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from envs.placement_env import load_design
from netlists import Design, NodeKind, Placement
from placer.baselines import AnnealRun, AnnealSettings, FlowSettings, MoveMix, PackingError, place
from placer.baselines.annealing import FEATURES, MOVES
from placer.baselines.mixed_size import analytic_start, polish_settings
from placer.cost import CostModel, CostWeights
from placer.fd import FDSchedule

ACTION_SIZE = len(MOVES) + 3
TEMPERATURE_RANGE, SCALE_RANGE = 10.0, 4.0  # an action of +-1 multiplies by these or divides by them
MOVES_PER_NODE, MAX_MOVES = (20.0, 200.0), 150_000  # a run's budget: a few seconds on a generated design
STARTS = ("greedy", "analytic")  # where a run starts: greedy placement, or the analytic flow's polish


def move_mix(action: np.ndarray, settings: AnnealSettings) -> MoveMix:
    """The move mix an action stands for (zeros: ``settings``' own)."""
    action = np.clip(np.nan_to_num(np.asarray(action, dtype=np.float64), nan=0.0), -1.0, 1.0)
    base = np.asarray(settings.move_probabilities, dtype=np.float64)
    logits = np.where(base > 0, np.log(np.where(base > 0, base, 1.0)) + 2.0 * action[: len(MOVES)], -np.inf)
    weights = np.exp(logits - logits.max())
    extra = action[len(MOVES) :]
    return MoveMix(tuple(float(w) for w in weights / weights.sum()), temperature_scale=TEMPERATURE_RANGE ** extra[0],
                   radius_scale=SCALE_RANGE ** extra[1], nudge_scale=SCALE_RANGE ** extra[2])  # fmt: skip


class AnnealControlEnv(gym.Env):
    """Annealing runs on ``designs`` (picked at random per episode), steered block by block.

    Args:
        designs: Names, paths, ``"synthetic:N"`` or :class:`Design` (see :func:`envs.load_design`).
        moves_per_node: Range of the run's budget in moves per movable hard or soft macro,
            drawn log-uniformly per episode.
        max_moves: Cap on a run's moves.
        settings: Annealing's settings (``decisions`` is the episode length).
        weights: Weights of the proxy cost.
        fd_schedule: Soft-macro placement of the start and of annealing's re-placements.
        start: ``"greedy"`` (annealing from greedy, ``placer place --method sa``) or
            ``"analytic"`` (the analytic flow's first three stages, made once per design with
            seed 0, then its polish: annealing from there at the flow's starting acceptance).
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        designs: Sequence[str | Path | Design],
        *,
        moves_per_node: tuple[float, float] = MOVES_PER_NODE,
        max_moves: int = MAX_MOVES,
        settings: AnnealSettings | None = None,
        weights: CostWeights | None = None,
        fd_schedule: FDSchedule | None = None,
        start: str = "greedy",
    ) -> None:
        if not designs:
            raise ValueError("need at least one design")
        if start not in STARTS:
            raise ValueError(f"unknown start {start!r} (expected one of {', '.join(STARTS)})")
        low, high = moves_per_node
        if not 0 < low <= high or max_moves < 1:
            raise ValueError("need 0 < moves_per_node[0] <= moves_per_node[1] and max_moves >= 1")
        self.designs, self.moves_per_node, self.max_moves = list(designs), (low, high), max_moves
        self.settings, self.weights = settings or AnnealSettings(), weights or CostWeights()
        self.fd_schedule = fd_schedule or FDSchedule.electrostatic()
        self.start = start
        # The analytic start's run is the flow's polish: annealing from its colder starting acceptance.
        self.run_settings = polish_settings(self.settings, FlowSettings()) if start == "analytic" else self.settings
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (len(FEATURES),), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (ACTION_SIZE,), np.float32)
        self._starts: dict[int, tuple[CostModel, Placement, int]] = {}
        self.run: AnnealRun | None = None
        self.block = 0

    def _start(self, index: int) -> tuple[CostModel, Placement, int] | None:
        """The design's cost model, start placement and movable macro count (made once per design).

        ``None`` for a design whose macros do not fit its canvas: it is left out of the draws.
        """
        if index not in self._starts:
            design = load_design(self.designs[index])
            nl = design.netlist
            model = CostModel(nl, design.floorplan)
            try:
                if self.start == "analytic":
                    start = analytic_start(model, design.placement, spacing=self.settings.spacing,
                                           weights=self.weights).placement  # fmt: skip
                else:
                    start = place(design, "greedy", weights=self.weights, fd_schedule=self.fd_schedule).placement
            except PackingError:
                self._starts[index] = None
                return None
            movable = (nl.node_kind == NodeKind.HARD_MACRO) | (nl.node_kind == NodeKind.SOFT_MACRO)
            self._starts[index] = (model, start, int((movable & ~start.fixed).sum()))
        return self._starts[index]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an annealing run on a design drawn at random; returns its first features.

        Raises:
            ValueError: No design's macros fit its canvas.
        """
        super().reset(seed=seed)
        while True:
            usable = [i for i in range(len(self.designs)) if self._starts.get(i, True) is not None]
            if not usable:
                raise ValueError("no design's macros fit its canvas")
            index = usable[int(self.np_random.integers(len(usable)))]
            if (found := self._start(index)) is not None:
                break
        model, start, nodes = found
        low, high = self.moves_per_node
        per_node = math.exp(self.np_random.uniform(math.log(low), math.log(high)))
        moves = int(min(max(per_node * nodes, self.settings.decisions * 256), self.max_moves))
        seed = int(self.np_random.integers(2**31))
        self.run = AnnealRun(model, start, moves=moves, seed=seed, settings=self.run_settings, weights=self.weights,
                             fd_schedule=self.fd_schedule)  # fmt: skip
        self.block = 0
        info = {"design": model.netlist.name, "moves": moves, "seed": seed, "start_cost": self.run.start_cost}
        return self.run.features(), info

    def step(self, action):
        """Play the next block of moves under the mix ``action`` stands for."""
        run = self.run
        if run is None:
            raise RuntimeError("call reset() before step()")
        before = run.best_cost
        run.set_mix(move_mix(action, self.settings))
        self.block += 1
        run.advance(self.block / self.settings.decisions)
        reward = float((before - run.best_cost) / run.start_cost * 100.0)
        terminated = run.finished or self.block >= self.settings.decisions
        info: dict[str, Any] = {"proxy_cost": run.best_cost}
        if terminated:
            info["gain_percent"] = (run.start_cost - run.best_cost) / run.start_cost * 100.0
        return run.features(), reward, terminated, False, info


def make_anneal_env(designs: Sequence[str | Path | Design], env_kwargs: dict[str, Any]) -> gym.Env:
    """An :class:`AnnealControlEnv` that records each episode's return (``info["episode"]``) for the logs.

    A module-level factory of this package (no torch), so worker processes stay light.
    """
    return gym.wrappers.RecordEpisodeStatistics(AnnealControlEnv(designs, **env_kwargs))
