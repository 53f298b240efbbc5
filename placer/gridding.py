"""Choosing the placement grid of a design: rows and columns that the hard macros tile well.

Circuit Training fixes one grid per design before placing, and chooses it by search (as
described by its grid-size selection utility and the TILOS MacroPlacement project's
"Gridding" code element). This module follows that description:

* every grid with ``min_side <= rows, cols <= max_side``, ``min_cells <= rows * cols <=
  max_cells`` and cells no more elongated than ``max_aspect`` is a candidate;
* the movable hard macros are packed onto it, largest area first, each centred on the
  first legal cell in row order (bottom row first), fixed macros and blockages in place,
  with the legality rule of every placer (:mod:`placer.legality`); a grid where some macro
  finds no cell is infeasible;
* a feasible grid scores ``empty + (1 - waste_x) + (1 - waste_y)``: ``empty`` is the share of
  cells no macro touches after the packing, ``waste_x`` the share of the cells' width lost
  when the macros' widths are laid side by side, each centred on a run of cells (and
  ``waste_y`` likewise for heights);
* of the grids within ``tolerance`` of the best score, the one with the highest score per cell
  wins, so fewer cells are preferred when the packing is about as good.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from netlists import Design, Floorplan, Netlist, NodeKind, Placement
from placer.legality import TOUCH, add_cover, first_fit, obstacle_boxes, size_classes


@dataclass(frozen=True)
class GridSettings:
    """The search space and rule of :func:`choose_grid` (Circuit Training's defaults).

    Attributes:
        min_side: Fewest rows (and columns).
        max_side: Most rows (and columns); at most the environment's padded grid.
        min_cells: Fewest cells.
        max_cells: Most cells.
        max_aspect: Most elongated cell allowed (long side over short side).
        tolerance: Share of the best score within which a grid with fewer cells is preferred.
        spacing: Clearance (µm) kept between macros while packing.
    """

    min_side: int = 10
    max_side: int = 128
    min_cells: int = 500
    max_cells: int = 2500
    max_aspect: float = 1.5
    tolerance: float = 0.05
    spacing: float = 0.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_side <= self.max_side or not 1 <= self.min_cells <= self.max_cells:
            raise ValueError("need 1 <= min_side <= max_side and 1 <= min_cells <= max_cells")
        if not self.max_aspect >= 1.0 or not 0.0 <= self.tolerance < 1.0:
            raise ValueError("need max_aspect >= 1 and 0 <= tolerance < 1")


@dataclass(frozen=True)
class GridChoice:
    """The chosen grid and how well the macros tile it.

    Attributes:
        cols: Columns.
        rows: Rows.
        score: ``empty + (1 - waste_x) + (1 - waste_y)`` (higher is better, at most 3).
        empty: Share of cells no hard macro touches after packing.
        waste_x: Share of the spanned cells' width the macros leave empty, side by side.
        waste_y: The same for heights.
        candidates: Grids tried.
        feasible: Grids on which every macro packed.
        seconds: Time the search took.
    """

    cols: int
    rows: int
    score: float
    empty: float
    waste_x: float
    waste_y: float
    candidates: int
    feasible: int
    seconds: float

    def to_dict(self) -> dict[str, float | int]:
        """The fields, for JSON."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def side_by_side_waste(lengths: np.ndarray, cell: float) -> float:
    """Share of the cells' length left empty when segments are laid end to end, each centred on cells.

    A segment centred on a cell centre spans an odd number ``k`` of cells, the smallest with
    ``k * cell >= length``; its ends reach ``(k * cell - length) / 2`` short of the run's ends.
    Two neighbours share a cell when their parts in it fit together.
    """
    used, previous_part = 0, 0.0
    for length in lengths:
        span = 2 * math.ceil((length / cell - 1) / 2 - 1e-12) + 1 if length > cell else 1
        part = cell - (span * cell - length) / 2  # the length it takes of its last cell
        used += span - (1 if used and previous_part + part <= cell * (1 + 1e-12) else 0)
        previous_part = part
    total = float(np.sum(lengths))
    return 1.0 - total / (used * cell) if used else 0.0


def candidate_grids(floorplan: Floorplan, settings: GridSettings) -> list[tuple[int, int]]:
    """``(cols, rows)`` pairs inside the search space, fewest cells first."""
    sides = range(settings.min_side, settings.max_side + 1)
    pairs = []
    for rows in sides:
        for cols in sides:
            if not settings.min_cells <= cols * rows <= settings.max_cells:
                continue
            cell_w, cell_h = floorplan.width / cols, floorplan.height / rows
            if max(cell_w, cell_h) / min(cell_w, cell_h) <= settings.max_aspect:
                pairs.append((cols, rows))
    return sorted(pairs, key=lambda p: (p[0] * p[1], p))


def choose_grid(
    netlist: Netlist, floorplan: Floorplan, placement: Placement, settings: GridSettings | None = None
) -> GridChoice:
    """The grid (of ``floorplan``'s canvas) that the movable hard macros tile best; see the module.

    Fixed hard macros (``placement.fixed``, placed) and blockages are obstacles of the packing.
    A design with no movable hard macro gets the smallest candidate grid.

    Raises:
        ValueError: No candidate grid packs every movable hard macro (the canvas is too small
            for them, or the search space too narrow).
    """
    settings = settings or GridSettings()
    started = time.perf_counter()
    hard = netlist.nodes_of(NodeKind.HARD_MACRO)
    movable = hard[~placement.fixed[hard]]
    movable = movable[np.argsort(-netlist.node_area[movable], kind="stable")]
    fixed_macros = hard[placement.fixed[hard] & placement.is_placed[hard]]
    fixed = obstacle_boxes(floorplan, placement.x[fixed_macros], placement.y[fixed_macros],
                           netlist.node_width[fixed_macros], netlist.node_height[fixed_macros])  # fmt: skip
    widths, heights = netlist.node_width[movable], netlist.node_height[movable]
    size_class, n_classes = size_classes(widths, heights)
    xs, ys = np.empty(movable.size), np.empty(movable.size)
    touch = TOUCH * max(floorplan.width, floorplan.height)
    grids = candidate_grids(floorplan, settings)
    if movable.size == 0 and grids:  # nothing to tile: the fewest cells
        cols, rows = grids[0]
        return GridChoice(cols, rows, 3.0, 1.0, 0.0, 0.0, len(grids), 1, time.perf_counter() - started)
    scored = []  # (score, cols, rows, empty, waste_x, waste_y)
    waste_x: dict[int, float] = {}
    waste_y: dict[int, float] = {}
    for cols, rows in grids:
        cell_w, cell_h = floorplan.width / cols, floorplan.height / rows
        rows_first = np.arange(cols * rows)
        packed = first_fit(widths / 2, heights / 2, size_class, n_classes, fixed, rows_first, cols, cell_w, cell_h,
                           floorplan.width, floorplan.height, settings.spacing, touch, xs, ys)  # fmt: skip
        if packed < movable.size:
            continue
        cover = np.zeros((rows, cols))
        packed_boxes = obstacle_boxes(floorplan, xs, ys, widths, heights)[: movable.size]
        add_cover(np.concatenate([fixed, packed_boxes]), cell_w, cell_h, cols, rows, cover)
        if cols not in waste_x:
            waste_x[cols] = side_by_side_waste(widths + settings.spacing, cell_w)
        if rows not in waste_y:
            waste_y[rows] = side_by_side_waste(heights + settings.spacing, cell_h)
        empty = float(np.mean(cover < 1e-5))
        scored.append((empty + 2.0 - waste_x[cols] - waste_y[rows], cols, rows, empty, waste_x[cols], waste_y[rows]))
    if not scored:
        raise ValueError(
            f"{netlist.name}: no grid of {settings.min_cells}-{settings.max_cells} cells packs the "
            f"{movable.size} movable hard macros on the {floorplan.width:g} x {floorplan.height:g} canvas; "
            "give a larger canvas or a grid"
        )
    best = max(s[0] for s in scored)
    qualified = [s for s in scored if s[0] >= best * (1.0 - settings.tolerance)]
    score, cols, rows, empty, wx, wy = max(qualified, key=lambda s: (s[0] / (s[1] * s[2]), s[0]))
    return GridChoice(cols, rows, score, empty, wx, wy, len(grids), len(scored), time.perf_counter() - started)


def gridded(design: Design, settings: GridSettings | None = None) -> tuple[Design, GridChoice | None]:
    """``design`` on the grid :func:`choose_grid` picks when no file stated one; else ``design`` itself.

    Returns the design (a copy when the grid changed) and the choice (``None`` when a file
    stated the grid). The copy keeps ``grid_stated`` false: the grid is chosen, not given.

    Raises:
        ValueError: No grid packs the movable hard macros (see :func:`choose_grid`).
    """
    if design.grid_stated:
        return design, None
    choice = choose_grid(design.netlist, design.floorplan, design.placement, settings)
    floorplan = dataclasses.replace(design.floorplan, cols=choice.cols, rows=choice.rows)
    return dataclasses.replace(design, floorplan=floorplan), choice
