"""Macro legalisation: hard macros moved onto legal grid cells, each as little as the others allow.

As analytic placers legalise macros, largest first: each macro goes to the legal cell nearest
its wanted centre (the cell's centre closest to it, ties to the lower cell number) among the
cells that leave room for the macros still to come (:meth:`placer.legality.MacroBoxes.packs`:
the rest still pack, each on its first legal cell in row order). When the macros pack at all,
that rule keeps a cell open for every macro, so legalisation does not get stuck: the macro's
own cell in the packing of those still to come always qualifies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from netlists import Floorplan, Netlist, NodeKind, Placement
from placer.legality import MacroBoxes, PackingError, cell_centres


@dataclass(frozen=True)
class Legalized:
    """A legalised placement and how far it moved the macros.

    Attributes:
        placement: The placement, the macros on legal cells (all else as it was).
        moved: Macros whose centre changed.
        total_displacement: Sum of the distances the macros moved (µm).
        max_displacement: The longest move (µm).
    """

    placement: Placement
    moved: int
    total_displacement: float
    max_displacement: float


def legalize(
    netlist: Netlist, floorplan: Floorplan, placement: Placement, macros=None, spacing: float = 0.0
) -> Legalized:
    """Move ``macros`` (the movable hard macros by default) onto legal grid cells with little displacement.

    A macro's wanted centre is where ``placement`` has it (the canvas centre when unplaced);
    overlaps among them are allowed in the input. Other hard macros that are placed, and the
    blockages, are obstacles that stay put. Orientations are kept.

    Raises:
        PackingError: Some macro finds no legal cell (the macros do not pack on this grid).
    """
    hard = netlist.nodes_of(NodeKind.HARD_MACRO)
    if macros is None:
        macros = hard[~placement.fixed[hard]]
    macros = np.asarray(macros, dtype=np.int64)
    order = macros[np.argsort(-netlist.node_area[macros], kind="stable")]
    wanted_x = np.where(np.isnan(placement.x[order]), floorplan.width / 2, placement.x[order])
    wanted_y = np.where(np.isnan(placement.y[order]), floorplan.height / 2, placement.y[order])
    start = placement.copy()
    start.x[order] = start.y[order] = math.nan
    boxes = MacroBoxes.of(netlist, floorplan, start, order, spacing)  # slot k is order[k]
    slots = np.arange(order.size)
    rule = boxes.packs(slots)  # without a packing to keep open, the nearest legal cell is the best there is
    centre_x, centre_y = cell_centres(floorplan)
    xs, ys = np.empty(order.size), np.empty(order.size)
    for k in slots:
        legal = np.flatnonzero(boxes.legal_cells(int(k)))
        rows, cols = np.divmod(legal, floorplan.cols)
        distance = np.hypot(centre_x[cols] - wanted_x[k], centre_y[rows] - wanted_y[k])
        for cell in legal[np.argsort(distance, kind="stable")]:
            x, y = centre_x[cell % floorplan.cols], centre_y[cell // floorplan.cols]
            if not rule or boxes.leaves_room(int(k), x, y, slots[k + 1 :]):
                break
        else:
            raise PackingError(f"{netlist.name}: no legal cell for {netlist.node_names[order[k]]} on the "
                               f"{floorplan.cols} x {floorplan.rows} grid; the canvas is too full")  # fmt: skip
        boxes.put(int(k), x, y)
        xs[k], ys[k] = x, y
    result = placement.copy()
    result.x[order], result.y[order] = xs, ys
    shift = np.hypot(xs - wanted_x, ys - wanted_y)
    moved = ~(np.isclose(xs, placement.x[order]) & np.isclose(ys, placement.y[order]))
    return Legalized(result, int(moved.sum()), float(shift.sum()), float(shift.max(initial=0.0)))
