"""Dead ends: the room rule of sequential placement, macro legalisation, and crowded designs placed legally."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from random_designs import centre_pin_netlist, hard_macro_violations

from envs import MacroPlacementEnv
from netlists import Design, Floorplan, NodeKind, Placement, synthetic
from placer.agent.placing import policy_place
from placer.baselines import METHODS, FlowSettings, place
from placer.cost import CostModel
from placer.fd import FDSchedule
from placer.gridding import gridded
from placer.legality import SCANS, PackingError, cell_centre, cell_centres, legal_cells, obstacle_boxes
from placer.legalize import legalize
from placer.sequential import SequentialPlacer, placement_order

FAST = {"fd_schedule": None, "flow_settings": FlowSettings(max_iterations=100)}  # legality, not quality


def quadrants(n_macros: int = 4, side: float = 50.0) -> Design:
    """Macros of ``side`` on a 100 x 100 canvas (10 x 10 grid), each wired to a port at the centre.

    Four of 50 fit, one per quadrant; a macro at the centre leaves no room for the others.
    """
    netlist = centre_pin_netlist("quadrants", [f"m{i}" for i in range(n_macros)] + ["centre"],
                                 [NodeKind.HARD_MACRO] * n_macros + [NodeKind.PORT], [side] * n_macros + [0.0],
                                 [side] * n_macros + [0.0], [[n_macros, m] for m in range(n_macros)])  # fmt: skip
    placement = Placement.unplaced(n_macros + 1)
    placement.x[n_macros] = placement.y[n_macros] = 50.0
    placement.fixed[n_macros] = True
    return Design(netlist, Floorplan(100.0, 100.0, 10, 10), placement)


def test_a_cell_that_leaves_no_room_is_told_apart_from_one_that_does():
    design = quadrants()
    placer = SequentialPlacer(CostModel(design.netlist, design.floorplan), design.placement,
                              placement_order(design.netlist, design.placement))  # fmt: skip
    centre, corner = 4 * 10 + 4, 2 * 10 + 2  # centres (45, 45) and (25, 25)
    assert placer.legal_mask().flat[centre] and placer.legal_mask().flat[corner]
    assert not placer.leaves_room(centre) and placer.leaves_room(corner)


def test_legalize_moves_overlapping_macros_to_the_nearest_cells_that_keep_room():
    design = quadrants()
    stacked = design.placement.copy()
    stacked.x[:4] = stacked.y[:4] = 45.0  # all four on the centre cell
    result = legalize(design.netlist, design.floorplan, stacked)
    assert hard_macro_violations(design, result.placement) == []
    centres = sorted(zip(result.placement.x[:4], result.placement.y[:4], strict=True))
    assert centres == [(25.0, 25.0), (25.0, 75.0), (75.0, 25.0), (75.0, 75.0)]
    assert result.moved == 4 and result.max_displacement == pytest.approx(np.hypot(30, 30))
    # Largest first, ties in netlist order: (25, 25), then (75, 25) and (25, 75) (ties to the lower cell), (75, 75).
    assert result.total_displacement == pytest.approx(np.hypot(20, 20) + 2 * np.hypot(30, 20) + np.hypot(30, 30))
    assert (result.placement.x[4], result.placement.y[4]) == (50.0, 50.0), "the port stays"


def test_legalize_leaves_a_legal_placement_alone_and_finds_the_nearest_legal_cell():
    design = synthetic.by_name("synthetic:3")
    greedy = place(design, "greedy", **FAST).placement
    kept = legalize(design.netlist, design.floorplan, greedy)
    assert kept.moved == 0 and kept.total_displacement == 0.0
    np.testing.assert_array_equal(kept.placement.x, greedy.x)
    # Move the smallest macro onto the largest: it goes to the legal cell nearest to where it was put.
    nl, fp = design.netlist, design.floorplan
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    small, big = hard[np.argmin(nl.node_area[hard])], hard[np.argmax(nl.node_area[hard])]
    moved = greedy.copy()
    moved.x[small], moved.y[small] = greedy.x[big], greedy.y[big]
    result = legalize(nl, fp, moved)
    others = hard[hard != small]
    obstacles = obstacle_boxes(fp, greedy.x[others], greedy.y[others], nl.node_width[others], nl.node_height[others])
    free = legal_cells(fp, nl.node_width[small], nl.node_height[small], obstacles)
    xs, ys = cell_centres(fp)
    distance = np.where(free, np.hypot(xs[None, :] - greedy.x[big], ys[:, None] - greedy.y[big]), np.inf)
    assert result.moved == 1 and hard_macro_violations(design, result.placement) == []
    assert result.total_displacement == pytest.approx(distance.min())


def test_macros_that_do_not_pack_are_refused_in_one_line():
    design = quadrants(n_macros=3, side=60.0)  # each fits alone, no two together
    with pytest.raises(PackingError, match="no legal cell for m1 on the 10 x 10 grid"):
        legalize(design.netlist, design.floorplan, design.placement)


def test_the_environment_offers_only_cells_that_leave_room():
    env = MacroPlacementEnv(quadrants(), max_grid=16, fd_schedule=None)
    obs, _ = env.reset(seed=0)
    centre, corner = 4 * 10 + 4, 2 * 10 + 2
    placer = env._placer
    assert placer.legal_mask().flat[centre] and not placer.room_mask().flat[centre] and placer.room_mask().flat[corner]
    mask = env.action_masks()
    assert not mask[env.layout.encode(centre)] and mask[env.layout.encode(corner)]
    seen = obs["maps"][(5, *env.layout.window)] > 0
    np.testing.assert_array_equal(seen, placer.room_mask(), "the observation shows the offered cells")
    for seed in range(4):  # any cells the mask offers: no dead end
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)
        while True:
            _, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
            if terminated:
                break
        assert not info["infeasible"] and info["legalized"] == 0 and info["overlap_area"] == 0.0


def test_every_cell_the_room_rule_keeps_has_a_completion():
    design, _ = gridded(synthetic.equal_macros(50, 0.6, seed=1))
    fp = design.floorplan  # a finer grid than chosen: macros span cells, and the free space fragments
    design = dataclasses.replace(design, floorplan=dataclasses.replace(fp, cols=2 * fp.cols, rows=2 * fp.rows))
    model = CostModel(design.netlist, design.floorplan)
    order = placement_order(design.netlist, design.placement)
    rng, dropped = np.random.default_rng(1), 0
    for _ in range(3):
        placer = SequentialPlacer(model, design.placement, order)
        while not placer.done:
            legal, room = placer.legal_mask(), placer.room_mask()
            assert room.any() and not (room & ~legal).any()
            dropped += int(legal.sum() - room.sum())
            rest = np.arange(placer.step + 1, order.size)
            for cell in rng.choice(np.flatnonzero(room), size=min(3, int(room.sum())), replace=False):
                boxes = placer.boxes
                was = boxes.boxes[placer.step].copy()
                boxes.put(placer.step, *cell_centre(design.floorplan, int(cell)))
                completed = any(boxes.pack(rest, scan) is not None for scan in range(SCANS))
                boxes.take(placer.step)
                boxes.boxes[placer.step] = was
                assert completed or int(cell) in placer._checked, "a packing of the rest is known"
            placer.place(int(rng.choice(np.flatnonzero(room))))
    assert dropped > 0, "the rule dropped some cells on this grid"


def test_an_episode_driven_into_a_dead_end_is_legalised_not_lost(monkeypatch):
    # The room rule keeps the centre out; offered anyway (as when first fit finds no packing), it is legalised.
    monkeypatch.setattr(SequentialPlacer, "room_mask", SequentialPlacer.legal_mask)
    env = MacroPlacementEnv(quadrants(), max_grid=16, fd_schedule=None, reward="dense")
    env.reset(seed=0)
    start = env._placer.cost.wirelength_cost
    _, reward, terminated, _, info = env.step(env.layout.encode(4 * 10 + 4))  # the centre: no room for the rest
    assert terminated and not info["infeasible"] and info["legalized"] >= 1 and info["placed"] == 4
    assert hard_macro_violations(env.design, env.placement) == [] and info["overlap_area"] == 0.0
    assert reward == pytest.approx(start - info["proxy_cost"]), "dense rewards still add up to the final cost"


CROWDED = [(count, fill) for count in (50, 120) for fill in (0.4, 0.6)] + [(400, 0.5)]


@pytest.mark.parametrize(("count", "fill"), CROWDED)
@pytest.mark.parametrize("finer", [1.0, 2.3])
def test_crowded_equal_macros_are_placed_legally_by_every_method(count, fill, finer):
    design, choice = gridded(synthetic.equal_macros(count, fill, seed=count))
    if finer > 1:  # a finer grid than chosen: macros span cells, and greedy choices fragment the free space
        fp = design.floorplan
        floorplan = dataclasses.replace(fp, cols=min(int(fp.cols * finer), 128), rows=min(int(fp.rows * finer), 128))
        design = dataclasses.replace(design, floorplan=floorplan)
    for method in METHODS:
        result = place(design, method, moves=200, seed=1, **FAST)
        assert not result.backed_off and hard_macro_violations(design, result.placement) == [], method
    env = MacroPlacementEnv(design, max_grid=128, fd_schedule=None, order="random")
    rng = np.random.default_rng(count)
    obs, _ = env.reset(seed=0)
    while True:
        obs, _, terminated, _, info = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        if terminated:
            break
    assert not info["infeasible"] and info["placed"] == count and info["legalized"] == 0, "no dead end"
    assert hard_macro_violations(design, env.placement) == []
    if count == 50:  # the bundled policy too (its episodes are the environment's)
        result = policy_place(design, samples=2, fd_schedule=FDSchedule.circuit_training())
        assert not result.backed_off and hard_macro_violations(design, result.placement) == []
