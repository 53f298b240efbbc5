"""What the agent sees: fixed-shape grid maps and a small vector, the same layout for every design.

The design's ``rows x cols`` placement grid is embedded in a ``max_grid x max_grid`` map as
the action layout says (:class:`envs.actions.ActionLayout`: centred, map row 0 the bottom row
of the grid), so map cells and actions line up. Maps are ``uint8``
(0..255, channels first) so rollout buffers stay small; each channel's scale is below.

Map channels (:data:`MAP_CHANNELS`):

* ``grid``: 255 on the design's cells, 0 on the padding.
* ``occupancy``: fraction of the cell under hard macros and blockages.
* ``wirelength``: the wirelength increase if the current macro went to the cell, scaled
  so the smallest increase on the grid is 0 and the largest 255 (their values, relative to
  the design's wirelength normaliser, are in the vector).
* ``density``: the cell's density (hard macros placed so far and soft macros), capped at 1.
* ``congestion``: the larger of the horizontal and vertical routing congestion over the
  cell, capped at 2 (so 255 means twice the capacity or more).
* ``mask``: 255 where the current macro may go.

Vector features (:data:`VECTOR_FEATURES`) are ``float32`` and lie in ``[-10, 10]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from gymnasium import spaces

from envs.actions import ActionLayout
from netlists import NodeKind
from placer.cost import CostModel
from placer.sequential import SequentialPlacer

MAP_CHANNELS = ("grid", "occupancy", "wirelength", "density", "congestion", "mask")
VECTOR_FEATURES = (
    "macro_width",  # over the canvas width
    "macro_height",  # over the canvas height
    "macro_area",  # over the canvas area
    "placed_fraction",  # macros placed over macros to place
    "placed_area_fraction",  # hard-macro area placed over area to place
    "canvas_aspect",  # W / (W + H)
    "grid_cols",  # over max_grid
    "grid_rows",  # over max_grid
    "hard_utilisation",  # hard-macro area over canvas area
    "soft_utilisation",  # soft-macro area over canvas area
    "macros_log",  # log10(1 + macros to place) / 3
    "nets_log",  # log10(1 + nets) / 5
    "wirelength_min",  # smallest wirelength-cost increase on the grid, times macros to place
    "wirelength_range",  # largest minus smallest, times macros to place
    "wirelength_cost",  # of the placement so far
    "density_cost",  # of the placement so far
    "congestion_cost",  # of the placement so far
    "legal_fraction",  # legal cells over grid cells
)
VECTOR_LIMIT = 10.0
CONGESTION_CAP = 2.0


def to_byte(values: np.ndarray, cap: float) -> np.ndarray:
    """``values`` in ``[0, cap]`` as bytes ``0..255`` (rounded; beyond the cap: 255)."""
    return (np.clip(values, 0.0, cap) * (255.0 / cap) + 0.5).astype(np.uint8)


def grid_congestion(model: CostModel) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function of the H and V congestion maps: their larger at each placement-grid cell centre.

    The two grids may differ; which congestion cell lies under each placement cell is worked
    out once, here, not per call (observations are built every step).
    """
    fp = model.floorplan
    cong_rows, cong_cols = model.congestion_shape
    rows = np.minimum(((np.arange(fp.rows) + 0.5) * cong_rows / fp.rows).astype(int), cong_rows - 1)[:, None]
    cols = np.minimum(((np.arange(fp.cols) + 0.5) * cong_cols / fp.cols).astype(int), cong_cols - 1)[None, :]
    return lambda h, v: np.maximum(h, v)[rows, cols]


class ObservationBuilder:
    """Builds observations of one design's episodes.

    Args:
        placer: The episode's placer (only its netlist, floorplan and order are read here, so
            an episode with another order needs a builder of its own).
        layout: Where the design's grid lies in the maps.
    """

    def __init__(self, placer: SequentialPlacer, layout: ActionLayout) -> None:
        fp, nl = placer.floorplan, placer.model.netlist
        max_grid = layout.max_grid
        self.max_grid, self.window = max_grid, layout.window
        self.space = spaces.Dict(
            {
                "maps": spaces.Box(0, 255, (len(MAP_CHANNELS), max_grid, max_grid), np.uint8),
                "vector": spaces.Box(-VECTOR_LIMIT, VECTOR_LIMIT, (len(VECTOR_FEATURES),), np.float32),
            }
        )
        self._maps = np.zeros(self.space["maps"].shape, dtype=np.uint8)
        self._maps[(0, *self.window)] = 255
        canvas_area = fp.width * fp.height
        area = nl.node_area
        soft = nl.nodes_of(NodeKind.SOFT_MACRO)
        hard = nl.nodes_of(NodeKind.HARD_MACRO)
        self._order_area = np.concatenate([[0.0], np.cumsum(area[placer.order])])
        self._static = {
            "canvas_aspect": fp.width / (fp.width + fp.height),
            "grid_cols": fp.cols / max_grid,
            "grid_rows": fp.rows / max_grid,
            "hard_utilisation": float(area[hard].sum()) / canvas_area,
            "soft_utilisation": float(area[soft].sum()) / canvas_area,
            "macros_log": math.log10(1 + placer.order.size) / 3,
            "nets_log": math.log10(1 + nl.n_nets) / 5,
        }
        self._index = {name: i for i, name in enumerate(VECTOR_FEATURES)}
        self._congestion = grid_congestion(placer.model)

    def build(self, placer: SequentialPlacer, increments: np.ndarray | None) -> dict[str, np.ndarray]:
        """The observation now; ``increments`` is the current macro's wirelength-increase map (µm)."""
        fp, cost, nl = placer.floorplan, placer.cost, placer.model.netlist
        maps, window = self._maps, self.window
        maps[(1, *window)] = to_byte(placer.cover, 1.0)
        maps[(3, *window)] = to_byte(cost.density_map(), 1.0)
        h, v = cost.congestion_maps()
        congestion = self._congestion(h, v)
        maps[(4, *window)] = to_byte(congestion, CONGESTION_CAP)
        vector = np.zeros(len(VECTOR_FEATURES), dtype=np.float64)
        for name, value in self._static.items():
            vector[self._index[name]] = value
        n = placer.order.size
        vector[self._index["placed_fraction"]] = placer.step / n if n else 1.0
        vector[self._index["placed_area_fraction"]] = self._order_area[placer.step] / max(self._order_area[-1], 1e-300)
        vector[self._index["wirelength_cost"]] = cost.wirelength_cost
        vector[self._index["density_cost"]] = cost.density_cost
        vector[self._index["congestion_cost"]] = cost.congestion_cost
        node = placer.current
        if node is None or increments is None:
            maps[(2, *window)] = 0
            maps[(5, *window)] = 0
        else:
            low, high = float(increments.min()), float(increments.max())
            spread = high - low
            maps[(2, *window)] = to_byte((increments - low) / spread, 1.0) if spread > 0 else 0
            mask = placer.room_mask()  # the cells the action mask offers
            maps[(5, *window)] = mask * np.uint8(255)
            scale = n / placer.model.wirelength_norm if placer.model.wirelength_norm > 0 else 0.0
            vector[self._index["wirelength_min"]] = low * scale
            vector[self._index["wirelength_range"]] = spread * scale
            vector[self._index["macro_width"]] = nl.node_width[node] / fp.width
            vector[self._index["macro_height"]] = nl.node_height[node] / fp.height
            vector[self._index["macro_area"]] = nl.node_area[node] / (fp.width * fp.height)
            vector[self._index["legal_fraction"]] = mask.mean()
        vector = np.clip(vector, -VECTOR_LIMIT, VECTOR_LIMIT).astype(np.float32)
        return {"maps": maps.copy(), "vector": vector}
