"""Sequential macro placement: orders, legal placing, the cost kept up to date, orientation pass."""

from __future__ import annotations

import math

import numpy as np
import pytest

import netlists
from netlists import NodeKind, Orientation
from placer.cost import CostModel
from placer.sequential import FLIPS, SequentialPlacer, flip_to_best, placement_order


@pytest.fixture(scope="module")
def toy():
    design = netlists.load("macro_tiles_10x10")
    return design, CostModel(design.netlist, design.floorplan)


def test_area_order_is_descending_with_ties_in_netlist_order(shared_data):
    design = netlists.load("ariane133")
    nl = design.netlist
    order = placement_order(nl, design.placement, "area")
    areas = nl.node_area[order]
    assert order.size == 133 and (np.diff(areas) <= 0).all()
    for area in np.unique(areas):
        same = order[areas == area]
        assert (np.diff(same) > 0).all(), "ties keep netlist order"


def test_orders_leave_out_fixed_macros_and_check_explicit_lists(toy):
    design, _ = toy
    placement = design.placement.copy()
    hard = design.netlist.nodes_of(NodeKind.HARD_MACRO)
    placement.fixed[hard[:3]] = True
    for name in ("area", "netlist", "random"):
        order = placement_order(design.netlist, placement, name, np.random.default_rng(0))
        assert sorted(order.tolist()) == sorted(hard[3:].tolist())
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert np.array_equal(placement_order(design.netlist, placement, "random", rng_a),
                          placement_order(design.netlist, placement, "random", rng_b))  # fmt: skip
    names = [design.netlist.node_names[n] for n in hard[3:][::-1]]
    assert np.array_equal(placement_order(design.netlist, placement, names), hard[3:][::-1])
    with pytest.raises(ValueError, match="each of the 97"):
        placement_order(design.netlist, placement, hard[2:].tolist())
    with pytest.raises(ValueError, match="unknown macro order"):
        placement_order(design.netlist, placement, "largest")


def test_placing_follows_the_order_and_keeps_the_cost_exact(toy):
    design, model = toy
    order = placement_order(design.netlist, design.placement, "netlist")
    placer = SequentialPlacer(model, design.placement, order)
    assert not placer.placement().is_placed[order].any(), "the order starts off the canvas"
    assert design.placement.is_placed[order].all(), "the start is not modified"
    rng = np.random.default_rng(0)
    while not placer.done:
        node = placer.current
        mask = placer.legal_mask()
        illegal = np.flatnonzero(~mask.reshape(-1))
        if illegal.size:
            with pytest.raises(ValueError, match="not legal"):
                placer.place(int(illegal[0]))
        total = placer.place(int(rng.choice(np.flatnonzero(mask.reshape(-1)))))
        assert placer.placement().is_placed[node]
        full = model.evaluate(placer.placement())
        assert math.isclose(total, full.proxy_cost, rel_tol=1e-9)
    assert placer.current is None and not placer.legal_mask().any()
    with pytest.raises(RuntimeError):
        placer.place(0)
    assert model.evaluate(placer.placement()).overlap_area == pytest.approx(0.0, abs=1e-6)
    assert placer.cover.sum() * model.cell_area == pytest.approx(design.netlist.node_area[order].sum())


def test_flip_to_best_only_lowers_the_cost_and_keeps_footprints(shared_data):
    design = netlists.load("ariane133")
    model = CostModel(design.netlist, design.floorplan)
    order = placement_order(design.netlist, design.placement)
    placer = SequentialPlacer(model, design.placement, order)
    rng = np.random.default_rng(1)
    while not placer.done:
        placer.place(int(rng.choice(np.flatnonzero(placer.legal_mask().reshape(-1)))))
    before = placer.placement()
    cost = flip_to_best(placer.cost, order)
    after = placer.placement()
    assert cost <= model.evaluate(before).proxy_cost
    assert math.isclose(cost, model.evaluate(after).proxy_cost, rel_tol=1e-9)
    assert np.array_equal(after.x, before.x) and np.array_equal(after.y, before.y)
    assert set(np.unique(after.orientation[order])) <= {int(o) for o in FLIPS}
    assert (after.orientation[order] != Orientation.N).any(), "some flip pays on Ariane"
