"""Force-directed placement of soft macros: hand-computed steps and invariants."""

from __future__ import annotations

import numpy as np
import pytest

import netlists
from netlists import Floorplan, Netlist, NodeKind, Placement
from placer.fd import FDSchedule, movable_soft_macros, place_soft_macros

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
