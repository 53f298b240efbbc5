"""Non-RL placers: legal on every design, backing off when crowded, repeatable, better than their start."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from random_designs import centre_pin_netlist, random_floorplan, random_netlist, random_placement
from test_env import hard_macro_violations

import netlists
from netlists import Design, Floorplan, NodeKind, Placement
from placer.baselines import (
    METHODS,
    AnnealSettings,
    FlowSettings,
    PackingError,
    anneal,
    coordinate_descent,
    place,
)
from placer.baselines.annealing import PULL_LATTICE, AnnealState
from placer.cost import CostModel, CostWeights
from placer.fd import FDSchedule

FAST_FD = FDSchedule.circuit_training()
FAST_FLOW = FlowSettings(max_iterations=100)  # the analytic flow's stages short: these tests check legality


def four_quadrants() -> Design:
    """Four 50 x 50 macros on a 100 x 100 canvas: they fit only one per quadrant.

    Each macro is wired to a port at the centre, so a wirelength-greedy placer puts the
    first one in the middle and has no room left for the others.
    """
    n = 5
    netlist = centre_pin_netlist("quadrants", ["m0", "m1", "m2", "m3", "centre"],
                                 [NodeKind.HARD_MACRO] * 4 + [NodeKind.PORT], [50.0] * 4 + [0.0], [50.0] * 4 + [0.0],
                                 [[4, m] for m in range(4)])  # fmt: skip
    placement = Placement.unplaced(n)
    placement.x[4] = placement.y[4] = 50.0
    placement.fixed[4] = True
    return Design(netlist, Floorplan(100.0, 100.0, 10, 10), placement)


@pytest.mark.parametrize("method", METHODS)
def test_crowded_canvas_backs_off_to_packing_and_stays_legal(method):
    design = four_quadrants()
    result = place(design, method, moves=2000, seed=1, fd_schedule=FAST_FD, flow_settings=FAST_FLOW)
    assert hard_macro_violations(design, result.placement) == []
    assert result.placement.is_placed[:4].all()
    assert result.report.overlap_area == pytest.approx(0.0, abs=1e-9)


def test_greedy_keeps_room_for_the_macros_to_come():
    # Greedy's own choice would put the first macro where no other fits; the room rule steers it off.
    result = place(four_quadrants(), "greedy", fd_schedule=FAST_FD)
    assert not result.backed_off
    centres = sorted(zip(result.placement.x[:4], result.placement.y[:4], strict=True))
    assert centres == [(25.0, 25.0), (25.0, 75.0), (75.0, 25.0), (75.0, 75.0)]


def test_every_method_is_legal_on_random_designs():
    rng = np.random.default_rng(5)
    outcomes = {"placed": 0, "refused": 0}
    for seed in range(40):
        netlist = random_netlist(rng)
        floorplan = random_floorplan(rng)
        if seed % 2:
            floorplan = dataclasses.replace(floorplan, width=float(rng.uniform(40, 90)), height=rng.uniform(40, 90))
        placement = random_placement(rng, netlist, floorplan)
        placement.fixed[:] = rng.random(netlist.n_nodes) < 0.1
        design = Design(netlist, floorplan, placement)
        for method in METHODS:
            try:
                result = place(design, method, moves=300, seed=seed, fd_schedule=FAST_FD, flow_settings=FAST_FLOW)
            except PackingError as error:
                assert "too full" in str(error)
                outcomes["refused"] += 1
                continue
            outcomes["placed"] += 1
            assert hard_macro_violations(design, result.placement) == [], f"seed {seed} {method}"
            hard = netlist.nodes_of(NodeKind.HARD_MACRO)
            assert result.placement.is_placed[hard[~placement.fixed[hard]]].all()
    assert outcomes["placed"] >= 60 and outcomes["refused"] >= 3, outcomes


def test_same_seed_and_moves_give_the_same_annealing():
    design = netlists.load("ariane133")
    a = place(design, "sa", moves=3000, seed=4, fd_schedule=FAST_FD)
    b = place(design, "sa", moves=3000, seed=4, fd_schedule=FAST_FD)
    c = place(design, "sa", moves=3000, seed=5, fd_schedule=FAST_FD)
    assert a.placement.equals(b.placement) and a.report.proxy_cost == b.report.proxy_cost
    assert not a.placement.equals(c.placement)
    assert a.moves == 3000


def test_a_spent_wall_clock_budget_still_gives_a_legal_annealed_placement():
    design = netlists.load("ariane133")
    result = place(design, "sa", seconds=0.0, fd_schedule=FAST_FD)  # greedy alone uses up the budget
    assert hard_macro_violations(design, result.placement) == [] and 0 < result.moves <= 256


def test_annealing_improves_on_greedy_and_uses_the_incremental_cost(monkeypatch):
    design = netlists.load("ariane133")
    greedy = place(design, "greedy", fd_schedule=FAST_FD)
    full = {"count": 0}
    original = CostModel.new_state

    def counting(self, placement):
        full["count"] += 1
        return original(self, placement)

    monkeypatch.setattr(CostModel, "new_state", counting)
    settings = AnnealSettings(fd_every=10**9)
    result = place(design, "sa", moves=20_000, seed=0, fd_schedule=FAST_FD, anneal_settings=settings)
    assert result.report.proxy_cost < greedy.report.proxy_cost - 0.01
    assert full["count"] <= 6, "a full evaluation per move would be thousands"
    assert hard_macro_violations(design, result.placement) == []


def test_anneal_history_and_fd_period():
    design = netlists.load("ariane133")
    start = place(design, "greedy", fd_schedule=FAST_FD)
    model = CostModel(design.netlist, design.floorplan)
    result = anneal(model, start.placement, moves=12_000, settings=AnnealSettings(fd_every=2000), fd_schedule=FAST_FD)
    assert result.fd_runs >= 2 and 0 <= result.fd_kept <= result.fd_runs
    assert [h[0] for h in result.history] == sorted(h[0] for h in result.history)
    assert result.history[-1][4] == pytest.approx(result.report.proxy_cost, rel=1e-9)
    assert result.report.proxy_cost <= start.report.proxy_cost + 1e-12


def test_coordinate_descent_never_makes_it_worse_and_stays_legal():
    design = netlists.load("ariane133")
    start = place(design, "random", seed=2, fd_schedule=FAST_FD)
    model = CostModel(design.netlist, design.floorplan)
    placement, report = coordinate_descent(model, start.placement, epochs=1, radius=2, fd_schedule=FAST_FD)
    assert report.proxy_cost < start.report.proxy_cost
    assert report.proxy_cost == pytest.approx(model.evaluate(placement).proxy_cost, rel=1e-12)
    assert hard_macro_violations(design, placement) == []


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown method"):
        place(four_quadrants(), "tabu")
    with pytest.raises(ValueError, match="move_probabilities"):
        AnnealSettings(move_probabilities=(1.0, 1.0))
    with pytest.raises(ValueError, match="budget"):
        anneal(CostModel(four_quadrants().netlist, four_quadrants().floorplan), four_quadrants().placement)
    with pytest.raises(ValueError, match="pull_share"):
        AnnealSettings(pull_share=1.5)


def test_a_pull_goes_to_the_lattice_point_of_least_wirelength():
    design = netlists.load("ariane133")
    start = place(design, "greedy", fd_schedule=FAST_FD)
    model = CostModel(design.netlist, design.floorplan)
    state = AnnealState(model, start.placement, CostWeights(), AnnealSettings(), 0, FAST_FD)
    cost, fp = state.cost, design.floorplan
    rng = np.random.default_rng(0)
    for node in rng.choice(state.soft, size=20, replace=False):
        state.nudge = rng.uniform(0.2, 3.0)  # as the run cools, in cells
        x, y, _ = cost.location(int(node))
        hw, hh = state.soft_half_w[node], state.soft_half_h[node]
        steps = np.linspace(-1.0, 1.0, PULL_LATTICE) * state.nudge
        lattice = [(min(max(x + i * fp.cell_width, hw), fp.width - hw), min(max(y + j * fp.cell_height, hh),
                    fp.height - hh)) for i in steps for j in steps]  # fmt: skip
        lengths = []
        for px, py in lattice:  # the plain way: move there, read the exact wirelength, undo
            cost.move(int(node), px, py)
            lengths.append(cost.wirelength)
            cost.undo()
        target = state.pull_target(int(node))
        assert min(math.dist(target, point) for point in lattice) < 1e-9
        cost.move(int(node), *target)
        assert cost.wirelength == pytest.approx(min(lengths), rel=1e-12)
        cost.undo()


def test_a_hard_pull_goes_to_the_legal_cell_of_least_wirelength_within_the_radius():
    design = netlists.load("ariane133")
    start = place(design, "random", fd_schedule=FAST_FD)  # macros apart: room to move
    model = CostModel(design.netlist, design.floorplan)
    state = AnnealState(model, start.placement, CostWeights(), AnnealSettings(), 0, FAST_FD)
    cost, fp = state.cost, design.floorplan
    rng = np.random.default_rng(0)
    pulled = 0
    for i in rng.choice(state.macros.size, size=20, replace=False):
        state.radius = int(rng.integers(1, 5))
        node = int(state.macros[i])
        x, y, _ = cost.location(node)
        col, row = min(int(x / fp.cell_width), fp.cols - 1), min(int(y / fp.cell_height), fp.rows - 1)
        lengths = {}  # the plain way: every legal cell centre of the window, moved to and undone
        for c in range(max(col - state.radius, 0), min(col + state.radius, fp.cols - 1) + 1):
            for r in range(max(row - state.radius, 0), min(row + state.radius, fp.rows - 1) + 1):
                spot = (state.col_centres[c], state.row_centres[r])
                if spot != (x, y) and state.boxes.fits((int(i),), (spot[0],), (spot[1],)):
                    cost.move(node, *spot)
                    lengths[spot] = cost.wirelength
                    cost.undo()
        moved = state.pull_hard(int(i))
        if moved is None:  # none of the few best cells fits
            continue
        pulled += 1
        assert moved == [int(i)] and cost.location(node)[:2] in lengths
        assert cost.wirelength == pytest.approx(min(lengths.values()), rel=1e-12)
        cost.undo()
    assert pulled >= 10


def test_hard_pulls_keep_every_hard_macro_legal():
    design = four_quadrants()
    model = CostModel(design.netlist, design.floorplan)
    start = place(design, "greedy", fd_schedule=FAST_FD)
    settings = AnnealSettings(hard_pull_share=1.0)
    result = anneal(model, start.placement, moves=3000, seed=0, settings=settings, fd_schedule=FAST_FD)
    assert hard_macro_violations(design, result.placement) == []
    assert result.report.proxy_cost == pytest.approx(model.evaluate(result.placement).proxy_cost, rel=1e-12)
    with pytest.raises(ValueError, match="hard_pull_share"):
        AnnealSettings(hard_pull_share=-0.1)


def test_pulls_shorten_the_wires_more_than_random_nudges_in_as_many_moves():
    design = netlists.load("ariane133")
    start = place(design, "greedy", fd_schedule=FAST_FD)
    model = CostModel(design.netlist, design.floorplan)
    soft_only = (0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    lengths = {}
    for share in (0.0, 1.0):
        settings = AnnealSettings(move_probabilities=soft_only, pull_share=share, fd_every=10**9)
        result = anneal(model, start.placement, moves=4000, seed=0, settings=settings, fd_schedule=FAST_FD)
        lengths[share] = result.report.wirelength_cost
        assert result.report.proxy_cost < start.report.proxy_cost
    assert lengths[1.0] < lengths[0.0]
