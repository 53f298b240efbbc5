"""Random and greedy placement of hard macros, one at a time on legal grid cells.

Both walk the macros in Circuit Training's order (area descending) with a
:class:`~placer.sequential.SequentialPlacer`. Random takes any legal cell; greedy takes the
legal cell with the smallest wirelength increase, ties going to the least dense cell. Neither
takes a cell that leaves no room for the macros still to come
(:meth:`~placer.sequential.SequentialPlacer.leaves_room`), so when the macros pack on the grid
they never get stuck. When they do not (a first-fit packing fails from the start), they back
off to packing (each macro on the first legal cell in row order, bottom-left first, then in
column order).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import numpy as np

from placer.cost import CostModel, CostWeights
from placer.legality import PackingError
from placer.sequential import SequentialPlacer

Chooser = Callable[[SequentialPlacer, np.ndarray], int]
"""Picks a cell (``col + row * cols``) among the legal ones (a non-empty ``rows x cols`` mask)."""


def random_chooser(seed: int | None) -> Chooser:
    """Any legal cell, uniformly (repeatable for a seed)."""
    rng = random.Random(seed)

    def choose(placer: SequentialPlacer, mask: np.ndarray) -> int:
        legal = np.flatnonzero(mask)
        return int(legal[rng.randrange(legal.size)])

    return choose


def greedy_chooser(placer: SequentialPlacer, mask: np.ndarray) -> int:
    """The legal cell with the smallest wirelength increase, ties to the least dense cell."""
    increments = placer.wirelength_increments()[mask]
    legal = np.flatnonzero(mask)
    best = increments.min()
    tied = legal[increments <= best + 1e-9 * max(abs(best), 1.0)]
    if tied.size == 1:
        return int(tied[0])
    density = placer.cost.density_map().reshape(-1)[tied]
    return int(tied[np.argmin(density)])


def row_packer(placer: SequentialPlacer, mask: np.ndarray) -> int:
    """The first legal cell in row order: bottom row first, left to right."""
    return int(np.flatnonzero(mask)[0])


def column_packer(placer: SequentialPlacer, mask: np.ndarray) -> int:
    """The first legal cell in column order: left column first, bottom to top."""
    rows, cols = mask.shape
    first = int(np.flatnonzero(mask.T)[0])
    col, row = divmod(first, rows)
    return row * cols + col


def place_sequentially(
    model: CostModel,
    start,
    order: np.ndarray,
    choosers: list[Chooser],
    weights: CostWeights | None = None,
    spacing: float = 0.0,
) -> tuple[SequentialPlacer, int]:
    """Place every macro of ``order``, trying each chooser in turn until one fits them all.

    Returns the finished placer and the index of the chooser that succeeded.

    Raises:
        PackingError: No chooser fits every macro.
    """
    stuck = ""
    for attempt, choose in enumerate(choosers):
        placer = SequentialPlacer(model, start, order, weights, spacing)
        while not placer.done:
            mask = placer.legal_mask()
            while mask.any():
                cell = choose(placer, mask)
                if placer.leaves_room(cell):
                    break
                mask = mask.copy()  # the placer's own mask is shared
                mask.flat[cell] = False
            if not mask.any():
                stuck = model.netlist.node_names[placer.current]
                break
            placer.place(cell)
        if placer.done:
            return placer, attempt
    raise PackingError(
        f"{model.netlist.name}: no legal cell left for {stuck} with any strategy; the canvas is too full"
    )
