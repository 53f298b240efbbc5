"""The synthetic design generator: repeatable, in range, well formed, local, and placeable."""

from __future__ import annotations

import numpy as np
import pytest

import netlists
from netlists import NodeKind, synthetic
from netlists.synthetic import SyntheticSpec, generate, generate_with_layout
from placer.baselines import place
from placer.cost import CostModel
from placer.fd import FDSchedule


def test_same_seed_same_design_and_different_seeds_differ():
    spec = SyntheticSpec(hard_macros=30, soft_macros=120, ports=50, seed=3)
    a, b = generate(spec).netlist, generate(spec).netlist
    assert netlists.netlist_differences(a, b) == []
    c = generate(SyntheticSpec(hard_macros=30, soft_macros=120, ports=50, seed=4)).netlist
    assert netlists.netlist_differences(a, c) != []


def test_sampled_specs_stay_in_their_ranges():
    rng = np.random.default_rng(0)
    for _ in range(200):
        spec = SyntheticSpec.sample(rng)
        assert 10 <= spec.hard_macros <= 400 and 0.3 <= spec.utilisation <= 0.8
    for seed in range(6):
        design = generate(SyntheticSpec.sample(np.random.default_rng(seed)))
        fp, nl = design.floorplan, design.netlist
        assert 16 <= fp.cols <= 128 and 16 <= fp.rows <= 128
        hard = nl.nodes_of(NodeKind.HARD_MACRO)
        assert nl.node_area[hard].sum() <= 0.45 * fp.width * fp.height + 1e-6
        assert (nl.node_width[hard] <= fp.width / 2 + 1e-9).all() and (
            nl.node_height[hard] <= fp.height / 2 + 1e-9
        ).all()


def test_a_name_gives_one_design_its_cap_included_and_a_bad_name_one_clear_error():
    sampled = generate(SyntheticSpec.sample(np.random.default_rng(7), max_grid=32))
    assert netlists.netlist_differences(synthetic.by_name("synthetic:7@32").netlist, sampled.netlist) == []
    for seed in range(4):
        floorplan = synthetic.by_name(f"synthetic:{seed}@24").floorplan
        assert max(floorplan.cols, floorplan.rows) <= 24
    large = synthetic.by_name("synthetic:0")  # no cap stated: 128, the same design wherever it is named
    assert (large.floorplan.cols, large.floorplan.rows) == (117, 80) and synthetic.parse("synthetic:0") == (0, 128)
    assert synthetic.by_name("synthetic:0@128").floorplan == large.floorplan
    assert synthetic.capped("synthetic:0", 32) == "synthetic:0@32" and synthetic.capped("synthetic:0@20", 32) == (
        "synthetic:0@20") and synthetic.capped("synthetic:0", 4) == "synthetic:0@16"  # fmt: skip
    assert synthetic.capped("ariane133", 32) == "ariane133" and synthetic.name_of(5, 128) == "synthetic:5"
    assert synthetic.is_name("synthetic:7") and not synthetic.is_name("ariane133") and not synthetic.is_name(None)
    for bad in ("synthetic:", "synthetic:x", "synthetic:-1", "ariane133", "synthetic:3@", "synthetic:3@x"):
        with pytest.raises(ValueError, match="not a generated design's name"):
            synthetic.by_name(bad)
    for bad in ("synthetic:3@8", "synthetic:3@200"):
        with pytest.raises(ValueError, match="from 16 to 128"):
            synthetic.by_name(bad)


def test_designs_are_well_formed_and_round_trip(tmp_path):
    spec = SyntheticSpec(hard_macros=25, macro_types=2, soft_macros=150, ports=60, seed=7)
    design = generate(spec)
    nl = design.netlist
    assert [nl.count(k) for k in NodeKind] == [25, 150, 0, 60]
    assert all(name.startswith("Grp_") for name in np.array(nl.node_names)[nl.nodes_of(NodeKind.SOFT_MACRO)])
    on_nets = np.zeros(nl.n_nodes, dtype=bool)
    on_nets[nl.pin_node[nl.net_pins]] = True
    assert on_nets[nl.node_kind != NodeKind.PORT].all(), "every macro and cluster is on a net"
    drivers = nl.net_pins[nl.net_start[:-1]]
    assert np.unique(drivers).size == drivers.size, "a pin drives one net at most"
    ports = nl.nodes_of(NodeKind.PORT)
    p, fp = design.placement, design.floorplan
    on_edge = (p.x[ports] == 0) | (p.x[ports] == fp.width) | (p.y[ports] == 0) | (p.y[ports] == fp.height)
    assert on_edge.all() and p.fixed[ports].all() and not p.is_placed[nl.node_kind != NodeKind.PORT].any()
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    assert len({(w, h) for w, h in zip(nl.node_width[hard], nl.node_height[hard], strict=True)}) == 2
    assert 0.35 <= np.mean(nl.net_degree == 2) <= 0.65 and 0.6 <= np.mean(nl.net_weight == 1) <= 0.95
    netlists.write_pb(nl, p, tmp_path / "synthetic.pb.txt.gz")
    back = netlists.load(tmp_path / "synthetic.pb.txt.gz")
    assert netlists.netlist_differences(nl, back.netlist) == []


@pytest.mark.parametrize("rent", [0.55, 0.75])
def test_nets_are_local_as_rent_says(rent):
    design, layout = generate_with_layout(SyntheticSpec(hard_macros=40, soft_macros=400, ports=80, rent=rent, seed=1))
    nl = design.netlist
    model = CostModel(nl, design.floorplan)
    inner = np.flatnonzero(nl.node_kind != NodeKind.PORT)
    shuffled = layout.copy()
    perm = np.random.default_rng(0).permutation(inner)
    shuffled.x[inner], shuffled.y[inner] = layout.x[perm], layout.y[perm]
    ratio = model.evaluate(layout).wirelength / model.evaluate(shuffled).wirelength
    assert ratio < (0.2 if rent == 0.55 else 0.35), ratio


def test_higher_rent_exponent_means_longer_wires():
    ratios = []
    for rent in (0.5, 0.8):
        design, layout = generate_with_layout(SyntheticSpec(hard_macros=40, soft_macros=400, rent=rent, seed=2))
        ratios.append(CostModel(design.netlist, design.floorplan).evaluate(layout).wirelength_cost)
    assert ratios[0] < ratios[1]


def test_generated_designs_can_be_placed():
    for seed in range(5):
        spec = SyntheticSpec.sample(np.random.default_rng(100 + seed))
        spec = SyntheticSpec(**{**spec.__dict__, "hard_macros": min(spec.hard_macros, 80), "soft_macros": 150})
        result = place(generate(spec), "greedy", fd_schedule=FDSchedule.circuit_training())
        assert result.report.overlap_area == pytest.approx(0.0, abs=1e-6) and result.report.outside_area == 0.0


def test_bad_specs_are_refused():
    with pytest.raises(ValueError):
        SyntheticSpec(hard_macros=0)
    with pytest.raises(ValueError):
        SyntheticSpec(utilisation=1.5)
