"""Grid selection: the waste measure by hand, the search against a slow reference, Circuit Training's own choice."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import netlists
from netlists import NodeKind, synthetic
from placer.baselines.constructive import row_packer
from placer.cost import CostModel
from placer.gridding import GridSettings, candidate_grids, choose_grid, gridded, side_by_side_waste
from placer.sequential import SequentialPlacer, placement_order, starting_placement


@pytest.mark.parametrize(
    ("lengths", "cell", "waste"),
    [
        ([10.0, 10.0], 10.0, 0.0),  # one cell each, nothing lost
        ([5.0, 5.0], 10.0, 0.5),  # centred halves: each keeps its own cell
        ([12.0], 10.0, 1 - 12 / 30),  # just over a cell: centred on three
        ([22.0, 22.0], 10.0, 1 - 44 / 60),  # overhangs of 6 each do not fit one cell together
        ([12.0, 12.0], 10.0, 1 - 24 / 50),  # overhangs of 1 each share the cell between them
    ],
)
def test_side_by_side_waste_matches_hand_counts(lengths, cell, waste):
    assert side_by_side_waste(np.array(lengths), cell) == pytest.approx(waste)


def reference_choice(design, settings):
    """The rule of the module, with the placers' own sequential packing and cover: slow and plain."""
    nl = design.netlist
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    movable = hard[~design.placement.fixed[hard]]
    widths, heights = nl.node_width[movable], nl.node_height[movable]
    order_index = np.argsort(-nl.node_area[movable], kind="stable")
    scored = []
    start = starting_placement(nl, design.floorplan, design.placement)  # soft macros do not change the packing
    for cols, rows in candidate_grids(design.floorplan, settings):
        fp = dataclasses.replace(design.floorplan, cols=cols, rows=rows)
        model = CostModel(nl, fp)
        placer = SequentialPlacer(model, start, placement_order(nl, start))
        while not placer.done and placer.legal_mask().any():
            placer.place(row_packer(placer, placer.legal_mask()))
        if not placer.done:
            continue
        empty = float(np.mean(placer.cover < 1e-5))
        wx = side_by_side_waste(widths[order_index], fp.cell_width)
        wy = side_by_side_waste(heights[order_index], fp.cell_height)
        scored.append((empty + 2 - wx - wy, cols, rows))
    best = max(s[0] for s in scored)
    qualified = [s for s in scored if s[0] >= best * (1 - settings.tolerance)]
    return max(qualified, key=lambda s: (s[0] / (s[1] * s[2]), s[0])), len(scored)


@pytest.mark.parametrize("seed", [3, 8])
def test_choice_matches_a_plain_reference_with_sequential_packing(seed):
    design = synthetic.by_name(f"synthetic:{seed}")
    settings = GridSettings(min_side=6, max_side=24, min_cells=60, max_cells=160)
    choice = choose_grid(design.netlist, design.floorplan, design.placement, settings)
    (score, cols, rows), feasible = reference_choice(design, settings)
    assert (choice.cols, choice.rows) == (cols, rows)
    assert choice.score == pytest.approx(score) and choice.feasible == feasible
    assert 0 < feasible <= choice.candidates


def test_fixed_macros_are_obstacles_of_the_packing():
    design = synthetic.by_name("synthetic:3")
    nl = design.netlist
    settings = GridSettings(min_side=6, max_side=24, min_cells=60, max_cells=160)
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    placement = design.placement.copy()
    big = hard[np.argmax(nl.node_area[hard])]
    placement.x[big], placement.y[big] = design.floorplan.width / 2, design.floorplan.height / 2
    placement.fixed[big] = True
    fixed_design = dataclasses.replace(design, placement=placement)
    choice = choose_grid(nl, design.floorplan, placement, settings)
    (_, cols, rows), feasible = reference_choice(fixed_design, settings)
    assert (choice.cols, choice.rows, choice.feasible) == (cols, rows, feasible)


def test_ariane133_gets_the_grid_circuit_training_chose_for_it(shared_data):
    design = netlists.load("ariane133")
    choice = choose_grid(design.netlist, design.floorplan, design.placement)
    assert (choice.cols, choice.rows) == (design.floorplan.cols, design.floorplan.rows) == (24, 21)


def test_a_canvas_too_small_for_the_macros_is_refused_in_one_line():
    design = synthetic.by_name("synthetic:3")
    side = math.sqrt(design.netlist.node_area[design.netlist.nodes_of(NodeKind.HARD_MACRO)].sum()) * 0.9
    small = dataclasses.replace(design.floorplan, width=side, height=side)
    with pytest.raises(ValueError, match="no grid of 500-2500 cells packs the"):
        choose_grid(design.netlist, small, design.placement)


def test_gridded_keeps_a_stated_grid_and_chooses_a_missing_one():
    design = synthetic.by_name("synthetic:3")
    assert gridded(design) == (design, None)
    unstated = dataclasses.replace(design, grid_stated=False)
    chosen, choice = gridded(unstated)
    assert (chosen.floorplan.cols, chosen.floorplan.rows) == (choice.cols, choice.rows)
    assert chosen.floorplan.width == design.floorplan.width and not chosen.grid_stated
    assert unstated.floorplan is design.floorplan, "the input is not modified"
