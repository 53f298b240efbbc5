"""The action layout: one numbering of cells and orientations for the environment, imitation and policies."""

from __future__ import annotations

import numpy as np
import pytest

from envs.actions import ActionLayout
from netlists import Floorplan
from placer.legality import cell_centre
from placer.sequential import FLIPS


@pytest.mark.parametrize("orientations", [None, FLIPS])
def test_every_cell_and_orientation_round_trips_and_the_padding_decodes_to_nothing(orientations):
    floorplan = Floorplan(width=70.0, height=50.0, cols=7, rows=5)
    layout = ActionLayout.of(floorplan, 9, orientations)
    blocks = layout.orientations
    assert layout.n == len(blocks) * 81 and (layout.row0, layout.col0) == (2, 1)
    seen = set()
    for cell in range(35):
        for orientation in blocks:
            action = layout.encode(cell, orientation)
            assert layout.decode(action) == (cell, orientation)
            assert layout.encode_point(floorplan, *cell_centre(floorplan, cell), orientation) == action
            seen.add(action)
    assert len(seen) == 35 * len(blocks)
    padding = [a for a in range(layout.n) if a not in seen]
    assert len(padding) == layout.n - len(seen) and all(layout.decode(a) is None for a in padding)
    assert layout.decode(-1) is None and layout.decode(layout.n) is None


def test_the_mask_puts_legal_cells_where_the_maps_have_them():
    floorplan = Floorplan(width=40.0, height=30.0, cols=4, rows=3)
    layout = ActionLayout.of(floorplan, 6, FLIPS)
    legal = np.random.default_rng(0).random((3, 4)) < 0.5
    mask = layout.mask(legal)
    rows, cols = layout.window
    for block in range(len(FLIPS)):
        grid = mask[block * 36 : (block + 1) * 36].reshape(6, 6)
        np.testing.assert_array_equal(grid[rows, cols], legal)
        assert grid.sum() == legal.sum()
    for action in np.flatnonzero(mask):
        cell, _ = layout.decode(action)
        assert legal.flat[cell]


def test_a_grid_too_big_or_an_orientation_off_the_layout_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        ActionLayout.of(Floorplan(width=10.0, height=10.0, cols=20, rows=4), 16)
    layout = ActionLayout.of(Floorplan(width=10.0, height=10.0, cols=4, rows=4), 8, FLIPS[:2])
    with pytest.raises(ValueError, match="orientation"):
        layout.encode(0, int(FLIPS[3]))
    with pytest.raises(ValueError, match="off the"):
        layout.encode(16)
