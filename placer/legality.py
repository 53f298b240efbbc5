"""Which grid cells can take a hard macro: the action mask of macro placement.

A macro placed on a cell has its centre at the cell centre. The cell is legal iff the macro
then lies inside the canvas and overlaps no obstacle (an already placed hard macro or a
blockage) by more than a touch. Each obstacle rules out the cells whose centre falls in its
box widened by half the macro (and the spacing) on every side: a rectangle of cell indices.
Those rectangles are painted into a 2-D difference array and summed once, so a mask costs
``O(obstacles + cells)`` however large the macros, and it is exact for obstacles anywhere,
on the grid or off it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from netlists import Floorplan

TOUCH = 1e-9  # relative to the canvas: boxes closer than this to merely touching do not overlap


@njit(cache=True)
def _paint_blocked(x_lo, x_hi, y_lo, y_hi, cell_w, cell_h, cols, rows, diff):
    """Mark the cells whose centre lies strictly inside each open box ``(x_lo, x_hi) x (y_lo, y_hi)``."""
    for k in range(x_lo.size):
        # Centre (c + 0.5) * cell_w is inside (lo, hi) for c in [first, last].
        c0 = max(math.floor(x_lo[k] / cell_w - 0.5) + 1, 0)
        c1 = min(math.ceil(x_hi[k] / cell_w - 0.5) - 1, cols - 1)
        r0 = max(math.floor(y_lo[k] / cell_h - 0.5) + 1, 0)
        r1 = min(math.ceil(y_hi[k] / cell_h - 0.5) - 1, rows - 1)
        if c0 > c1 or r0 > r1:
            continue
        diff[r0, c0] += 1
        diff[r0, c1 + 1] -= 1
        diff[r1 + 1, c0] -= 1
        diff[r1 + 1, c1 + 1] += 1


def obstacle_boxes(floorplan: Floorplan, x, y, width, height) -> np.ndarray:
    """Boxes ``(x_min, y_min, x_max, y_max)`` of macros centred at ``x, y`` plus the floorplan's blockages."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    half_w, half_h = np.asarray(width, dtype=float) / 2, np.asarray(height, dtype=float) / 2
    macros = np.column_stack([x - half_w, y - half_h, x + half_w, y + half_h]).reshape(-1, 4)
    blockages = np.array([(b.x_min, b.y_min, b.x_max, b.y_max) for b in floorplan.blockages], dtype=float)
    return np.concatenate([macros, blockages.reshape(-1, 4)])


def legal_cells(
    floorplan: Floorplan, width: float, height: float, obstacles: np.ndarray, spacing: float = 0.0
) -> np.ndarray:
    """The cells (``rows x cols`` booleans, row 0 at the bottom) where a ``width x height`` macro may go.

    Args:
        floorplan: Canvas and placement grid.
        width: Width of the macro to place (µm).
        height: Height of the macro to place (µm).
        obstacles: ``(n, 4)`` boxes ``x_min, y_min, x_max, y_max`` it must not overlap
            (see :func:`obstacle_boxes`).
        spacing: Clearance to keep from every obstacle (µm; Circuit Training uses 0.1).
    """
    cols, rows = floorplan.cols, floorplan.rows
    cell_w, cell_h = floorplan.cell_width, floorplan.cell_height
    touch = TOUCH * max(floorplan.width, floorplan.height)
    grow_x, grow_y = width / 2 + spacing - touch, height / 2 + spacing - touch
    boxes = np.asarray(obstacles, dtype=float).reshape(-1, 4)
    diff = np.zeros((rows + 1, cols + 1), dtype=np.int32)
    _paint_blocked(boxes[:, 0] - grow_x, boxes[:, 2] + grow_x, boxes[:, 1] - grow_y, boxes[:, 3] + grow_y,
                   cell_w, cell_h, cols, rows, diff)  # fmt: skip
    free = np.cumsum(np.cumsum(diff, axis=0), axis=1)[:rows, :cols] == 0
    # Inside the canvas: the centre at least half the macro away from every edge.
    centre_x = (np.arange(cols) + 0.5) * cell_w
    centre_y = (np.arange(rows) + 0.5) * cell_h
    inside_x = (centre_x - width / 2 >= -touch) & (centre_x + width / 2 <= floorplan.width + touch)
    inside_y = (centre_y - height / 2 >= -touch) & (centre_y + height / 2 <= floorplan.height + touch)
    return free & inside_y[:, None] & inside_x[None, :]


@njit(cache=True)
def add_cover(boxes, cell_w, cell_h, cols, rows, cover):
    """Add to ``cover`` (``rows x cols``) the fraction of each cell that each box covers.

    Boxes are clipped to the grid; overlapping boxes add up.
    """
    for k in range(boxes.shape[0]):
        x0, y0, x1, y1 = boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3]
        c0, c1 = max(int(math.floor(x0 / cell_w)), 0), min(int(math.ceil(x1 / cell_w)), cols)
        r0, r1 = max(int(math.floor(y0 / cell_h)), 0), min(int(math.ceil(y1 / cell_h)), rows)
        for r in range(r0, r1):
            dy = min(y1, (r + 1) * cell_h) - max(y0, r * cell_h)
            if dy <= 0.0:
                continue
            for c in range(c0, c1):
                dx = min(x1, (c + 1) * cell_w) - max(x0, c * cell_w)
                if dx > 0.0:
                    cover[r, c] += dx * dy / (cell_w * cell_h)


def cell_centre(floorplan: Floorplan, cell: int) -> tuple[float, float]:
    """Centre (µm) of grid cell ``cell = col + row * cols``, as Circuit Training numbers them."""
    row, col = divmod(int(cell), floorplan.cols)
    return (col + 0.5) * floorplan.cell_width, (row + 0.5) * floorplan.cell_height
