"""``RefinePlacement-v0``: improve a whole placement one move at a time, under annealing's acceptance.

An episode starts from a complete legal placement (greedy with its soft macros placed by FD,
or one given) and makes ``moves`` moves. A move takes two steps, so that each mask is exact:

1. *pick*: the action is a node slot (:attr:`RefinePlacementEnv.slots`): the movable hard
   macros first, then the soft macros (std-cell clusters); the mask allows the slots in use.
2. *target*: the action is a grid cell and an orientation, numbered as in ``MacroPlacement-v0``
   (:class:`envs.actions.ActionLayout`, orientations N, FN, S, FS). A hard macro goes with its
   centre on a legal cell centre (the one obstacle model, :class:`placer.legality.MacroBoxes`,
   its own box left out) in that orientation; a soft macro's centre goes to any cell centre
   that keeps it on the canvas (orientation block N only; soft macros do not flip).

The move's change of the proxy cost ``delta`` is exact (:class:`placer.cost.IncrementalCost`,
with annealing's own state, :class:`placer.baselines.annealing.AnnealState`) and is accepted
by Metropolis' rule, with probability ``min(1, exp(-delta / T))``; a rejected move is undone.
The target step's reward is the decrease of the current cost (``-delta`` if accepted, else 0)
times ``reward_scale`` (default: percent of the starting cost), so an episode's return is the
whole decrease; the pick step's reward is 0. ``T`` cools exponentially over the episode from
annealing's calibrated start (``initial_acceptance`` of uphill random moves) to
``final_ratio`` of it. After ``moves`` moves the episode is truncated; ``info`` then holds
the best placement seen and its cost.

Every action is taken and none raises: one off its mask makes no move (reward 0,
``info["illegal"] = True``) and still counts as a move.

Observation (a dict, the same shape for every design up to ``max_grid`` and ``max_nodes``):

* ``maps`` (``uint8``, :data:`REFINE_MAP_CHANNELS`): the grid, occupancy by hard macros and
  blockages, density (capped at 1), congestion (the larger of H and V, capped at 2), and for
  the picked node (zeros while picking) its wirelength increase at each cell (0..255 over the
  grid), its footprint where it is now, and its legal targets;
* ``nodes`` (``float32``, ``max_nodes x`` :data:`NODE_FEATURES`): per slot whether it is in
  use, hard or soft, centre and size over the canvas, density and congestion where it is;
* ``vector`` (``float32``, :data:`REFINE_VECTOR_FEATURES`): progress, temperature, the cost
  terms, the gap to the best cost, the phase, and the picked node's size and wirelength range.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from envs.actions import action_index
from envs.observation import CONGESTION_CAP, grid_congestion, to_byte
from envs.placement_env import action_layout, load_design
from netlists import Design, Floorplan, Netlist, Placement
from netlists.loader import DEFAULT
from placer.baselines import AnnealSettings, place
from placer.baselines.annealing import AnnealState
from placer.cost import CostModel, CostReport, CostWeights
from placer.fd import FDSchedule
from placer.legality import add_cover, cell_centres, legal_cells
from placer.sequential import FLIPS

REFINE_MAP_CHANNELS = ("grid", "occupancy", "density", "congestion", "wirelength", "node", "mask")
NODE_FEATURES = ("used", "hard", "x", "y", "width", "height", "density", "congestion")
REFINE_VECTOR_FEATURES = (
    "progress",  # moves made over the episode's moves
    "log_temperature",  # log(T / T0) over log(1 / final_ratio): 0 at the start, -1 at the end
    "wirelength_cost",
    "density_cost",
    "congestion_cost",
    "gap_to_best",  # (current - best) / best, in percent, capped at 10
    "picking",  # 1 on a pick step, 0 on a target step
    "node_hard",  # the picked node (target steps)
    "node_width",  # over the canvas width
    "node_height",  # over the canvas height
    "legal_fraction",  # legal target cells over grid cells
    "wirelength_range",  # largest minus smallest wirelength-cost increase over the grid, times nodes
)


class RefinePlacementEnv(gym.Env):
    """Move-by-move refinement of a design's whole placement (hard and soft macros) at a temperature.

    Args:
        netlist: A bundled name, a path, ``"synthetic:N"``, a :class:`Design` or a :class:`Netlist`.
        plc: Placement file with the floorplan, fixed macros and ports (as ``MacroPlacement-v0``).
        floorplan: Replaces the placement file's floorplan.
        start: The placement to refine, complete and legal (default: greedy, soft macros by FD).
        moves: Moves per episode.
        settings: Annealing's settings (``initial_acceptance``, ``final_ratio``, ``spacing``).
        weights: Weights of the proxy cost.
        reward_scale: Factor on the cost decrease (default ``100 / starting cost``: percent).
        max_grid: Side of the padded maps; the design's grid must fit in it.
        max_nodes: Node slots of the observation; the design's movable macros must fit in it.
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        netlist: str | Path | Design | Netlist = "ariane133",
        plc: str | Path | None = DEFAULT,
        *,
        floorplan: Floorplan | None = None,
        start: Placement | None = None,
        moves: int = 2_000,
        settings: AnnealSettings | None = None,
        weights: CostWeights | None = None,
        reward_scale: float | None = None,
        max_grid: int = 128,
        max_nodes: int = 1024,
    ) -> None:
        if moves < 1:
            raise ValueError("an episode needs moves >= 1")
        self.design = load_design(netlist, plc, floorplan, max_grid)
        nl, fp = self.design.netlist, self.design.floorplan
        self.settings = settings or AnnealSettings()
        self.weights = weights or CostWeights()
        self.moves, self.max_nodes = int(moves), int(max_nodes)
        self.model = CostModel(nl, fp)
        self.start = (
            start if start is not None else place(self.design, "greedy", weights=self.weights).placement
        ).copy()
        state = self._new_state(0)
        self.slots = np.concatenate([state.macros, state.soft])
        if self.slots.size == 0:
            raise ValueError(f"{nl.name} has no movable macro to refine")
        if self.slots.size > self.max_nodes:
            raise ValueError(f"{nl.name} has {self.slots.size} movable macros, more than max_nodes = {max_nodes}")
        self.layout = action_layout(netlist, self.design, max_grid, FLIPS)
        self.n_hard = state.macros.size
        start_cost = self.model.evaluate(self.start, self.weights).proxy_cost
        self.reward_scale = float(reward_scale) if reward_scale is not None else 100.0 / start_cost
        self.observation_space = gym.spaces.Dict(
            {
                "maps": gym.spaces.Box(0, 255, (len(REFINE_MAP_CHANNELS), max_grid, max_grid), np.uint8),
                "nodes": gym.spaces.Box(-1.0, 2.0, (self.max_nodes, len(NODE_FEATURES)), np.float32),
                "vector": gym.spaces.Box(-10.0, 10.0, (len(REFINE_VECTOR_FEATURES),), np.float32),
            }
        )
        self.action_space = gym.spaces.Discrete(max(self.layout.n, self.max_nodes))
        self._xs, self._ys = cell_centres(fp)
        self._congestion = grid_congestion(self.model)
        # Cells where each soft macro's centre keeps it on the canvas (they may overlap anything).
        self._soft_legal = [legal_cells(fp, nl.node_width[n], nl.node_height[n], np.empty((0, 4))) for n in state.soft]
        self._state = state
        self._reset_episode()

    # ------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start from the starting placement at annealing's starting temperature; returns ``(observation, info)``."""
        super().reset(seed=seed)
        self._state = self._new_state(int(self.np_random.integers(2**31)))
        self._reset_episode()
        return self._observation(), {"cost": self._current, "temperature": self._temperature}

    def step(self, action):
        """Pick a node or move the picked one; returns gymnasium's five-tuple."""
        if self._done >= self.moves:
            raise RuntimeError("the episode is over; call reset()")
        action = -1 if (index := action_index(action)) is None else index
        info: dict[str, Any] = {"illegal": False}
        reward = 0.0
        if self._picked is None:
            if 0 <= action < self.slots.size:
                self._picked = action
                self._target_mask = self._targets(action)
            else:
                info["illegal"] = True
                self._done += 1
        else:
            reward = self._move(action, info)
            self._done += 1
            self._picked = None
        truncated = self._done >= self.moves
        if truncated:
            info.update(best_cost=self._best_cost, placement=self._best.copy(), start_cost=self._start_cost)
        info.update(cost=self._current, temperature=self._temperature)
        return self._observation(), reward, False, truncated, info

    def action_masks(self) -> np.ndarray:
        """Legal actions (booleans over the action space), for sb3-contrib's ``MaskablePPO``."""
        mask = np.zeros(self.action_space.n, dtype=bool)
        if self._picked is None:
            mask[: self.slots.size] = True
        else:
            mask[: self.layout.n] = self._target_mask
        return mask

    # --------------------------------------------------------------- results
    @property
    def picked(self) -> int | None:
        """The slot the next (target) step moves; ``None`` while picking."""
        return self._picked

    @property
    def placement(self) -> Placement:
        """The current placement."""
        return self._state.cost.placement()

    @property
    def best(self) -> tuple[float, Placement]:
        """The best proxy cost seen this episode and its placement."""
        return self._best_cost, self._best.copy()

    def report(self) -> CostReport:
        """The proxy cost report of the current placement."""
        return self.model.evaluate(self.placement, self.weights)

    # --------------------------------------------------------------- helpers
    def _new_state(self, seed: int) -> AnnealState:
        return AnnealState(self.model, self.start, self.weights, self.settings, seed, FDSchedule.electrostatic())

    def _reset_episode(self) -> None:
        state = self._state
        self._t_start = state.initial_temperature()
        self._temperature = self._t_start
        self._log_ratio = math.log(self.settings.final_ratio)
        self._current = self._start_cost = self._best_cost = state.cost.proxy_cost
        self._best = state.cost.placement()
        self._done, self._picked = 0, None
        self._target_mask = np.zeros(self.layout.n, dtype=bool)

    def _targets(self, slot: int) -> np.ndarray:
        """The picked node's legal targets over the action space's layout."""
        if slot < self.n_hard:
            return self.layout.mask(self._state.boxes.legal_cells(slot))
        mask = self.layout.mask(self._soft_legal[slot - self.n_hard])
        mask[self.layout.max_grid**2 :] = False  # soft macros: orientation N only
        return mask

    def _move(self, action: int, info: dict[str, Any]) -> float:
        """The picked node to the action's target, under Metropolis' rule; returns the reward."""
        state, slot = self._state, self._picked
        decoded = self.layout.decode(action) if 0 <= action < self.layout.n else None
        if decoded is None or not self._target_mask[action]:
            info["illegal"] = True
            self._cool()
            return 0.0
        cell, orientation = decoded
        row, col = divmod(cell, self.layout.cols)
        node = int(self.slots[slot])
        moved = state.move_node(node, self._xs[col], self._ys[row], orientation if slot < self.n_hard else None)
        reward = 0.0
        if moved is None:  # the mask and the obstacle model agree, so this does not happen
            info["illegal"] = True
        else:
            delta = state.cost.proxy_cost - self._current
            info["accepted"] = state.accepts(delta, self._temperature)
            if info["accepted"]:
                state.accept(moved)
                self._current = state.cost.proxy_cost
                reward = -delta * self.reward_scale
                if self._current < self._best_cost:
                    self._best_cost, self._best = self._current, state.cost.placement()
            else:
                state.cost.undo()
        self._cool()
        return reward

    def _cool(self) -> None:
        self._temperature = self._t_start * math.exp(self._log_ratio * min((self._done + 1) / self.moves, 1.0))

    def _observation(self) -> dict[str, np.ndarray]:
        state, fp, nl, layout = self._state, self.design.floorplan, self.design.netlist, self.layout
        cost, window = state.cost, layout.window
        maps = np.zeros(self.observation_space["maps"].shape, dtype=np.uint8)
        maps[(0, *window)] = 255
        maps[(1, *window)] = to_byte(state.boxes.cover(), 1.0)
        density = cost.density_map()
        maps[(2, *window)] = to_byte(density, 1.0)
        h, v = cost.congestion_maps()
        congestion = self._congestion(h, v)
        maps[(3, *window)] = to_byte(congestion, CONGESTION_CAP)
        placement = cost.placement()
        x, y = placement.x[self.slots], placement.y[self.slots]
        rows = np.clip((y // fp.cell_height).astype(np.int64), 0, fp.rows - 1)
        cols = np.clip((x // fp.cell_width).astype(np.int64), 0, fp.cols - 1)
        nodes = np.zeros(self.observation_space["nodes"].shape, dtype=np.float32)
        n = self.slots.size
        nodes[:n, 0] = 1.0
        nodes[: self.n_hard, 1] = 1.0
        nodes[:n, 2], nodes[:n, 3] = x / fp.width, y / fp.height
        nodes[:n, 4], nodes[:n, 5] = nl.node_width[self.slots] / fp.width, nl.node_height[self.slots] / fp.height
        nodes[:n, 6] = np.minimum(density[rows, cols], 2.0)
        nodes[:n, 7] = np.minimum(congestion[rows, cols], 2.0)
        vector = np.zeros(len(REFINE_VECTOR_FEATURES), dtype=np.float64)
        vector[:6] = (
            self._done / self.moves,
            math.log(self._temperature / self._t_start) / abs(self._log_ratio) if self._t_start > 0 else 0.0,
            cost.wirelength_cost,
            cost.density_cost,
            cost.congestion_cost,
            min((self._current - self._best_cost) / self._best_cost * 100.0, 10.0),
        )
        if self._picked is None:
            vector[6] = 1.0
        else:
            slot = self._picked
            node = int(self.slots[slot])
            along_x, along_y = cost.wirelength_increments(node, self._xs, self._ys)
            increments = along_y[:, None] + along_x[None, :]
            low, spread = float(increments.min()), float(increments.max() - increments.min())
            if spread > 0:
                maps[(4, *window)] = to_byte((increments - low) / spread, 1.0)
            footprint = np.zeros((fp.rows, fp.cols))
            hw, hh = nl.node_width[node] / 2, nl.node_height[node] / 2
            box = np.array([[placement.x[node] - hw, placement.y[node] - hh, placement.x[node] + hw,
                             placement.y[node] + hh]])  # fmt: skip
            add_cover(box, fp.cell_width, fp.cell_height, fp.cols, fp.rows, footprint)
            maps[(5, *window)] = to_byte(footprint, 1.0)
            legal = self._target_mask[: layout.max_grid**2].reshape(layout.max_grid, layout.max_grid)
            maps[6] = legal * np.uint8(255)
            vector[7:] = (
                float(slot < self.n_hard),
                nl.node_width[node] / fp.width,
                nl.node_height[node] / fp.height,
                legal[window].mean(),
                spread * n / self.model.wirelength_norm if self.model.wirelength_norm > 0 else 0.0,
            )
        vector = np.clip(np.nan_to_num(vector), -10.0, 10.0).astype(np.float32)
        return {"maps": maps, "nodes": nodes, "vector": vector}
