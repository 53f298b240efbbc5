"""Coordinate descent: Circuit Training's post-pass over hard macros, usable after any placer.

For each movable hard macro in a random order: every legal cell within grid L1 distance
``radius`` of its cell (the radius grows by ``radius`` until some cell is legal), plus where
it is now, is tried with each allowed orientation, and the macro ends where the proxy cost
is lowest. After each pass over the macros the soft macros are re-placed by force-directed
placement from where they are, and the pass is kept only if the whole cost went down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from netlists import NodeKind, Placement
from placer.cost import CostModel, CostReport, CostWeights, IncrementalCost
from placer.fd import FDSchedule, place_soft_macros
from placer.legality import MacroBoxes, cell_centres, cell_of
from placer.sequential import FLIPS


def coordinate_descent(
    model: CostModel,
    placement: Placement,
    *,
    epochs: int = 2,
    radius: int = 5,
    orientations: Sequence[int] = FLIPS,
    seed: int = 0,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
    spacing: float = 0.0,
) -> tuple[Placement, CostReport]:
    """Improve a legal placement macro by macro; returns the best placement and its cost.

    Args:
        model: Cost model of the design.
        placement: A legal placement with every movable hard macro placed.
        epochs: Passes over the macros.
        radius: Search radius in grid cells (L1).
        orientations: Orientations to try (Circuit Training's N, FN, S, FS by default).
        seed: Seed of the macro order.
        weights: Weights of the proxy cost.
        fd_schedule: How soft macros are re-placed after each pass, starting from where
            they are (the electrostatic schedule by default).
        spacing: Clearance (µm) between hard macros and from blockages.
    """
    nl, fp = model.netlist, model.floorplan
    weights = weights or CostWeights()
    fd_schedule = fd_schedule or FDSchedule.electrostatic()
    rng = np.random.default_rng(seed)
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    hard = hard[placement.is_placed[hard]]
    movable = hard[~placement.fixed[hard]]
    best_placement, best_report = placement.copy(), model.evaluate(placement, weights)
    cols, rows = np.meshgrid(np.arange(fp.cols), np.arange(fp.rows))
    col_centres, row_centres = cell_centres(fp)
    slot = {int(node): i for i, node in enumerate(movable)}
    for _ in range(epochs):
        cost = IncrementalCost(model, best_placement, weights)
        boxes = MacroBoxes.of(nl, fp, best_placement, movable, spacing)
        for node in rng.permutation(movable):
            node = int(node)
            x, y, orientation = cost.location(node)
            mask = boxes.legal_cells(slot[node])
            row, col = cell_of(fp, x, y)
            distance = np.abs(cols - col) + np.abs(rows - row)
            reach = radius
            while not (mask & (distance <= reach)).any() and reach < fp.cols + fp.rows:
                reach += radius
            candidates = [(x, y)] + [(col_centres[c], row_centres[r])
                                     for r, c in zip(*np.nonzero(mask & (distance <= reach)), strict=True)]  # fmt: skip
            best = (cost.proxy_cost, x, y, orientation)
            for cx, cy in candidates:
                for o in orientations:
                    total = cost.move(node, cx, cy, int(o))
                    if total < best[0]:
                        best = (total, cx, cy, int(o))
            cost.move(node, best[1], best[2], best[3])
            boxes.put(slot[node], best[1], best[2])
        current = cost.placement()
        soft = nl.nodes_of(NodeKind.SOFT_MACRO)
        moved = place_soft_macros(nl, current, fp, fd_schedule, use_current_loc=bool(current.is_placed[soft].all()))
        report = model.evaluate(moved, weights)
        if report.proxy_cost >= best_report.proxy_cost:
            break
        best_placement, best_report = moved, report
    return best_placement, best_report
