"""Incremental proxy cost: move, swap, flip, place or unplace one macro and get the new cost.

Only the moved node's pins, the nets on them and the grid cells under its footprint are
recomputed; the density and congestion top-k are then taken over the updated maps. This
is what annealing, greedy placers and the RL environment call in their inner loops.
"""

from __future__ import annotations

import math

import numpy as np

from netlists import Placement
from placer.cost import kernels as k
from placer.cost.model import CostModel, CostReport, CostWeights

STAGE_SLOTS = 8  # nodes per change at most (move_many)


class IncrementalCost:
    """A placement whose proxy cost is kept up to date as its nodes move.

    Args:
        model: The cost model of the netlist and floorplan.
        placement: The starting placement (copied; never modified).
        weights: Weights of the proxy cost.
    """

    def __init__(self, model: CostModel, placement: Placement, weights: CostWeights | None = None) -> None:
        self.model = model
        self.weights = weights or CostWeights()
        self._fixed = placement.fixed.copy()
        self._state = model.new_state(placement)
        self._arrays = tuple(self._state)  # as the kernels take it (placer.cost.kernels)
        self._nodes = np.zeros(STAGE_SLOTS, dtype=np.int64)  # the change being applied
        self._x, self._y = np.zeros(STAGE_SLOTS), np.zeros(STAGE_SLOTS)
        self._orient = np.zeros(STAGE_SLOTS, dtype=np.int64)
        self._undo_nodes = np.zeros(STAGE_SLOTS, dtype=np.int64)  # where the last change's nodes were
        self._undo_x, self._undo_y = np.zeros(STAGE_SLOTS), np.zeros(STAGE_SLOTS)
        self._undo_orient = np.zeros(STAGE_SLOTS, dtype=np.int64)
        self._undo_count = 0
        self._undo_terms = (0.0, 0.0, 0.0)
        self._resync()

    def _resync(self) -> None:
        self._wirelength, self._density, self._congestion = self.model.terms(self._state)

    # ---------------------------------------------------------------- reading
    @property
    def wirelength(self) -> float:
        """Weighted half-perimeter wirelength (µm)."""
        return self._wirelength

    @property
    def wirelength_cost(self) -> float:
        """Wirelength over ``(W + H) * sum of net weights``."""
        return self.model.wirelength_cost(self._wirelength)

    @property
    def density_cost(self) -> float:
        """Half the mean of the top 10 % cell densities."""
        return self._density

    @property
    def congestion_cost(self) -> float:
        """Mean of the top 5 % of the V and H congestion maps."""
        return self._congestion

    @property
    def proxy_cost(self) -> float:
        """The weighted sum of the three terms."""
        return self.weights.combine(self.wirelength_cost, self._density, self._congestion)

    def placement(self) -> Placement:
        """A copy of the current placement."""
        s = self._state
        return Placement(s.x.copy(), s.y.copy(), s.orientation.astype(np.int8), self._fixed.copy())

    def location(self, node: int) -> tuple[float, float, int]:
        """Centre x, y and orientation code of a node."""
        s = self._state
        return float(s.x[node]), float(s.y[node]), int(s.orientation[node])

    def report(self) -> CostReport:
        """A full report (maps, overlap) of the current placement."""
        return self.model.report(self._state, self.weights)

    def density_map(self) -> np.ndarray:
        """Density per placement-grid cell, ``(rows, cols)`` (a new array)."""
        fp = self.model.floorplan
        return (self._state.occupancy / self.model.cell_area).reshape(fp.rows, fp.cols)

    def congestion_maps(self) -> tuple[np.ndarray, np.ndarray]:
        """Horizontal and vertical congestion per congestion-grid cell (read-only views, valid until a change)."""
        h, v = self._state.h_total.view(), self._state.v_total.view()
        h.flags.writeable = v.flags.writeable = False
        return h.reshape(self.model.congestion_shape), v.reshape(self.model.congestion_shape)

    def wirelength_increments(
        self, node: int, xs: np.ndarray, ys: np.ndarray, orientation: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """How much the weighted wirelength (µm) would change if ``node`` moved to each grid point.

        Returns ``(along_x, along_y)``: moving the node's centre to ``(xs[i], ys[j])``
        (with ``orientation``, default its current one) changes :attr:`wirelength` by
        ``along_x[i] + along_y[j]``. Nothing is moved. Costs one pass over the node's nets
        plus ``O(len(xs) + len(ys))`` per net.
        """
        self._stage(0, node, 0.0, 0.0, orientation)
        xs, ys = np.ascontiguousarray(xs, dtype=float), np.ascontiguousarray(ys, dtype=float)
        along_x, along_y = np.empty(xs.size), np.empty(ys.size)
        k.wirelength_increments(node, self._orient[0], xs, ys, self.model.graph, self._arrays, along_x, along_y)
        return along_x, along_y

    # --------------------------------------------------------------- changing
    def move(self, node: int, x: float, y: float, orientation: int | None = None) -> float:
        """Put a node's centre at (x, y), optionally with a new orientation; returns the proxy cost."""
        self._stage(0, node, x, y, orientation)
        return self._apply(1)

    def place(self, node: int, x: float, y: float, orientation: int | None = None) -> float:
        """Place an unplaced node (same as :meth:`move`); returns the proxy cost."""
        return self.move(node, x, y, orientation)

    def unplace(self, node: int) -> float:
        """Take a node off the canvas; its pins leave their nets. Returns the proxy cost."""
        return self.move(node, math.nan, math.nan)

    def flip(self, node: int, orientation: int) -> float:
        """Give a node a new orientation in place; returns the proxy cost."""
        x, y, _ = self.location(node)
        return self.move(node, x, y, orientation)

    def swap(self, a: int, b: int) -> float:
        """Exchange the centres of two nodes (orientations stay); returns the proxy cost."""
        ax, ay, _ = self.location(a)
        bx, by, _ = self.location(b)
        self._stage(0, a, bx, by, None)
        self._stage(1, b, ax, ay, None)
        return self._apply(2)

    def move_many(self, nodes, x, y, orientations=None) -> float:
        """Move up to 8 nodes at once (centres ``x[i], y[i]``); returns the proxy cost."""
        if len(nodes) > STAGE_SLOTS:
            raise ValueError(f"at most {STAGE_SLOTS} nodes per change")
        for slot, node in enumerate(nodes):
            orientation = None if orientations is None else int(orientations[slot])
            self._stage(slot, int(node), float(x[slot]), float(y[slot]), orientation)
        return self._apply(len(nodes))

    def undo(self) -> float:
        """Take back the last change (move, swap, flip, place, unplace or move_many); returns the proxy cost.

        The cost terms return exactly to their values before that change. Only one change
        is remembered, so a second ``undo`` raises ``RuntimeError``.
        """
        count = self._undo_count
        if count == 0:
            raise RuntimeError("nothing to undo")
        self._nodes[:count] = self._undo_nodes[:count][::-1]  # last moved first, for nodes moved twice
        self._x[:count], self._y[:count] = self._undo_x[:count][::-1], self._undo_y[:count][::-1]
        self._orient[:count] = self._undo_orient[:count][::-1]
        self._move_nodes(count)
        self._wirelength, self._density, self._congestion = self._undo_terms
        self._undo_count = 0
        return self.proxy_cost

    def _stage(self, slot: int, node: int, x: float, y: float, orientation: int | None) -> None:
        if not 0 <= node < self.model.netlist.n_nodes:
            raise IndexError(f"node {node} out of range")
        if math.isinf(x) or math.isinf(y):
            raise ValueError("coordinates must be finite (or NaN to unplace)")
        if orientation is None:
            orientation = int(self._state.orientation[node])
        elif not 0 <= orientation < 8:
            raise ValueError(f"orientation code {orientation} is not in 0..7")
        self._nodes[slot], self._x[slot], self._y[slot], self._orient[slot] = node, x, y, orientation

    def _apply(self, count: int) -> float:
        s = self._state
        nodes = self._nodes[:count]
        self._undo_nodes[:count] = nodes
        self._undo_x[:count], self._undo_y[:count] = s.x[nodes], s.y[nodes]
        self._undo_orient[:count] = s.orientation[nodes]
        self._undo_count = count
        self._undo_terms = (self._wirelength, self._density, self._congestion)
        m = self.model
        delta, self._density, self._congestion = k.move_nodes_scored(
            nodes, self._x[:count], self._y[:count], self._orient[:count], m.graph, m.grid, self._arrays
        )
        self._wirelength += delta
        return self.proxy_cost

    def _move_nodes(self, count: int) -> float:
        """Move the staged nodes, updating every map; returns the wirelength change."""
        m = self.model
        staged = self._nodes[:count], self._x[:count], self._y[:count], self._orient[:count]
        return k.move_nodes(*staged, m.graph, m.grid, self._arrays)
