"""A placement drawn into an RGB array with numpy alone: fast enough for every env step.

Soft macros are shaded by how much of each pixel they cover (so a thousand clusters cost
one accumulation, not a thousand patches), hard macros are filled boxes with outlines,
fixed macros grey, blockages red, ports dark dots, and the placement grid is drawn in
light lines. Row 0 of the image is the top of the canvas.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netlists import Floorplan, Netlist, NodeKind, Placement

BACKGROUND = (255, 255, 255)
GRID = (225, 225, 225)
SOFT = (70, 140, 70)
HARD = (86, 126, 186)
FIXED = (150, 150, 150)
HIGHLIGHT = (235, 140, 40)
OUTLINE = (30, 40, 60)
BLOCKAGE = (220, 80, 80)
PORT = (20, 20, 20)


def layout_image(
    netlist: Netlist,
    floorplan: Floorplan,
    placement: Placement,
    size: int = 512,
    highlight: Sequence[int] = (),
    cells: np.ndarray | None = None,
) -> np.ndarray:
    """The layout as a ``uint8`` image of shape ``(H, W, 3)``, the longer canvas side ``size`` pixels.

    Args:
        netlist: The netlist.
        floorplan: Canvas and grid.
        placement: Where the nodes are (unplaced nodes are not drawn).
        size: Pixels along the longer side of the canvas.
        highlight: Hard macros drawn in orange (e.g. the one placed last).
        cells: Optional ``rows x cols`` booleans; those grid cells are tinted (e.g. the legal cells).
    """
    scale = size / max(floorplan.width, floorplan.height)
    width_px, height_px = max(1, round(floorplan.width * scale)), max(1, round(floorplan.height * scale))
    image = np.empty((height_px, width_px, 3), dtype=np.float64)
    image[:] = BACKGROUND
    if cells is not None:
        rows_px = np.minimum((np.arange(height_px) / height_px * floorplan.rows).astype(int), floorplan.rows - 1)
        cols_px = np.minimum((np.arange(width_px) / width_px * floorplan.cols).astype(int), floorplan.cols - 1)
        on = np.asarray(cells, dtype=bool)[::-1][rows_px][:, cols_px]  # grid row 0 is the bottom
        image[on] = 0.8 * image[on] + 0.2 * np.array((120, 200, 120))
    for c in range(1, floorplan.cols):
        image[:, min(round(c * floorplan.cell_width * scale), width_px - 1)] = GRID
    for r in range(1, floorplan.rows):
        image[height_px - 1 - min(round(r * floorplan.cell_height * scale), height_px - 1)] = GRID
    kind, placed = netlist.node_kind, placement.is_placed

    def boxes(nodes: np.ndarray) -> np.ndarray:
        x, y = placement.x[nodes], placement.y[nodes]
        w, h = netlist.node_width[nodes], netlist.node_height[nodes]
        return np.column_stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2]) * scale

    soft = np.flatnonzero((kind == NodeKind.SOFT_MACRO) & placed)
    coverage = np.zeros((height_px, width_px))
    for x0, y0, x1, y1 in boxes(soft):
        c0, c1, r0, r1 = _pixel_span(x0, x1, width_px) + _pixel_span(height_px - y1, height_px - y0, height_px)
        coverage[r0:r1, c0:c1] += 1.0
    alpha = np.minimum(coverage, 3.0)[..., None] / 3.0 * 0.6
    image = (1 - alpha) * image + alpha * np.array(SOFT)
    for b in floorplan.blockages:
        _fill(image, np.array([b.x_min, b.y_min, b.x_max, b.y_max]) * scale, BLOCKAGE, OUTLINE)
    hard = np.flatnonzero((kind == NodeKind.HARD_MACRO) & placed)
    marked = set(int(n) for n in highlight)
    for node, box in zip(hard, boxes(hard), strict=True):
        colour = HIGHLIGHT if int(node) in marked else FIXED if placement.fixed[node] else HARD
        _fill(image, box, colour, OUTLINE)
    ports = np.flatnonzero((kind == NodeKind.PORT) & placed)
    px = np.clip((placement.x[ports] * scale).astype(int), 0, width_px - 1)
    py = np.clip((height_px - 1 - placement.y[ports] * scale).astype(int), 0, height_px - 1)
    image[py, px] = PORT
    return np.round(image).astype(np.uint8)


def _pixel_span(lo: float, hi: float, limit: int) -> tuple[int, int]:
    """Pixels ``[start, stop)`` covering ``[lo, hi)`` at least one pixel wide, clipped to the image."""
    start = int(np.clip(np.floor(lo), 0, limit - 1))
    return start, int(np.clip(max(np.ceil(hi), start + 1), 1, limit))


def _fill(image: np.ndarray, box: np.ndarray, colour: tuple[int, int, int], outline: tuple[int, int, int]) -> None:
    height_px, width_px = image.shape[:2]
    x0, y0, x1, y1 = box
    c0, c1 = _pixel_span(x0, x1, width_px)
    r0, r1 = _pixel_span(height_px - y1, height_px - y0, height_px)
    image[r0:r1, c0:c1] = outline
    if r1 - r0 > 2 and c1 - c0 > 2:
        image[r0 + 1 : r1 - 1, c0 + 1 : c1 - 1] = colour
