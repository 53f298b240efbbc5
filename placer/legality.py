"""Where hard macros may go: the one obstacle model of every placer, and the action mask.

A macro placed on a cell has its centre at the cell centre. The cell is legal iff the macro
then lies inside the canvas and overlaps no obstacle (an already placed hard macro or a
blockage) by more than a touch. Each obstacle rules out the cells whose centre falls in its
box widened by half the macro (and the spacing) on every side: a rectangle of cell indices.
Those rectangles are painted into a 2-D difference array and summed once, so a mask costs
``O(obstacles + cells)`` however large the macros, and it is exact for obstacles anywhere,
on the grid or off it.

:class:`MacroBoxes` keeps the boxes of the macros a placer moves or puts down, behind them the
fixed ones (fixed macros, blockages), and answers the two questions placers ask: the legal
cells of a macro (:meth:`MacroBoxes.legal_cells`) and whether a few macros fit at given
centres (:meth:`MacroBoxes.fits`, for annealing's moves). Both apply the same rule.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from netlists import Floorplan, Netlist, NodeKind, Placement

TOUCH = 1e-9  # relative to the canvas: boxes closer than this to merely touching do not overlap


class PackingError(ValueError):
    """The macros do not fit on the canvas by any of the placer's strategies."""


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


def cell_centres(floorplan: Floorplan) -> tuple[np.ndarray, np.ndarray]:
    """Centres (µm) of the grid's columns and of its rows."""
    cols, rows = np.arange(floorplan.cols), np.arange(floorplan.rows)
    return (cols + 0.5) * floorplan.cell_width, (rows + 0.5) * floorplan.cell_height


def cell_of(floorplan: Floorplan, x: float, y: float) -> tuple[int, int]:
    """``(row, col)`` of the grid cell holding point ``(x, y)`` (clamped to the grid)."""
    col = min(max(int(x // floorplan.cell_width), 0), floorplan.cols - 1)
    row = min(max(int(y // floorplan.cell_height), 0), floorplan.rows - 1)
    return row, col


@njit(cache=True, nogil=True)
def boxes_fit(new_boxes, count, boxes, skip, spacing, touch, width, height):
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


@njit(cache=True, nogil=True)
def first_fit(half_w, half_h, size_class, n_classes, obstacles, scan, cols, cell_w, cell_h, width, height, spacing,
              touch, xs, ys):  # fmt: skip
    """Pack macros, in the given order, each centred on the first legal cell of ``scan`` (cell indices).

    Macro ``k`` has half sizes ``half_w[k], half_h[k]``; macros of the same ``size_class`` have the
    same size. ``obstacles`` are the boxes already on the canvas. Fills ``xs, ys`` with the
    centres found and returns how many macros were packed before one found no cell (all: ``n``).
    """
    n = half_w.size
    boxes = np.empty((n + obstacles.shape[0], 4))
    boxes[:n] = np.inf
    boxes[:n, 2:] = -np.inf
    boxes[n:] = obstacles
    new = np.empty((1, 4))
    skip = np.full(1, -1, dtype=np.int64)
    # A cell that failed a macro fails every later macro of the same size: boxes are only added.
    start = np.zeros(n_classes, dtype=np.int64)
    for k in range(n):
        at = start[size_class[k]]
        while at < scan.size:
            cell = scan[at]
            x, y = (cell % cols + 0.5) * cell_w, (cell // cols + 0.5) * cell_h
            new[0, 0], new[0, 1], new[0, 2], new[0, 3] = x - half_w[k], y - half_h[k], x + half_w[k], y + half_h[k]
            if boxes_fit(new, 1, boxes, skip, spacing, touch, width, height):
                break
            at += 1
        start[size_class[k]] = at
        if at == scan.size:
            return k
        boxes[k] = new[0]
        xs[k], ys[k] = x, y
    return n


def scan_orders(floorplan: Floorplan) -> list[np.ndarray]:
    """The orders in which packings scan the grid's cells (first fit takes the first legal one).

    Rows from the bottom (the order of :meth:`MacroBoxes.packs`), rows from the top, columns
    from the left, columns from the right, and from the rim inwards (by distance to the
    nearest edge): each packs the macros against another part of the canvas and leaves
    another part free.
    """
    cols, rows = floorplan.cols, floorplan.rows
    cells = np.arange(cols * rows, dtype=np.int64)
    by_column = cells.reshape(rows, cols).T.ravel()
    x, y = (cells % cols + 0.5) * floorplan.cell_width, (cells // cols + 0.5) * floorplan.cell_height
    to_edge = np.minimum(np.minimum(x, floorplan.width - x), np.minimum(y, floorplan.height - y))
    return [cells, cells[::-1].copy(), by_column, by_column[::-1].copy(), np.argsort(to_edge, kind="stable")]


SCANS = 5
"""How many orders :func:`scan_orders` gives."""


def size_classes(width, height) -> tuple[np.ndarray, int]:
    """A class per macro, shared by macros of the same size, and the number of classes."""
    sizes, classes = np.unique(np.column_stack([width, height]).reshape(-1, 2), axis=0, return_inverse=True)
    return classes.reshape(-1).astype(np.int64), len(sizes)


EMPTY = (math.inf, math.inf, -math.inf, -math.inf)  # the box of a slot off the canvas: it overlaps nothing


class MacroBoxes:
    """The boxes of hard macros on one canvas, kept as macros are put down and moved.

    Slots ``0 .. n-1`` are the macros a placer handles (a slot off the canvas is empty);
    behind them lie the fixed boxes, which never change.

    Args:
        floorplan: Canvas and grid.
        width: Width of each slot's macro (µm).
        height: Height of each slot's macro (µm).
        fixed: ``(m, 4)`` fixed boxes (see :func:`obstacle_boxes`).
        spacing: Clearance (µm) kept between macros and from every fixed box.
    """

    def __init__(self, floorplan: Floorplan, width, height, fixed: np.ndarray, spacing: float = 0.0) -> None:
        self.floorplan, self.spacing = floorplan, spacing
        self.half_w, self.half_h = np.asarray(width, dtype=float) / 2, np.asarray(height, dtype=float) / 2
        self.n = self.half_w.size
        fixed = np.asarray(fixed, dtype=float).reshape(-1, 4)
        self.boxes = np.concatenate([np.tile(EMPTY, (self.n, 1)), fixed])
        self.placed = np.zeros(self.n, dtype=bool)
        self.touch = TOUCH * max(floorplan.width, floorplan.height)
        self._staged = np.zeros((8, 4))
        self._skip = np.full(8, -1, dtype=np.int64)
        self._cover: np.ndarray | None = None  # kept up to date while slots are only put down
        self.size_class, self.n_classes = size_classes(self.half_w, self.half_h)
        self._scans: list[np.ndarray] | None = None  # scan_orders(floorplan), once a packing asks

    @classmethod
    def of(cls, netlist: Netlist, floorplan: Floorplan, placement: Placement, slots, spacing: float = 0.0):
        """Slots for the hard macros ``slots`` (where ``placement`` has them, or empty), the others fixed.

        The fixed boxes are the other placed hard macros and the blockages.
        """
        slots = np.asarray(slots, dtype=np.int64)
        hard = netlist.nodes_of(NodeKind.HARD_MACRO)
        others = hard[placement.is_placed[hard] & ~np.isin(hard, slots)]
        fixed = obstacle_boxes(floorplan, placement.x[others], placement.y[others], netlist.node_width[others],
                               netlist.node_height[others])  # fmt: skip
        boxes = cls(floorplan, netlist.node_width[slots], netlist.node_height[slots], fixed, spacing)
        for i in np.flatnonzero(placement.is_placed[slots]):
            boxes.put(int(i), placement.x[slots[i]], placement.y[slots[i]])
        return boxes

    def put(self, i: int, x: float, y: float) -> None:
        """Slot ``i``'s macro now has its centre at ``(x, y)``."""
        moved = self.placed[i]
        self.boxes[i] = (x - self.half_w[i], y - self.half_h[i], x + self.half_w[i], y + self.half_h[i])
        self.placed[i] = True
        if moved:
            self._cover = None  # recomputed when next asked for
        elif self._cover is not None:  # a macro put down adds its share (in slot order, as a recount would)
            fp = self.floorplan
            add_cover(self.boxes[i : i + 1], fp.cell_width, fp.cell_height, fp.cols, fp.rows, self._cover)

    def take(self, i: int) -> None:
        """Slot ``i``'s macro leaves the canvas."""
        self.boxes[i] = EMPTY
        self.placed[i] = False
        self._cover = None

    def obstacles(self, but: int | None = None) -> np.ndarray:
        """The boxes on the canvas (the placed slots, then the fixed ones), without slot ``but``."""
        keep = self.placed.copy()
        if but is not None:
            keep[but] = False
        return np.concatenate([self.boxes[: self.n][keep], self.boxes[self.n :]])

    def legal_cells(self, i: int) -> np.ndarray:
        """Cells (``rows x cols``) where slot ``i``'s macro may go, the others staying where they are."""
        return legal_cells(self.floorplan, 2 * self.half_w[i], 2 * self.half_h[i], self.obstacles(but=i),
                           self.spacing)  # fmt: skip

    def fits(self, slots, xs, ys) -> bool:
        """Whether slots' macros (at most 8) fit at centres ``xs, ys`` at once, the others staying put."""
        staged, skip = self._staged, self._skip
        for k, i in enumerate(slots):
            staged[k] = (xs[k] - self.half_w[i], ys[k] - self.half_h[i], xs[k] + self.half_w[i], ys[k] + self.half_h[i])
            skip[k] = i
        fp = self.floorplan
        return boxes_fit(staged, len(slots), self.boxes, skip, self.spacing, self.touch, fp.width, fp.height)

    def packs(self, slots) -> bool:
        """Whether the (unplaced) ``slots`` still pack, in that order, each on its first legal cell in row order.

        When they do, a legal completion exists: this is the room rule of sequential placement.
        """
        return self.pack(slots) is not None

    def pack(self, slots, scan: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
        """Centres ``xs, ys`` packing the (unplaced) ``slots`` around the boxes on the canvas, or ``None``.

        Each slot in turn goes on the first legal cell of the ``scan``-th of
        :func:`scan_orders` (the first: rows from the bottom, as :meth:`packs` scans).
        """
        slots = np.asarray(slots, dtype=np.int64)
        if slots.size == 0:
            return np.empty(0), np.empty(0)
        if self._scans is None:
            self._scans = scan_orders(self.floorplan)
        fp = self.floorplan
        xs, ys = np.empty(slots.size), np.empty(slots.size)
        packed = first_fit(self.half_w[slots], self.half_h[slots], self.size_class[slots], self.n_classes,
                           self.obstacles(), self._scans[scan], fp.cols, fp.cell_width, fp.cell_height, fp.width,
                           fp.height, self.spacing, self.touch, xs, ys)  # fmt: skip
        return (xs, ys) if packed == slots.size else None

    def boxes_at(self, slots, xs, ys) -> np.ndarray:
        """The boxes of ``slots``' macros centred at ``xs, ys``."""
        hw, hh = self.half_w[slots], self.half_h[slots]
        return np.column_stack([xs - hw, ys - hh, xs + hw, ys + hh]).reshape(-1, 4)

    def leaves_room(self, i: int, x: float, y: float, rest) -> bool:
        """Whether, with slot ``i`` put at ``(x, y)``, the unplaced slots ``rest`` still pack (:meth:`packs`)."""
        return self.pack_after(i, x, y, rest) is not None

    def pack_after(self, i: int, x: float, y: float, rest) -> tuple[np.ndarray, np.ndarray] | None:
        """:meth:`pack` of the unplaced slots ``rest`` (rows from the bottom) with slot ``i`` put at ``(x, y)``."""
        saved, was_placed = self.boxes[i].copy(), self.placed[i]
        self.boxes[i] = (x - self.half_w[i], y - self.half_h[i], x + self.half_w[i], y + self.half_h[i])
        self.placed[i] = True
        try:
            return self.pack(rest)
        finally:
            self.boxes[i], self.placed[i] = saved, was_placed

    def cover(self) -> np.ndarray:
        """Fraction of each grid cell (``rows x cols``) under the boxes (fixed ones first, then the slots).

        Shared and kept up to date as macros are put down (do not modify it).
        """
        if self._cover is None:
            fp = self.floorplan
            self._cover = np.zeros((fp.rows, fp.cols))
            add_cover(self.boxes[self.n :], fp.cell_width, fp.cell_height, fp.cols, fp.rows, self._cover)
            add_cover(self.boxes[: self.n][self.placed], fp.cell_width, fp.cell_height, fp.cols, fp.rows, self._cover)
        return self._cover
