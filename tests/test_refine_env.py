"""The refinement environment: exact rewards under Metropolis' rule, exact masks, no exceptions."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs
from envs import REFINE_ENV_ID, RefinePlacementEnv
from netlists import NodeKind
from placer.legality import TOUCH, cell_centre


@pytest.fixture(scope="module")
def small() -> RefinePlacementEnv:
    return RefinePlacementEnv("synthetic:3", moves=300, max_grid=40, max_nodes=400)


def random_moves(env: RefinePlacementEnv, rng: np.random.Generator, seed: int):
    """Random legal picks and targets to the end; yields each step's reward and info."""
    env.reset(seed=seed)
    while True:
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        _, reward, terminated, truncated, info = env.step(action)
        assert not terminated
        yield reward, info
        if truncated:
            return


def test_checkers_pass_and_make_builds_it():
    env = RefinePlacementEnv("toy_macro_stdcell", moves=20, max_grid=32, max_nodes=8)
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(env, warn=False)
    made = gym.make(REFINE_ENV_ID, netlist="toy_macro_stdcell", moves=5, max_grid=32, max_nodes=8)
    assert made.unwrapped.slots.size == 2 and envs.REFINE_ENV_ID == "RefinePlacement-v0"


def test_the_return_is_the_exact_decrease_of_the_cost(small):
    rng = np.random.default_rng(0)
    total, accepted, rejected = 0.0, 0, 0
    before = small.model.evaluate(small.start, small.weights).proxy_cost
    for reward, info in random_moves(small, rng, seed=1):
        total += reward
        if "accepted" in info:
            accepted += info["accepted"]
            rejected += not info["accepted"]
            if not info["accepted"]:
                assert reward == 0.0
    assert accepted > 10 and rejected > 10  # both sides of Metropolis' rule were taken
    after = small.report().proxy_cost  # scored from scratch
    assert after == pytest.approx(info["cost"], abs=1e-12)
    assert total == pytest.approx((before - after) * small.reward_scale, abs=1e-9)
    best, placement = small.best
    assert best <= min(before, after) and small.model.evaluate(placement).proxy_cost == pytest.approx(best, abs=1e-12)


def test_moves_keep_hard_macros_legal_and_targets_match_a_plain_check(small):
    rng = np.random.default_rng(2)
    nl, fp = small.design.netlist, small.design.floorplan
    touch = TOUCH * max(fp.width, fp.height) * 10
    small.reset(seed=4)
    checked = 0
    for _ in range(120):
        mask = small.action_masks()
        if small.picked is not None and small.picked < small.n_hard:
            node = int(small.slots[small.picked])
            placement = small.placement
            others = [int(n) for n in nl.nodes_of(NodeKind.HARD_MACRO) if n != node and placement.is_placed[n]]
            w, h = nl.node_width[node], nl.node_height[node]
            for cell in range(fp.cols * fp.rows):  # plain check of every target cell
                cx, cy = cell_centre(fp, cell)
                inside = cx - w / 2 >= -touch and cy - h / 2 >= -touch
                inside = inside and cx + w / 2 <= fp.width + touch and cy + h / 2 <= fp.height + touch
                clear = all(
                    min(cx + w / 2, placement.x[o] + nl.node_width[o] / 2)
                    - max(cx - w / 2, placement.x[o] - nl.node_width[o] / 2)
                    <= touch
                    or min(cy + h / 2, placement.y[o] + nl.node_height[o] / 2)
                    - max(cy - h / 2, placement.y[o] - nl.node_height[o] / 2)
                    <= touch
                    for o in others
                )
                assert mask[small.layout.encode(cell, 0)] == (inside and clear)
            checked += 1
        picking_hard = small.picked is None and rng.random() < 0.7
        small.step(int(rng.integers(small.n_hard)) if picking_hard else int(rng.choice(np.flatnonzero(mask))))
    assert checked > 20 and small.report().overlap_area == pytest.approx(0.0, abs=1e-9)


def test_any_action_is_taken_without_an_exception_and_an_illegal_one_moves_nothing(small):
    rng = np.random.default_rng(3)
    small.reset(seed=0)
    illegal = 0
    for _ in range(200):
        before = small.placement
        action = int(rng.integers(-5, small.action_space.n + 5))
        obs, reward, _, truncated, info = small.step(action)
        assert small.observation_space.contains(obs)
        if info["illegal"]:
            illegal += 1
            assert reward == 0.0 and small.placement.equals(before)
        if truncated:
            small.reset()
    assert illegal > 50
    small.reset(seed=0)
    for bad in (0.0, "0", None, float("nan"), [0, 1]):  # not one integer: illegal, never rounded or raised on
        before = small.placement
        obs, reward, _, _, info = small.step(bad)
        assert info["illegal"] and reward == 0.0 and small.placement.equals(before)


def test_a_seed_repeats_the_episode(small):
    def play():
        return [(r, i["cost"]) for r, i in random_moves(small, np.random.default_rng(7), seed=11)]

    assert play() == play()


def test_the_temperature_cools_from_annealing_s_start_to_its_final_ratio():
    env = RefinePlacementEnv("synthetic:3", moves=40, max_grid=40, max_nodes=400)
    _, info = env.reset(seed=0)
    start = info["temperature"]
    temperatures = [i["temperature"] for _, i in random_moves(env, np.random.default_rng(0), seed=0)]
    assert start > 0 and all(a >= b for a, b in zip(temperatures, temperatures[1:], strict=False))
    assert temperatures[-1] == pytest.approx(start * env.settings.final_ratio, rel=1e-9)
