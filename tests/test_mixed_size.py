"""The mixed-size analytic flow: its stages, legality, no use of the design's answer, its budget."""

from __future__ import annotations

import numpy as np
import pytest
from random_designs import hard_macro_violations

import netlists
from netlists import Design, NodeKind
from placer.baselines import FlowSettings, place
from placer.baselines.mixed_size import target_density
from placer.cost import CostModel


@pytest.fixture(scope="module")
def ariane():
    return netlists.load("ariane133")


@pytest.fixture(scope="module")
def flow(ariane):
    return place(ariane, "analytic", moves=3000, seed=0)


def test_every_macro_ends_legal_and_each_stage_reports_its_cost(ariane, flow):
    assert [stage.name for stage in flow.stages] == ["global", "legalize", "soft", "polish"]
    assert hard_macro_violations(ariane, flow.placement) == [] and flow.report.overlap_area == 0.0
    assert flow.moves == 3000 and flow.method == "analytic"
    fresh = CostModel(ariane.netlist, ariane.floorplan).evaluate(flow.placement)
    assert fresh.proxy_cost == pytest.approx(flow.report.proxy_cost, abs=1e-12) == flow.stages[-1].proxy_cost
    costs = {stage.name: stage.proxy_cost for stage in flow.stages}
    # Placing the soft macros again around the legal hard macros pays; the polish keeps the best it saw.
    assert costs["soft"] < costs["legalize"] and costs["polish"] <= costs["soft"]
    assert all(stage.seconds >= 0 for stage in flow.stages)
    assert flow.as_dict()["stages"][0] == {"name": "global", "seconds": flow.stages[0].seconds,
                                           "proxy_cost": costs["global"]}  # fmt: skip


def test_the_flow_reads_no_movable_position_of_the_design(ariane, flow):
    # The file's macro and cluster positions (the commercial tool's answer) shuffled: the same placement results.
    rng = np.random.default_rng(0)
    shuffled = ariane.placement.copy()
    for kind in (NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO):
        nodes = ariane.netlist.nodes_of(kind)
        nodes = nodes[~shuffled.fixed[nodes]]
        order = rng.permutation(nodes)
        shuffled.x[nodes], shuffled.y[nodes] = shuffled.x[order], shuffled.y[order]
    assert not np.array_equal(shuffled.x, ariane.placement.x)
    again = place(Design(ariane.netlist, ariane.floorplan, shuffled), "analytic", moves=3000, seed=0)
    assert np.array_equal(again.placement.x, flow.placement.x) and np.array_equal(again.placement.y, flow.placement.y)
    assert again.report.proxy_cost == flow.report.proxy_cost


def test_no_time_left_for_the_polish_ends_after_the_soft_stage():
    design = netlists.load("toy_macro_stdcell")
    result = place(design, "analytic", seconds=1e-9)
    assert [stage.name for stage in result.stages] == ["global", "legalize", "soft"] and result.moves == 0
    assert hard_macro_violations(design, result.placement) == []


def test_target_density_makes_room_for_the_soft_macros(ariane):
    nl, fp = ariane.netlist, ariane.floorplan
    model = CostModel(nl, fp)
    hard, soft = nl.nodes_of(NodeKind.HARD_MACRO), nl.nodes_of(NodeKind.SOFT_MACRO)
    share = nl.node_area[soft].sum() / (fp.width * fp.height - nl.node_area[hard].sum())
    assert 0.4 < share < 0.42, "Ariane133's clusters fill 41 % of what its macros leave free"
    assert target_density(model, ariane.placement, FlowSettings()) == 0.6
    assert target_density(model, ariane.placement, FlowSettings(min_density=0.3)) == pytest.approx(share + 0.1)
    assert target_density(model, ariane.placement, FlowSettings(min_density=0.3, density_margin=0.9)) == 1.0
    with pytest.raises(ValueError, match="min_density"):
        FlowSettings(min_density=0.0)
