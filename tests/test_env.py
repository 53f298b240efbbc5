"""The macro placement environment: API conventions, masks, legality, rewards, results."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from random_designs import (
    centre_pin_netlist,
    hard_macro_violations,
    random_floorplan,
    random_netlist,
    random_placement,
)
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs
import netlists
from envs import ENV_ID, MAP_CHANNELS, VECTOR_FEATURES, MacroPlacementEnv
from netlists import Blockage, Design, Floorplan, NodeKind, Orientation, Placement
from placer import cli
from placer.baselines import place

MASK = MAP_CHANNELS.index("mask")
WIRELENGTH = MAP_CHANNELS.index("wirelength")


def random_legal_episode(env, rng: np.random.Generator, seed: int | None = None):
    """Play random legal actions to the end; returns the last step's reward, info and the rewards."""
    obs, _ = env.reset(seed=seed)
    rewards = []
    while True:
        action = int(rng.choice(np.flatnonzero(env.action_masks())))
        obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        assert not truncated
        if terminated:
            return info, rewards


def macros_only(sizes: list[tuple[float, float]], width: float, height: float, cols: int, rows: int) -> Design:
    """Hard macros of the given sizes, each joined to the next by a net, on an empty canvas."""
    n = len(sizes)
    chain = [[i, i + 1] for i in range(n - 1)]
    netlist = centre_pin_netlist("macros", [f"m{i}" for i in range(n)], [NodeKind.HARD_MACRO] * n,
                                 [w for w, _ in sizes], [h for _, h in sizes], chain)  # fmt: skip
    return Design(netlist, Floorplan(width, height, cols, rows), Placement.unplaced(n))


@pytest.fixture(scope="module")
def tiles() -> MacroPlacementEnv:
    return MacroPlacementEnv("macro_tiles_10x10", max_grid=64)


# ------------------------------------------------------------------ conventions
@pytest.mark.parametrize(
    "kwargs",
    [
        {"netlist": "macro_tiles_10x10"},
        {"netlist": "ariane133", "reward": "dense", "orientation": "action", "fd_schedule": "circuit_training"},
        {"netlist": "toy_macro_stdcell", "order": "random", "orientation": "post", "fd_schedule": None},
    ],
)
def test_gymnasium_and_sb3_checkers_pass_without_warnings(kwargs):
    env = gym.make(ENV_ID, render_mode="rgb_array", **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gym_check_env(env.unwrapped, skip_render_check=False)
        sb3_check_env(env.unwrapped, warn=True, skip_render_check=False)
    assert [str(w.message) for w in caught] == []


def test_make_builds_the_env_from_a_bundled_name_and_a_plc(shared_data):
    env = gym.make(ENV_ID, netlist="ariane133", plc="initial", max_grid=32)
    assert isinstance(env.unwrapped, MacroPlacementEnv)
    assert env.unwrapped.design.plc_source.endswith("initial.plc")
    obs, info = env.reset(seed=1)
    assert info["macros"] == 133 and env.observation_space.contains(obs)
    assert obs["maps"].shape == (len(MAP_CHANNELS), 32, 32) and obs["vector"].shape == (len(VECTOR_FEATURES),)


def test_bad_settings_and_designs_are_refused_with_clear_errors():
    with pytest.raises(ValueError, match="unknown reward"):
        MacroPlacementEnv("toy_macro_stdcell", reward="sparse")
    with pytest.raises(ValueError, match="unknown orientation"):
        MacroPlacementEnv("toy_macro_stdcell", orientation="E")
    with pytest.raises(ValueError, match="unknown fd_schedule"):
        MacroPlacementEnv("toy_macro_stdcell", fd_schedule="dreamplace")
    with pytest.raises(ValueError, match="unknown macro order"):
        MacroPlacementEnv("toy_macro_stdcell", order="size")
    with pytest.raises(ValueError, match="does not fit max_grid"):
        MacroPlacementEnv("macro_tiles_10x10", max_grid=16)
    with pytest.raises(ValueError, match=r"does not fit max_grid = 16; synthetic:3@16 draws it to fit"):
        MacroPlacementEnv("synthetic:3", max_grid=16)  # one name, one design: its 24 x 26 grid, whatever the map
    assert max(MacroPlacementEnv("synthetic:3@16", max_grid=16, fd_schedule=None).layout.rows, 16) == 16
    one_hard = netlists.load("ariane_one_hard")  # no .plc: on the default 10 x 10 grid its macro fits no cell
    with pytest.raises(ValueError, match="fits nowhere"):
        MacroPlacementEnv(one_hard)
    MacroPlacementEnv("ariane_one_hard")  # loaded by name, it gets a grid chosen for it, where it fits
    with pytest.raises(ValueError, match="no movable hard macro"):
        MacroPlacementEnv("sample_clustered_nomacro")


# ------------------------------------------------------------------ masks and legality
def test_the_mask_is_the_legal_cells_embedded_and_cached(tiles):
    obs, _ = tiles.reset(seed=0)
    placer = tiles._placer
    mask = tiles.action_masks().reshape(64, 64)
    rows, cols = tiles.observations.window
    assert np.array_equal(mask[rows, cols], placer.legal_mask())
    assert not mask.sum() - mask[rows, cols].sum(), "padding is never legal"
    assert np.array_equal(obs["maps"][MASK] == 255, mask)
    assert tiles.action_masks() is not tiles.action_masks(), "callers get their own copy"
    assert placer.legal_mask() is placer.legal_mask(), "computed once per step"


def test_random_legal_actions_never_overlap_or_leave_the_canvas():
    rng = np.random.default_rng(0)
    outcomes = {"complete": 0, "infeasible": 0, "refused": 0}
    for seed in range(120):
        netlist = random_netlist(rng)
        floorplan = random_floorplan(rng)
        if seed % 3 == 0:  # crowded: a canvas barely bigger than the macros
            floorplan = dataclasses.replace(floorplan, width=float(rng.uniform(30, 70)), height=rng.uniform(30, 70))
        if seed % 4 == 0:
            block = Blockage(
                0.0, 0.0, floorplan.width * rng.uniform(0.1, 0.5), floorplan.height * rng.uniform(0.1, 0.5)
            )
            floorplan = dataclasses.replace(floorplan, blockages=(block,))
        placement = random_placement(rng, netlist, floorplan)
        placement.fixed[:] = rng.random(netlist.n_nodes) < 0.15
        design = Design(netlist, floorplan, placement)
        try:
            env = MacroPlacementEnv(design, max_grid=16, order="random", fd_schedule="circuit_training")
        except ValueError as error:
            assert "fits nowhere" in str(error) or "no movable hard macro" in str(error)
            outcomes["refused"] += 1
            continue
        info, _ = random_legal_episode(env, rng, seed=seed)
        outcomes["infeasible" if info["infeasible"] else "complete"] += 1
        assert hard_macro_violations(design, env.placement) == [], f"seed {seed}"
        if not info["infeasible"]:
            assert info["overlap_area"] < 1e-6 * floorplan.width * floorplan.height
    assert min(outcomes.values()) >= 5, outcomes


def test_ariane_random_episodes_are_legal_and_complete(shared_data):
    env = MacroPlacementEnv("ariane133", fd_schedule=None)
    rng = np.random.default_rng(3)
    for seed in range(3):
        info, _ = random_legal_episode(env, rng, seed)
        assert not info["infeasible"] and info["placed"] == 133
        assert info["overlap_area"] == pytest.approx(0.0, abs=1e-6) and info["outside_area"] == 0.0
        assert hard_macro_violations(env.design, env.placement) == []


def test_an_illegal_action_ends_the_episode_without_an_exception(tiles):
    for bad in (0, tiles.action_space.n - 1, tiles.action_space.n + 5, -3):
        tiles.reset(seed=0)
        assert not tiles.action_masks()[bad] if 0 <= bad < tiles.action_space.n else True
        obs, reward, terminated, truncated, info = tiles.step(bad)
        assert terminated and not truncated and info["infeasible"] and reward == -4.0
        assert tiles.observation_space.contains(obs)
    with pytest.raises(RuntimeError, match="reset"):
        tiles.step(0)


def test_actions_that_are_not_one_integer_are_illegal_not_rounded(tiles):
    tiles.reset(seed=0)
    legal = int(np.flatnonzero(tiles.action_masks())[0])
    for bad in (float(legal), legal + 0.4, np.float32(legal), str(legal), None, math.nan, True, [legal, legal]):
        tiles.reset(seed=0)
        obs, reward, terminated, _, info = tiles.step(bad)
        assert terminated and info["infeasible"] and reward == -4.0 and "not an integer" in info["reason"], bad
        assert tiles.observation_space.contains(obs)
    for good in (np.int64(legal), np.array(legal), np.array([legal])):  # what agents and vector envs pass
        tiles.reset(seed=0)
        assert not tiles.step(good)[4].get("infeasible"), good


def test_running_out_of_room_ends_the_episode_as_infeasible():
    # Each 60 x 60 macro fits on the 100 x 100 canvas alone, never two of them.
    env = MacroPlacementEnv(macros_only([(60, 60)] * 3, 100.0, 100.0, 10, 10), infeasible_penalty=2.5, max_grid=16)
    env.reset(seed=0)
    obs, reward, terminated, _, info = env.step(int(np.flatnonzero(env.action_masks())[0]))
    assert terminated and info["infeasible"] and info["placed"] == 1 and reward == -2.5
    assert "no legal cell" in info["reason"]


# ------------------------------------------------------------------ rewards and results
def test_terminal_reward_is_minus_the_final_proxy_cost_and_matches_placer_eval(tmp_path, capsys, shared_data):
    env = MacroPlacementEnv("ariane133")
    info, rewards = random_legal_episode(env, np.random.default_rng(1), seed=1)
    assert rewards[:-1] == [0.0] * 132 and rewards[-1] == -info["proxy_cost"]
    env.write_plc(tmp_path / "out.plc")
    assert cli.main(["eval", "ariane133", "--plc", str(tmp_path / "out.plc"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    for key in ("proxy_cost", "wirelength_cost", "density_cost", "congestion_cost"):
        assert evaluated[key] == pytest.approx(info[key], rel=1e-12), key
    assert env.report is not None and env.report.proxy_cost == info["proxy_cost"]


def test_dense_rewards_sum_to_minus_the_final_cost_plus_the_starting_wirelength(tiles):
    env = MacroPlacementEnv("ariane133", reward="dense", orientation="post", fd_schedule="circuit_training")
    obs, _ = env.reset(seed=0)
    start = env._placer.cost.wirelength_cost
    assert obs["vector"][VECTOR_FEATURES.index("wirelength_cost")] == pytest.approx(start, rel=1e-6)
    info, rewards = random_legal_episode(env, np.random.default_rng(2))
    assert sum(rewards) == pytest.approx(start - info["proxy_cost"], rel=1e-9)
    assert all(r <= 1e-12 for r in rewards[:-1]), "placing a macro never shortens wires"


def test_a_step_reward_is_the_wirelength_cost_increase_shown_in_the_map(tiles):
    env = MacroPlacementEnv("macro_tiles_10x10", reward="dense", max_grid=64)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(4)
    for _ in range(30):
        placer = env._placer
        increments = placer.wirelength_increments()
        legal = np.flatnonzero(env.action_masks())
        action = int(rng.choice(legal))
        row, col = divmod(action, 64)
        cell = (row - env.layout.row0, col - env.layout.col0)
        expected = -increments[cell] / env.model.wirelength_norm
        low, high = increments.min(), increments.max()
        if high > low:  # the map shows the increase, scaled to 0..255 over the grid
            shown = obs["maps"][WIRELENGTH][row, col]
            assert abs(int(shown) - 255 * (increments[cell] - low) / (high - low)) <= 0.5 + 1e-9
        obs, reward, terminated, _, _ = env.step(action)
        assert reward == pytest.approx(expected, rel=1e-9, abs=1e-15)
        if terminated:
            break


def test_reset_with_a_seed_repeats_the_episode():
    def play(seed):
        env = MacroPlacementEnv("toy_macro_stdcell", order="random", fd_schedule="circuit_training", max_grid=32)
        info, rewards = random_legal_episode(env, np.random.default_rng(9), seed=seed)
        return env._placer.order.tolist(), rewards, env.placement

    a, b = play(5), play(5)
    assert a[0] == b[0] and a[1] == b[1] and a[2].equals(b[2])


def test_orientation_in_the_action_picks_the_flip(tiles):
    env = MacroPlacementEnv("toy_macro_stdcell", orientation="action", max_grid=32)
    env.reset(seed=0)
    cells = 32 * 32
    assert env.action_space.n == 4 * cells
    mask = env.action_masks()
    assert np.array_equal(mask[:cells], mask[3 * cells :])
    node = env._placer.current
    env.step(3 * cells + int(np.flatnonzero(mask[:cells])[0]))
    assert env.placement.orientation[node] == Orientation.FS


def test_post_pass_orientation_never_makes_the_cost_worse():
    results = {}
    for mode in ("fixed", "post"):
        env = MacroPlacementEnv("ariane133", orientation=mode, fd_schedule=None)
        info, _ = random_legal_episode(env, np.random.default_rng(6), seed=0)
        results[mode] = info["proxy_cost"]
    assert results["post"] <= results["fixed"]


def test_observations_are_compact_and_in_their_space(tiles):
    obs, _ = tiles.reset(seed=3)
    assert obs["maps"].dtype == np.uint8 and obs["vector"].dtype == np.float32
    rows, cols = tiles.observations.window
    assert (obs["maps"][0][rows, cols] == 255).all() and obs["maps"][0].sum() == 255 * 400
    rng = np.random.default_rng(0)
    for _ in range(20):
        obs, *_ = tiles.step(int(rng.choice(np.flatnonzero(tiles.action_masks()))))
        assert tiles.observation_space.contains(obs)
    assert obs["vector"][VECTOR_FEATURES.index("placed_fraction")] == pytest.approx(0.2)
    occupancy = obs["maps"][MAP_CHANNELS.index("occupancy")][rows, cols] / 255
    fp, nl = tiles.design.floorplan, tiles.design.netlist
    placed_area = nl.node_area[tiles._placer.order[:20]].sum()
    assert occupancy.sum() * fp.cell_width * fp.cell_height == pytest.approx(placed_area, rel=0.01)


def test_placed_area_stays_true_over_episodes_of_random_orders():
    # Each episode draws a new order; the placed-area feature must follow that order's areas.
    env = MacroPlacementEnv("synthetic:3", order="random", fd_schedule=None)
    area, index = env.design.netlist.node_area, VECTOR_FEATURES.index("placed_area_fraction")
    rng = np.random.default_rng(1)
    orders = []
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        order = env.macro_order
        orders.append(order.tolist())
        for step in range(order.size):
            want = area[order[:step]].sum() / area[order].sum()
            assert obs["vector"][index] == pytest.approx(want, abs=1e-6)
            obs, _, terminated, _, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
            if terminated:
                break
    assert len({tuple(o) for o in orders}) > 1


# ------------------------------------------------------------------ rendering
def test_render_gives_an_rgb_frame_and_a_human_window():
    env = MacroPlacementEnv("toy_macro_stdcell", render_mode="rgb_array", render_size=200, max_grid=32)
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (100, 200, 3)
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    assert not np.array_equal(env.render(), frame), "a placed macro shows"
    human = MacroPlacementEnv("toy_macro_stdcell", render_mode="human", max_grid=32)
    human.reset(seed=0)
    assert human.render() is None
    human.close()


# ------------------------------------------------------------------ with sb3-contrib
@pytest.mark.slow
def test_maskable_ppo_trains_on_a_subproc_vec_env_of_different_designs():
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks
    from stable_baselines3.common.vec_env import SubprocVecEnv

    designs = ["macro_tiles_10x10", "toy_macro_stdcell", "ariane133", "simple_with_coords"]
    factories = [functools.partial(MacroPlacementEnv, d, max_grid=40, fd_schedule="circuit_training") for d in designs]
    vec_env = SubprocVecEnv(factories)
    try:
        model = MaskablePPO("MultiInputPolicy", vec_env, n_steps=64, batch_size=64, n_epochs=1, seed=0, device="cpu")
        model.learn(total_timesteps=256)
        assert model.num_timesteps >= 256
        obs = vec_env.reset()
        finished = 0
        for _ in range(150):
            masks = get_action_masks(vec_env)
            actions, _ = model.predict(obs, action_masks=masks)
            assert all(masks[i, a] for i, a in enumerate(actions)), "the policy picked a masked cell"
            obs, rewards, dones, infos = vec_env.step(actions)
            for done, info in zip(dones, infos, strict=True):
                if done:
                    finished += 1
                    assert not info["infeasible"] and info["overlap_area"] < 1e-6
        assert finished >= 3
    finally:
        vec_env.close()
    assert envs.ENV_ID in gym.registry


def clusters_shuffled(design: Design, seed: int) -> Design:
    """``design`` with its soft macros' spots dealt out again among them (a different reference answer)."""
    soft = design.netlist.nodes_of(NodeKind.SOFT_MACRO)
    shuffled = design.placement.copy()
    order = np.random.default_rng(seed).permutation(soft.size)
    shuffled.x[soft], shuffled.y[soft] = design.placement.x[soft][order], design.placement.y[soft][order]
    return dataclasses.replace(design, placement=shuffled)


def test_by_default_an_episode_sees_nothing_of_the_files_soft_macro_positions():
    design = netlists.load("ariane133")
    moved = clusters_shuffled(design, 0)

    def first_steps(source: Design, soft_start: str | None) -> list[dict[str, np.ndarray]]:
        option = {} if soft_start is None else {"soft_start": soft_start}
        env = MacroPlacementEnv(source, max_grid=32, fd_schedule=None, **option)
        seen = [env.reset(seed=0)[0]]
        for _ in range(4):
            seen.append(env.step(int(np.flatnonzero(env.action_masks())[0]))[0])
        return seen

    def same(a: list[dict[str, np.ndarray]], b: list[dict[str, np.ndarray]]) -> bool:
        return all(np.array_equal(x[key], y[key]) for x, y in zip(a, b, strict=True) for key in x)

    assert same(first_steps(design, None), first_steps(moved, None))
    assert same(first_steps(design, "fd"), first_steps(design, None)), "fd is the default"
    assert not same(first_steps(design, "file"), first_steps(moved, "file")), "the option shows the file's positions"
    with pytest.raises(ValueError, match="unknown soft_start"):
        MacroPlacementEnv(design, max_grid=32, fd_schedule=None, soft_start="reference")


def test_greedy_places_the_same_whatever_the_files_soft_macro_positions_unless_asked_to_start_there():
    design = netlists.load("ariane133")
    moved = clusters_shuffled(design, 1)
    a, b = (place(d, "greedy") for d in (design, moved))
    assert np.array_equal(a.placement.x, b.placement.x) and a.report.proxy_cost == b.report.proxy_cost
    c, d = (place(d, "greedy", soft_start="file") for d in (design, moved))
    assert c.report.proxy_cost != d.report.proxy_cost, "with soft_start='file' the file's positions count"
