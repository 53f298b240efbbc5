"""The soft-macro stage: FD, then soft-macro nudges on the exact cost, the best visited kept."""

from __future__ import annotations

import numpy as np
import pytest

import netlists
from envs import MacroPlacementEnv
from netlists import NodeKind
from placer.baselines import SoftStage, finish_soft_macros, place
from placer.cost import CostModel
from placer.fd import FDSchedule, place_soft_macros


@pytest.fixture(scope="module")
def greedy():
    design = netlists.load("ariane133")
    return design, CostModel(design.netlist, design.floorplan), place(design, "greedy").placement


def test_the_stage_returns_the_best_placement_it_visited_never_costlier_than_fd(greedy):
    design, model, placement = greedy
    stage = finish_soft_macros(model, placement, SoftStage(moves=3000), seed=1)
    fd = place_soft_macros(design.netlist, placement, design.floorplan, FDSchedule.electrostatic())
    assert stage.fd_cost == pytest.approx(model.evaluate(fd).proxy_cost, abs=1e-12)
    assert stage.report.proxy_cost < stage.fd_cost, "3,000 nudges after FD find something cheaper"
    assert stage.report.proxy_cost == pytest.approx(model.evaluate(stage.placement).proxy_cost, abs=1e-12)
    hard = design.netlist.nodes_of(NodeKind.HARD_MACRO, NodeKind.PORT)
    assert np.array_equal(stage.placement.x[hard], placement.x[hard]), "only soft macros move"
    assert np.array_equal(stage.placement.orientation[hard], placement.orientation[hard])
    # at a temperature where nearly every uphill nudge is accepted the run wanders; the best is kept
    hot = finish_soft_macros(model, placement, SoftStage(moves=300, initial_acceptance=0.99, final_ratio=1.0))
    assert hot.report.proxy_cost <= hot.fd_cost


def test_the_stage_repeats_for_a_seed_and_reads_nothing_of_the_soft_macros_positions(greedy):
    design, model, placement = greedy
    soft = design.netlist.nodes_of(NodeKind.SOFT_MACRO)
    moved = placement.copy()
    moved.x[soft], moved.y[soft] = moved.x[soft][::-1], moved.y[soft][::-1]
    a, b = (finish_soft_macros(model, p, SoftStage(moves=500), seed=3) for p in (placement, moved))
    assert a.report.proxy_cost == b.report.proxy_cost and np.array_equal(a.placement.x, b.placement.x)
    fd_only = finish_soft_macros(model, placement)
    assert fd_only.report.proxy_cost == fd_only.fd_cost
    with pytest.raises(ValueError, match="moves >= 0"):
        SoftStage(moves=-1)


def test_greedy_and_the_environment_end_with_the_stage():
    design = netlists.load("ariane133")
    fd, staged = place(design, "greedy"), place(design, "greedy", soft_stage=SoftStage(moves=2000))
    assert staged.report.proxy_cost < fd.report.proxy_cost
    assert staged.details["fd_proxy_cost"] == pytest.approx(fd.report.proxy_cost, abs=1e-12)

    def episode(soft_moves: int) -> dict:
        env = MacroPlacementEnv(design, max_grid=32, soft_moves=soft_moves)
        env.reset(seed=0)
        while True:
            _, _, terminated, _, info = env.step(int(np.flatnonzero(env.action_masks())[0]))
            if terminated:
                return info

    plain, finished = episode(0), episode(2000)
    assert finished["proxy_cost"] < plain["proxy_cost"] and finished["soft_macro_s"] > 0
    with pytest.raises(ValueError, match="needs an fd_schedule"):
        MacroPlacementEnv(design, max_grid=32, fd_schedule=None, soft_moves=10)
