"""The action layout: how a grid cell (and an orientation) of a design becomes one action number.

A design's ``rows x cols`` placement grid is embedded in a ``max_grid x max_grid`` map,
centred as Circuit Training does (row offset ``(max_grid - rows) // 2``, column offset
``(max_grid - cols) // 2``); map row 0 is the bottom row of the grid. So one policy, one
observation shape and one action space serve designs of any grid up to ``max_grid``.

``action = k * max_grid**2 + map_row * max_grid + map_col``, with ``k`` the index of the
orientation in :attr:`ActionLayout.orientations`; when the orientation is not part of the
action there is one entry, ``None`` (the macro keeps its own), and ``k`` is always 0.
Grid cells are numbered as Circuit Training numbers them, ``cell = col + row * cols``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from netlists import Floorplan
from placer.legality import cell_of


def action_index(action) -> int | None:
    """``action`` as an index, or ``None`` when it is not one integer.

    Python and numpy integers and one-element integer arrays (as vectorised agents pass them)
    are indices; floats, booleans, strings, ``None`` and arrays of several are not: environments
    treat those as illegal actions instead of rounding them to a cell or raising.
    """
    if isinstance(action, str | bytes) or action is None:
        return None
    value = np.asarray(action)
    if value.size != 1 or value.dtype.kind not in "iu":
        return None
    return int(value.reshape(()))


@dataclass(frozen=True)
class ActionLayout:
    """Encodes and decodes actions and masks for one design's grid.

    Attributes:
        rows: Rows of the design's grid.
        cols: Columns of the design's grid.
        max_grid: Side of the map the grid is embedded in.
        orientations: The orientation of each action block (``(None,)``: not part of the action).
    """

    rows: int
    cols: int
    max_grid: int
    orientations: tuple[int | None, ...] = (None,)

    def __post_init__(self) -> None:
        if not (1 <= self.rows <= self.max_grid and 1 <= self.cols <= self.max_grid):
            raise ValueError(f"grid {self.cols} x {self.rows} does not fit max_grid = {self.max_grid}")
        if not self.orientations:
            raise ValueError("an action layout needs at least one orientation entry")

    @classmethod
    def of(cls, floorplan: Floorplan, max_grid: int, orientations: Sequence[int] | None = None) -> ActionLayout:
        """The layout of ``floorplan``'s grid; ``orientations`` makes the orientation part of the action."""
        blocks = (None,) if orientations is None else tuple(int(o) for o in orientations)
        return cls(floorplan.rows, floorplan.cols, max_grid, blocks)

    @property
    def row0(self) -> int:
        """Map row of the grid's row 0."""
        return (self.max_grid - self.rows) // 2

    @property
    def col0(self) -> int:
        """Map column of the grid's column 0."""
        return (self.max_grid - self.cols) // 2

    @property
    def window(self) -> tuple[slice, slice]:
        """Where the grid lies in a ``max_grid x max_grid`` map (rows, columns)."""
        return slice(self.row0, self.row0 + self.rows), slice(self.col0, self.col0 + self.cols)

    @property
    def n(self) -> int:
        """Number of actions."""
        return len(self.orientations) * self.max_grid * self.max_grid

    def encode(self, cell: int, orientation: int | None = None) -> int:
        """The action that puts a macro on grid ``cell`` with ``orientation`` (``None``: the first block).

        Raises:
            ValueError: The cell is off the grid, or the orientation is not one of the layout's.
        """
        if not 0 <= cell < self.rows * self.cols:
            raise ValueError(f"cell {cell} is off the {self.cols} x {self.rows} grid")
        block = 0 if orientation is None and self.orientations == (None,) else self._block(orientation)
        row, col = divmod(int(cell), self.cols)
        return block * self.max_grid**2 + (row + self.row0) * self.max_grid + col + self.col0

    def encode_point(self, floorplan: Floorplan, x: float, y: float, orientation: int | None = None) -> int:
        """The action of the grid cell that holds point ``(x, y)`` (µm)."""
        row, col = cell_of(floorplan, x, y)
        return self.encode(col + row * self.cols, orientation)

    def decode(self, action: int) -> tuple[int, int | None] | None:
        """``(grid cell, orientation)`` of ``action``; ``None`` when it is off the action space or on the padding."""
        action = int(action)
        if not 0 <= action < self.n:
            return None
        block, map_cell = divmod(action, self.max_grid**2)
        row, col = divmod(map_cell, self.max_grid)
        row, col = row - self.row0, col - self.col0
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            return None
        return col + row * self.cols, self.orientations[block]

    def mask(self, legal: np.ndarray) -> np.ndarray:
        """Booleans over the actions from the legal cells (``rows x cols``): each orientation alike."""
        mask = np.zeros((self.max_grid, self.max_grid), dtype=bool)
        mask[self.window] = legal
        return np.tile(mask.reshape(-1), len(self.orientations))

    def _block(self, orientation: int | None) -> int:
        if orientation is None or int(orientation) not in self.orientations:
            raise ValueError(f"orientation {orientation} is not one of the layout's {self.orientations}")
        return self.orientations.index(int(orientation))
