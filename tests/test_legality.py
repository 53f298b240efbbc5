"""The action mask: legal cells against a plain geometric check, and random legal packings."""

from __future__ import annotations

import numpy as np
import pytest

import netlists
from netlists import Blockage, Floorplan, NodeKind
from placer.cost import CostModel
from placer.legality import (
    SCANS,
    TOUCH,
    MacroBoxes,
    add_cover,
    cell_centre,
    cell_centres,
    legal_cells,
    obstacle_boxes,
)
from tests.random_designs import random_floorplan


def plain_mask(floorplan: Floorplan, width: float, height: float, boxes: np.ndarray, spacing: float) -> np.ndarray:
    """Cell by cell and box by box: inside the canvas and no overlap longer than a touch on both axes."""
    touch = TOUCH * max(floorplan.width, floorplan.height)
    mask = np.zeros((floorplan.rows, floorplan.cols), dtype=bool)
    for row in range(floorplan.rows):
        for col in range(floorplan.cols):
            cx, cy = cell_centre(floorplan, col + row * floorplan.cols)
            x0, x1, y0, y1 = cx - width / 2, cx + width / 2, cy - height / 2, cy + height / 2
            inside = x0 >= -touch and y0 >= -touch and x1 <= floorplan.width + touch
            inside = inside and y1 <= floorplan.height + touch
            clear = True
            for bx0, by0, bx1, by1 in boxes:
                overlap_x = min(x1, bx1 + spacing) - max(x0, bx0 - spacing)
                overlap_y = min(y1, by1 + spacing) - max(y0, by0 - spacing)
                if overlap_x > touch and overlap_y > touch:
                    clear = False
            mask[row, col] = inside and clear
    return mask


def random_boxes(rng: np.random.Generator, floorplan: Floorplan) -> np.ndarray:
    """Boxes anywhere, some of them whole grid cells (edges exactly on grid lines)."""
    n = int(rng.integers(0, 8))
    w = rng.uniform(0.05, 0.5, n) * floorplan.width
    h = rng.uniform(0.05, 0.5, n) * floorplan.height
    x = rng.uniform(-0.1, 1.1, n) * floorplan.width
    y = rng.uniform(-0.1, 1.1, n) * floorplan.height
    on_grid = rng.random(n) < 0.5
    w[on_grid] = rng.integers(1, 3, on_grid.sum()) * floorplan.cell_width
    h[on_grid] = rng.integers(1, 3, on_grid.sum()) * floorplan.cell_height
    x[on_grid] = rng.integers(0, floorplan.cols, on_grid.sum()) * floorplan.cell_width + w[on_grid] / 2
    y[on_grid] = rng.integers(0, floorplan.rows, on_grid.sum()) * floorplan.cell_height + h[on_grid] / 2
    return np.column_stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2])


def test_mask_matches_a_plain_geometric_check_on_random_inputs():
    rng = np.random.default_rng(0)
    for _ in range(300):
        floorplan = random_floorplan(rng)
        boxes = random_boxes(rng, floorplan)
        if rng.random() < 0.5:  # macro exactly k cells wide and tall
            width = int(rng.integers(1, 3)) * floorplan.cell_width
            height = int(rng.integers(1, 3)) * floorplan.cell_height
        else:
            width, height = rng.uniform(0.01, 0.6, 2) * (floorplan.width, floorplan.height)
        spacing = float(rng.choice([0.0, 0.0, 0.1, 2.0]))
        got = legal_cells(floorplan, width, height, boxes, spacing)
        np.testing.assert_array_equal(got, plain_mask(floorplan, width, height, boxes, spacing))


def test_neighbouring_cells_of_a_one_cell_macro_stay_legal():
    floorplan = Floorplan(width=100.0, height=100.0, cols=10, rows=10)
    boxes = obstacle_boxes(floorplan, [45.0], [45.0], [10.0], [10.0])  # fills cell (row 4, col 4) exactly
    mask = legal_cells(floorplan, 10.0, 10.0, boxes)
    assert not mask[4, 4] and mask.sum() == 99
    # With 0.1 µm spacing its eight neighbours are too close as well.
    spaced = legal_cells(floorplan, 10.0, 10.0, boxes, spacing=0.1)
    assert spaced.sum() == 100 - 9
    # A 20 x 20 macro cannot sit on any cell of the outer ring (it would stick out by 5 µm).
    big = legal_cells(floorplan, 20.0, 20.0, np.empty((0, 4)))
    assert big.sum() == 64 and not big[0].any() and not big[:, 9].any()


def test_blockages_are_obstacles():
    floorplan = Floorplan(width=100.0, height=100.0, cols=10, rows=10, blockages=(Blockage(0, 0, 50, 100),))
    mask = legal_cells(floorplan, 10.0, 10.0, obstacle_boxes(floorplan, [], [], [], []))
    assert not mask[:, :5].any() and mask[:, 5:].all()


@pytest.mark.parametrize("seed", range(5))
def test_random_legal_packings_never_overlap_or_leave_the_canvas(seed):
    # Macros of random sizes placed one by one on random legal cells until none is left.
    rng = np.random.default_rng(seed)
    floorplan = Floorplan(width=200.0, height=150.0, cols=int(rng.integers(4, 30)), rows=int(rng.integers(4, 30)))
    placed = []
    for _ in range(60):
        width, height = rng.uniform(5.0, 60.0, 2)
        boxes = np.array(placed).reshape(-1, 4)
        mask = legal_cells(floorplan, width, height, boxes).ravel()
        if not mask.any():
            continue
        x, y = cell_centre(floorplan, int(rng.choice(np.flatnonzero(mask))))
        placed.append((x - width / 2, y - height / 2, x + width / 2, y + height / 2))
    boxes = np.array(placed)
    assert boxes[:, :2].min() >= -1e-9 and boxes[:, 2].max() <= 200.0 + 1e-9 and boxes[:, 3].max() <= 150.0 + 1e-9
    for i in range(len(boxes)):
        for j in range(i):
            overlap_x = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
            overlap_y = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1])
            assert overlap_x <= 1e-6 or overlap_y <= 1e-6


def test_packing_macro_tiles_10x10_fills_every_cell_with_no_overlap(shared_data):
    # Circuit Training's unit design: 100 macros of 50 x 50 on a 10 x 10 grid of 64.5 µm cells.
    design = netlists.load(shared_data / "ct_unit" / "macro_tiles_10x10", plc=None)
    nl, fp = design.netlist, design.floorplan
    placement = design.placement.copy()
    macros = nl.nodes_of(NodeKind.HARD_MACRO)
    placement.x[macros] = placement.y[macros] = np.nan
    for macro in macros:
        placed = macros[~np.isnan(placement.x[macros])]
        boxes = obstacle_boxes(fp, placement.x[placed], placement.y[placed], nl.node_width[placed],
                               nl.node_height[placed])  # fmt: skip
        mask = legal_cells(fp, nl.node_width[macro], nl.node_height[macro], boxes)
        assert mask.sum() == fp.cols * fp.rows - placed.size
        placement.x[macro], placement.y[macro] = cell_centre(fp, int(np.flatnonzero(mask.ravel())[0]))
    report = CostModel(nl, fp).evaluate(placement)
    assert report.overlap_area == 0.0 and report.outside_area == 0.0


def test_cover_matches_a_plain_overlap_sum():
    rng = np.random.default_rng(21)
    for _ in range(100):
        floorplan = random_floorplan(rng)
        boxes = random_boxes(rng, floorplan)
        cover = np.zeros((floorplan.rows, floorplan.cols))
        add_cover(boxes, floorplan.cell_width, floorplan.cell_height, floorplan.cols, floorplan.rows, cover)
        expected = np.zeros_like(cover)
        cw, ch = floorplan.cell_width, floorplan.cell_height
        for row in range(floorplan.rows):
            for col in range(floorplan.cols):
                for x0, y0, x1, y1 in boxes:
                    dx = min(x1, (col + 1) * cw) - max(x0, col * cw)
                    dy = min(y1, (row + 1) * ch) - max(y0, row * ch)
                    expected[row, col] += max(dx, 0.0) * max(dy, 0.0) / (cw * ch)
        assert np.allclose(cover, expected, rtol=1e-12, atol=1e-12)


def test_macro_boxes_fits_and_legal_cells_apply_the_same_rule():
    # Annealing asks ``fits`` at one centre, the mask and coordinate descent ask ``legal_cells``:
    # at every cell centre, for every slot, both must say the same, and match the plain check.
    rng = np.random.default_rng(1)
    for _ in range(40):
        floorplan = random_floorplan(rng)
        n = int(rng.integers(1, 6))
        width = rng.uniform(0.05, 0.4, n) * floorplan.width
        height = rng.uniform(0.05, 0.4, n) * floorplan.height
        spacing = float(rng.choice([0.0, 0.1]))
        boxes = MacroBoxes(floorplan, width, height, random_boxes(rng, floorplan), spacing)
        xs, ys = cell_centres(floorplan)
        for i in range(n):
            if rng.random() < 0.8:  # some slots stay off the canvas
                boxes.put(i, float(rng.choice(xs)), float(rng.choice(ys)))
        for i in range(n):
            mask = boxes.legal_cells(i)
            plain = plain_mask(floorplan, width[i], height[i], boxes.obstacles(but=i), spacing)
            np.testing.assert_array_equal(mask, plain)
            fits = np.array([[boxes.fits((i,), (x,), (y,)) for x in xs] for y in ys])
            np.testing.assert_array_equal(fits, mask)


def test_macro_boxes_cover_counts_fixed_boxes_and_placed_slots_only():
    floorplan = Floorplan(width=100.0, height=100.0, cols=10, rows=10, blockages=(Blockage(0, 0, 10, 100),))
    boxes = MacroBoxes(floorplan, [20.0, 20.0], [20.0, 20.0], obstacle_boxes(floorplan, [], [], [], []))
    boxes.put(0, 50.0, 50.0)  # covers cells (4..5, 4..5) exactly; slot 1 stays off the canvas
    cover = boxes.cover()
    assert cover.sum() == pytest.approx(10 + 4) and cover[:, 0].sum() == pytest.approx(10)
    assert cover[4:6, 4:6].min() == pytest.approx(1.0)
    assert boxes.obstacles().shape == (2, 4) and boxes.obstacles(but=0).shape == (1, 4)


def test_packings_scanned_from_each_side_are_legal_and_start_on_that_side():
    floorplan = Floorplan(100.0, 100.0, 10, 10)
    boxes = MacroBoxes(floorplan, [20.0] * 8, [20.0] * 8, np.array([[40.0, 40.0, 60.0, 60.0]]))  # a block mid-canvas
    packings = [boxes.pack(range(8), scan) for scan in range(SCANS)]
    for xs, ys in packings:
        placed = MacroBoxes(floorplan, [20.0] * 8, [20.0] * 8, np.array([[40.0, 40.0, 60.0, 60.0]]))
        for i in range(8):
            assert placed.legal_cells(i)[int(ys[i] // 10), int(xs[i] // 10)], "each lands on a legal cell"
            placed.put(i, xs[i], ys[i])
    firsts = [(xs[:2].tolist(), ys[:2].tolist()) for xs, ys in packings[:4]]
    assert firsts == [([15.0, 35.0], [15.0, 15.0]), ([85.0, 65.0], [85.0, 85.0]),  # rows: bottom, top
                      ([15.0, 15.0], [15.0, 35.0]), ([85.0, 85.0], [85.0, 65.0])]  # columns: left, right  # fmt: skip
    to_edge = [np.minimum(np.minimum(xs, 100 - xs), np.minimum(ys, 100 - ys)).max() for xs, ys in packings]
    assert to_edge[4] == 15.0 < to_edge[0], "the rim packing keeps to the edges"
    assert boxes.pack(range(8), 0) is not None and MacroBoxes(floorplan, [20.0] * 17, [20.0] * 17,
                                                               np.zeros((0, 4))).pack(range(17)) is None  # fmt: skip
