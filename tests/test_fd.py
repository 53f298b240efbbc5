"""Force-directed placement of soft macros: hand-computed steps and invariants."""

from __future__ import annotations

import numpy as np
import pytest

import netlists
from netlists import Floorplan, Netlist, NodeKind, Placement
from placer.cost import CostModel, CostWeights
from placer.fd import DensityStage, FDSchedule, _jacobi_move, _spring_stiffness, movable_soft_macros, place_soft_macros
from tests.random_designs import random_floorplan, random_netlist, random_placement

CANVAS = Floorplan(width=100.0, height=100.0, cols=10, rows=10)


def tiny_netlist(kinds, sizes, nets, weights=None) -> Netlist:
    """One pin per node at its centre; ``nets`` are lists of node ids, driver first."""
    n = len(kinds)
    return Netlist(
        name="tiny",
        node_names=[f"n{i}" for i in range(n)],
        node_kind=np.array(kinds),
        node_width=[s[0] for s in sizes],
        node_height=[s[1] for s in sizes],
        node_ref=[""] * n,
        node_side=[""] * n,
        node_file_index=np.arange(n),
        pin_names=[f"n{i}" for i in range(n)],
        pin_node=np.arange(n),
        pin_dx=np.zeros(n),
        pin_dy=np.zeros(n),
        pin_file_index=np.full(n, -1),
        net_start=np.cumsum([0] + [len(net) for net in nets]),
        net_pins=[p for net in nets for p in net],
        net_weight=weights or [1.0] * len(nets),
    )


def at(xs, ys) -> Placement:
    n = len(xs)
    return Placement(np.array(xs, float), np.array(ys, float), np.zeros(n, np.int8), np.zeros(n, bool))


ONE_STEP_ATTRACT = FDSchedule(num_steps=(1,), attract=(1.0,), repel=(0.0,), move_distance_factors=(1.0,))
ONE_STEP_REPEL = FDSchedule(num_steps=(1,), attract=(0.0,), repel=(1.0,), move_distance_factors=(0.05,))


def test_one_attraction_step_moves_the_hardest_pulled_node_by_the_max_move():
    # A port at the left edge pulls a cluster that starts at the canvas centre: along x only.
    nl = tiny_netlist([NodeKind.PORT, NodeKind.SOFT_MACRO], [(0, 0), (4, 4)], [[0, 1]])
    out = place_soft_macros(nl, at([0.0, 0.0], [50.0, 0.0]), CANVAS, ONE_STEP_ATTRACT)
    # max move = 1 * max(W, H) / 1 step = 100, which would leave the canvas: cancelled.
    assert (out.x[1], out.y[1]) == (50.0, 50.0)
    schedule = FDSchedule(num_steps=(100,), attract=(1.0,), repel=(0.0,), move_distance_factors=(1.0,))
    out = place_soft_macros(nl, at([0.0, 0.0], [50.0, 0.0]), CANVAS, schedule)
    # Each step moves 1 µm towards the port until the box touches the edge (x = 2).
    assert out.x[1] == pytest.approx(2.0) and out.y[1] == 50.0
    assert (out.x[0], out.y[0]) == (0.0, 50.0)  # ports never move


def test_forces_are_normalised_per_axis_by_the_largest():
    # Two clusters pulled by a port at (20, 80) with weights 1 and 3 (from the centre).
    nl = tiny_netlist(
        [NodeKind.PORT, NodeKind.SOFT_MACRO, NodeKind.SOFT_MACRO], [(0, 0), (2, 2), (2, 2)], [[0, 1], [0, 2]], [1, 3]
    )
    schedule = FDSchedule(num_steps=(1,), attract=(1.0,), repel=(0.0,), move_distance_factors=(0.01,))
    out = place_soft_macros(nl, at([20.0, 0.0, 0.0], [80.0, 0.0, 0.0]), CANVAS, schedule)
    # Max move 0.01 * 100 / 1 = 1. Both start at (50, 50), 30 µm from the port on each axis:
    # forces 3 * 30 and 1 * 30, so the weight-3 cluster moves 1 per axis, the other a third.
    assert (out.x[2], out.y[2]) == pytest.approx((49.0, 51.0))
    assert (out.x[1], out.y[1]) == pytest.approx((50 - 1 / 3, 50 + 1 / 3))


def test_coincident_overlapping_clusters_are_pushed_apart_diagonally():
    nl = tiny_netlist([NodeKind.SOFT_MACRO, NodeKind.SOFT_MACRO], [(10, 10), (10, 10)], [[0, 1]])
    schedule = FDSchedule(num_steps=(5,), attract=(0.0,), repel=(1.0,), move_distance_factors=(0.05,))
    out = place_soft_macros(nl, at([0.0, 0.0], [0.0, 0.0]), CANVAS, schedule)
    # One step of 1 µm per axis, each along (-1, -1) from the lower id: apart after 5 steps.
    assert (out.x[0], out.y[0]) == pytest.approx((45.0, 45.0))
    assert (out.x[1], out.y[1]) == pytest.approx((55.0, 55.0))


def test_hard_macros_push_clusters_and_stay_put():
    nl = tiny_netlist([NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO], [(20, 20), (4, 4)], [[0, 1]])
    start = at([45.0, 0.0], [50.0, 0.0])
    out = place_soft_macros(nl, start, CANVAS, ONE_STEP_REPEL)
    assert (out.x[0], out.y[0]) == (45.0, 50.0)
    assert (out.x[1], out.y[1]) == (55.0, 50.0)  # pushed right, away from the macro centre, by 5


def test_attraction_is_skipped_when_repulsion_dominates():
    # attract / repel = 1e-9 < 1e-4: the spring to the far port must not act.
    nl = tiny_netlist([NodeKind.PORT, NodeKind.SOFT_MACRO], [(0, 0), (4, 4)], [[0, 1]])
    schedule = FDSchedule(num_steps=(10,), attract=(1e-3,), repel=(1e6,), move_distance_factors=(1.0,))
    out = place_soft_macros(nl, at([0.0, 0.0], [0.0, 0.0]), CANVAS, schedule)
    assert (out.x[1], out.y[1]) == (50.0, 50.0)


@pytest.fixture(scope="module")
def ariane():
    return netlists.load("ariane133")


def test_ariane_fd_keeps_fixed_nodes_and_the_canvas(ariane):
    nl, fp = ariane.netlist, ariane.floorplan
    out = place_soft_macros(nl, ariane.placement, fp)
    moved = movable_soft_macros(nl, ariane.placement)
    assert moved.size == nl.count(NodeKind.SOFT_MACRO) == 782
    others = np.setdiff1d(np.arange(nl.n_nodes), moved)
    assert np.array_equal(out.x[others], ariane.placement.x[others])
    assert np.array_equal(out.y[others], ariane.placement.y[others])
    half_w, half_h = nl.node_width[moved] / 2, nl.node_height[moved] / 2
    assert np.all(out.x[moved] - half_w >= 0) and np.all(out.x[moved] + half_w <= fp.width)
    assert np.all(out.y[moved] - half_h >= 0) and np.all(out.y[moved] + half_h <= fp.height)
    again = place_soft_macros(nl, ariane.placement, fp)
    assert again.equals(out)  # no randomness
    seeded = [place_soft_macros(nl, ariane.placement, fp, seed=3) for _ in range(2)]
    assert seeded[0].equals(seeded[1]) and not seeded[0].equals(out)


def test_fixed_soft_macros_do_not_move(ariane):
    placement = ariane.placement.copy()
    soft = ariane.netlist.nodes_of(NodeKind.SOFT_MACRO)
    placement.fixed[soft[:10]] = True
    out = place_soft_macros(ariane.netlist, placement, ariane.floorplan)
    assert np.array_equal(out.x[soft[:10]], placement.x[soft[:10]])
    assert not np.array_equal(out.x[soft[10:]], placement.x[soft[10:]])


def test_schedule_lengths_must_agree():
    with pytest.raises(ValueError, match="one entry per stage"):
        FDSchedule(num_steps=(1, 2), attract=(1.0,), repel=(0.0,), move_distance_factors=(1.0,))


# ------------------------------------------------------------------------------ density stage
SPREAD_ONLY = FDSchedule(num_steps=(), attract=(), repel=(), move_distance_factors=(), density=DensityStage(bins=16))


def test_one_jacobi_step_lands_on_the_spring_equilibrium_or_moves_max_move():
    # Node 0 pulled by a spring of constant 2 towards a point 3 µm right: force 6, stiffness 2 -> 3 µm.
    x, y = np.array([50.0]), np.array([50.0])
    half = np.array([1.0])
    args = (np.array([0]), x, y, half, half, 100.0, 100.0)
    _jacobi_move(*args, 10.0, np.array([6.0]), np.zeros(1), np.zeros(1), np.zeros(1), 0.0, np.array([2.0]))
    assert (x[0], y[0]) == (53.0, 50.0)
    # A density force of 16 with weight 0.5 adds 8 / 2 = 4 µm along y; the 3-4-5 move is capped at 2.5 µm.
    _jacobi_move(*args, 2.5, np.array([6.0]), np.zeros(1), np.zeros(1), np.array([16.0]), 0.5, np.array([2.0]))
    assert (x[0], y[0]) == pytest.approx((53.0 + 1.5, 52.0), abs=1e-12)
    # A move past the canvas stops at the edge.
    _jacobi_move(*args, 100.0, np.array([-1e6]), np.zeros(1), np.zeros(1), np.zeros(1), 0.0, np.array([1.0]))
    assert x[0] == 1.0


def test_spring_stiffness_sums_every_driver_to_sink_spring():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        nl = random_netlist(rng)
        placement = random_placement(rng, nl, random_floorplan(rng))
        pin_x, pin_y = placement.pin_positions(nl)
        got = _spring_stiffness(nl, pin_x, pin_y, io_factor=3.0)
        want = np.zeros(nl.n_nodes)
        for net in range(nl.n_nets):
            pins = nl.net_pins[nl.net_start[net] : nl.net_start[net + 1]]
            for sink in pins[1:]:
                ends = (nl.pin_node[pins[0]], nl.pin_node[sink])
                if np.isnan(pin_x[[pins[0], sink]] + pin_y[[pins[0], sink]]).any():
                    continue
                k = nl.net_weight[net] * (3.0 if NodeKind.PORT in nl.node_kind[list(ends)] else 1.0)
                for node in ends:
                    want[node] += k
        np.testing.assert_allclose(got, want, rtol=1e-12)


def pile_design(n_clusters: int = 40):
    """A hard macro in the middle of the canvas, clusters piled on it, a chain net through them."""
    kinds = [NodeKind.HARD_MACRO] + [NodeKind.SOFT_MACRO] * n_clusters + [NodeKind.PORT]
    sizes = [(30.0, 30.0)] + [(8.0, 8.0)] * n_clusters + [(0.0, 0.0)]
    nets = [[i, i + 1] for i in range(1, n_clusters)] + [[n_clusters + 1, 1]]
    nl = tiny_netlist(kinds, sizes, nets)
    xs = [50.0] + [50.0 + 0.1 * i for i in range(n_clusters)] + [0.0]
    ys = [50.0] + [50.0 - 0.1 * i for i in range(n_clusters)] + [20.0]
    placement = at(xs, ys)
    placement.fixed[[0, n_clusters + 1]] = True
    return nl, placement


def test_density_stage_spreads_a_pile_off_the_macro_and_inside_the_canvas():
    nl, start = pile_design()
    out = place_soft_macros(nl, start, CANVAS, SPREAD_ONLY, use_current_loc=True)
    assert np.array_equal(out.x[[0, 41]], [50.0, 0.0]) and np.array_equal(out.y[[0, 41]], [50.0, 20.0])
    clusters = np.arange(1, 41)
    assert np.all((out.x[clusters] >= 4.0) & (out.x[clusters] <= 96.0))
    assert np.all((out.y[clusters] >= 4.0) & (out.y[clusters] <= 96.0))
    # Cluster area left on the macro (30 x 30 at the centre): all of it at the start, little at the end.
    overlap_x = np.clip(np.minimum(out.x[clusters] + 4, 65) - np.maximum(out.x[clusters] - 4, 35), 0, None)
    overlap_y = np.clip(np.minimum(out.y[clusters] + 4, 65) - np.maximum(out.y[clusters] - 4, 35), 0, None)
    assert (overlap_x * overlap_y).sum() < 0.02 * 40 * 64
    model = CostModel(nl, CANVAS)
    assert model.evaluate(out).density_cost < model.evaluate(start).density_cost / 2
    again = place_soft_macros(nl, start, CANVAS, SPREAD_ONLY, use_current_loc=True)
    assert again.equals(out)


def test_density_stage_settings_are_checked():
    with pytest.raises(ValueError):
        DensityStage(target_density=0.0)
    with pytest.raises(ValueError):
        DensityStage(weight_growth=0.5)
    with pytest.raises(ValueError):
        DensityStage(bins=1)


@pytest.mark.slow
def test_electrostatic_schedule_comes_within_ten_percent_of_the_reference_clusters(ariane):
    # Ariane133 with the hard macros of legalized.plc: the clusters' own positions in the file
    # (a commercial placer's) against FD from the canvas centre, weights 1 / 0.5 / 0.5.
    nl, fp = ariane.netlist, ariane.floorplan
    model, weights = CostModel(nl, fp), CostWeights(1.0, 0.5, 0.5)
    reference = model.evaluate(ariane.placement, weights).proxy_cost
    out = place_soft_macros(nl, ariane.placement, fp, FDSchedule.electrostatic())
    others = np.setdiff1d(np.arange(nl.n_nodes), movable_soft_macros(nl, ariane.placement))
    assert np.array_equal(out.x[others], ariane.placement.x[others])
    proxy = model.evaluate(out, weights).proxy_cost
    assert proxy <= 1.10 * reference
    assert proxy < model.evaluate(place_soft_macros(nl, ariane.placement, fp), weights).proxy_cost
