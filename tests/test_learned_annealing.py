"""Learned annealing: the steerable run, the control environment, the controller's training and use."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
import torch as th
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import SubprocVecEnv
from test_env import hard_macro_violations

from envs import AnnealControlEnv
from envs.anneal_env import ACTION_SIZE, make_anneal_env, move_mix
from netlists.synthetic import SyntheticSpec, generate
from placer.agent.annealing import (
    ControllerSettings,
    LearnedController,
    bundled_controller,
    learned_anneal,
    prior_controller,
    train_controller,
)
from placer.agent.placing import bundled_checkpoint, learned_place
from placer.agent.training import closing_workers, latest_checkpoint
from placer.baselines import (
    AnnealRun,
    AnnealSettings,
    FlowSettings,
    MoveMix,
    analytic_start,
    anneal,
    place,
    polish_settings,
)
from placer.baselines.annealing import FEATURES, MOVES
from placer.cost import CostModel

SMALL = SyntheticSpec(hard_macros=8, soft_macros=30, ports=12, max_grid=16, seed=4)
FOUR_BLOCKS = AnnealSettings(decisions=4, fd_every=4000)
TINY = ControllerSettings(n_envs=1, moves_per_node=(20.0, 30.0), max_moves=2048, n_steps=8, batch_size=8,
                          n_epochs=1, checkpoint_every=8, device="cpu")  # fmt: skip


@pytest.fixture(scope="module")
def small():
    design = generate(SMALL)
    start = place(design, "greedy").placement
    return design, CostModel(design.netlist, design.floorplan), start


def test_the_zero_action_is_annealings_own_settings_and_actions_are_clipped():
    settings = AnnealSettings()
    zero = move_mix(np.zeros(ACTION_SIZE), settings)
    expected = np.array(settings.move_probabilities) / sum(settings.move_probabilities)
    assert np.allclose(zero.probabilities, expected, rtol=1e-12)
    assert (zero.temperature_scale, zero.radius_scale, zero.nudge_scale) == (1.0, 1.0, 1.0)
    wild = move_mix(np.array([50.0, np.nan, -np.inf, 0, 0, 1, 7, -3, np.nan]), settings)
    assert wild == move_mix(np.array([1.0, 0, -1, 0, 0, 1, 1, -1, 0]), settings)
    assert math.isclose(wild.temperature_scale, 10.0) and math.isclose(wild.radius_scale, 0.25)
    no_shuffle = AnnealSettings(move_probabilities=(0.2, 0.2, 0.1, 0.2, 0.0, 0.3))
    assert move_mix(np.ones(ACTION_SIZE), no_shuffle).probabilities[4] == 0.0  # a move turned off stays off


def test_a_run_steered_by_annealings_own_mix_is_the_plain_run(small):
    _, model, start = small
    plain = anneal(model, start, moves=6000, seed=5, settings=FOUR_BLOCKS)
    seen = []

    def own_mix(features):
        seen.append(features)
        return MoveMix(FOUR_BLOCKS.move_probabilities)

    steered = anneal(model, start, moves=6000, seed=5, settings=FOUR_BLOCKS, controller=own_mix)
    assert len(seen) == FOUR_BLOCKS.decisions
    assert steered.moves == plain.moves and steered.accepted == plain.accepted
    assert math.isclose(steered.report.proxy_cost, plain.report.proxy_cost, rel_tol=1e-12)


def test_a_different_mix_changes_the_run_and_it_stays_legal(small):
    design, model, start = small
    plain = anneal(model, start, moves=6000, seed=5, settings=FOUR_BLOCKS)
    cold_hard_moves = MoveMix((0.25, 0.25, 0.0, 0.25, 0.25, 0.0), temperature_scale=0.1)
    hard_only = anneal(model, start, moves=6000, seed=5, settings=FOUR_BLOCKS, controller=lambda f: cold_hard_moves)
    assert hard_only.report.proxy_cost != plain.report.proxy_cost
    assert hard_only.report.proxy_cost <= model.evaluate(hard_only.placement).proxy_cost + 1e-12
    assert hard_macro_violations(design, hard_only.placement) == []


def test_features_count_each_move_types_proposals_acceptance_and_gain(small):
    _, model, start = small
    run = AnnealRun(model, start, moves=4096, seed=1, settings=FOUR_BLOCKS)
    assert run.features().shape == (len(FEATURES),)
    run.set_mix(MoveMix((0, 0, 0, 0, 0, 1.0)))  # soft-macro nudges only
    run.advance(0.5)
    features = dict(zip(FEATURES, run.features(), strict=True))
    assert features["fraction"] == pytest.approx(0.5, abs=0.07)
    assert features["accepted_soft"] > 0 and features["illegal_soft"] == 0
    assert all(features[f"{stat}_{move}"] == 0 for stat in ("accepted", "illegal", "gain") for move in MOVES[:5])
    assert features["gain_soft"] > 0  # nudges lowered the cost overall
    run.set_mix(MoveMix((0, 0, 0, 1.0, 0, 0)))  # hard macros anywhere: on a packed canvas, often illegal
    run.advance(1.0)
    features = dict(zip(FEATURES, run.features(), strict=True))
    assert run.finished and features["illegal_move"] > 0 and features["accepted_soft"] == 0
    assert np.all(np.abs(run.features()) <= 1)


def test_the_control_environment_passes_both_checkers_and_never_raises_on_bad_actions(small):
    design, _, _ = small
    env = AnnealControlEnv([design], moves_per_node=(1.0, 2.0), settings=FOUR_BLOCKS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)
        sb3_check_env(env)
    observation, info = env.reset(seed=3)
    assert env.observation_space.contains(observation) and info["moves"] == FOUR_BLOCKS.decisions * 256
    total, steps = 0.0, 0
    for action in (np.full(ACTION_SIZE, np.nan), np.full(ACTION_SIZE, 9.0), -np.ones(ACTION_SIZE), np.zeros(9)):
        observation, reward, terminated, truncated, info = env.step(action)
        total, steps = total + reward, steps + 1
        assert env.observation_space.contains(observation) and not truncated
    assert terminated and steps == FOUR_BLOCKS.decisions
    assert total == pytest.approx(info["gain_percent"], abs=1e-9)  # the return is the run's gain
    assert info["gain_percent"] >= 0


def test_the_analytic_start_is_the_flows_and_its_run_is_the_flows_polish(small):
    design, model, _ = small
    flow = analytic_start(model, design.placement)
    assert [s.proxy_cost for s in flow.stages] == [
        s.proxy_cost for s in place(design, "analytic", moves=512).stages[:3]
    ]
    env = AnnealControlEnv([design], moves_per_node=(40.0, 40.0), settings=FOUR_BLOCKS, start="analytic")
    _, info = env.reset(seed=2)
    terminated = False
    while not terminated:
        _, _, terminated, _, step = env.step(np.zeros(ACTION_SIZE))
    own = MoveMix(FOUR_BLOCKS.move_probabilities)
    polish = anneal(model, flow.placement, moves=info["moves"], seed=info["seed"],
                    settings=polish_settings(FOUR_BLOCKS, FlowSettings()), controller=lambda f: own)  # fmt: skip
    assert step["proxy_cost"] == pytest.approx(polish.report.proxy_cost, rel=1e-12)
    greedy = anneal(model, flow.placement, moves=info["moves"], seed=info["seed"], settings=FOUR_BLOCKS,
                    controller=lambda f: own)  # fmt: skip
    assert greedy.report.proxy_cost != polish.report.proxy_cost  # the flow's colder start is what the env plays
    with pytest.raises(ValueError, match="start"):
        AnnealControlEnv([design], start="policy")


def test_training_runs_checkpoints_and_resumes_from_its_newest_checkpoint(small, tmp_path):
    design, _, _ = small
    final = train_controller([design], 16, tmp_path, TINY, progress_bar=False)
    assert final.is_file() and latest_checkpoint(tmp_path).name == "step_16.zip"
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["steps"] == 16 and record["command"] == "anneal"
    first = LearnedController(final).model
    again = train_controller([design], 24, tmp_path, TINY, resume=True, progress_bar=False)
    resumed = LearnedController(again).model
    assert resumed.num_timesteps == 24
    assert json.loads((tmp_path / "run.json").read_text())["resumed_from"] == "step_16.zip"
    changed = [not th.equal(a, b) for a, b in zip(first.policy.parameters(), resumed.policy.parameters(), strict=True)]
    assert any(changed)  # the resumed run trained on from there
    whole = LearnedController(train_controller([design], 24, tmp_path / "whole", TINY, progress_bar=False)).model
    assert (whole.num_timesteps, whole._n_updates) == (resumed.num_timesteps, resumed._n_updates)
    for a, b in zip(whole.policy.parameters(), resumed.policy.parameters(), strict=True):
        assert th.equal(a, b), "resumed, it ends as the run that never stopped"


def test_a_run_started_from_a_controller_has_its_weights_and_this_runs_settings(small, tmp_path):
    design, _, _ = small
    warm = train_controller([design], 8, tmp_path / "a", TINY, progress_bar=False)
    source = LearnedController(warm).model
    other = dataclasses.replace(TINY, learning_rate=1e-3, n_steps=16, batch_size=16, seed=5)
    final = train_controller([design], 0, tmp_path / "b", other, start_from=warm, progress_bar=False)
    started = LearnedController(final).model
    assert started.num_timesteps == 0 and (started.n_steps, started.batch_size, started.seed) == (16, 16, 5)
    assert started.learning_rate == 1e-3
    for a, b in zip(source.policy.parameters(), started.policy.parameters(), strict=True):
        assert th.equal(a, b)
    record = json.loads((tmp_path / "b" / "run.json").read_text())
    assert record["start_from"] == str(warm) and record["steps"] == 0
    trained = LearnedController(train_controller([design], 16, tmp_path / "c", other, start_from=warm,
                                                 progress_bar=False)).model  # fmt: skip
    assert trained.num_timesteps == 16 and trained._n_updates == source._n_updates + 1  # one rollout of 16, one epoch


def test_an_interrupt_between_two_workers_replies_ends_the_workers_instead_of_waiting_forever(small):
    design, _, _ = small
    quick = {"moves_per_node": (1.0, 1.0), "settings": FOUR_BLOCKS}
    slow = {"moves_per_node": (5e5, 5e5), "max_moves": 10**8, "settings": FOUR_BLOCKS}  # a block of many seconds
    vec_env = SubprocVecEnv([functools.partial(make_anneal_env, [design], quick),
                             functools.partial(make_anneal_env, [design], slow)])  # fmt: skip
    vec_env.reset()
    outcome = []

    def interrupted_mid_step() -> None:
        try:
            with closing_workers(vec_env):
                vec_env.step_async(np.zeros((2, ACTION_SIZE)))
                vec_env.remotes[0].recv()  # the quick worker's reply is read, the slow one's is not
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            outcome.append("interrupted")

    began = time.perf_counter()
    thread = threading.Thread(target=interrupted_mid_step, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert outcome == ["interrupted"], "closing the workers waited on a reply that never comes"
    assert vec_env.closed and not any(process.is_alive() for process in vec_env.processes)
    assert time.perf_counter() - began < 10


def test_the_prior_controller_is_near_annealings_settings():
    mix = prior_controller()(np.zeros(len(FEATURES), dtype=np.float32))
    expected = np.array(AnnealSettings().move_probabilities) / sum(AnnealSettings().move_probabilities)
    assert np.allclose(mix.probabilities, expected, atol=0.02)
    assert mix.temperature_scale == pytest.approx(1.0, abs=0.1)


def test_learned_annealing_with_the_bundled_controller_places_legally_on_the_cpu_clock(small):
    design, model, start = small
    controller = LearnedController(bundled_controller())
    began = time.process_time()
    result = learned_anneal(model, start, controller=controller, seconds=1.0, seed=2, clock=time.process_time)
    assert time.process_time() - began < 3.0
    assert len(controller.mixes) == AnnealSettings().decisions
    assert hard_macro_violations(design, result.placement) == []
    assert result.report.proxy_cost <= model.evaluate(start).proxy_cost + 1e-12


def test_learned_place_from_the_analytic_start_steers_the_flows_polish(small):
    design, model, _ = small
    seen = []

    def cold_soft(features):
        seen.append(features)
        return MoveMix((0.05, 0.05, 0.0, 0.05, 0.05, 0.8), temperature_scale=0.2)

    plain = place(design, "analytic", moves=4000, seed=3)
    steered = learned_place(design, moves=4000, seed=3, controller=cold_soft)
    assert steered.method == "analytic+learned-sa" and len(seen) == AnnealSettings().decisions
    assert [s.name for s in steered.stages] == ["global", "legalize", "soft", "polish"]
    assert [s.proxy_cost for s in steered.stages[:3]] == [s.proxy_cost for s in plain.stages[:3]]  # the same start
    assert steered.report.proxy_cost != plain.report.proxy_cost  # then the controller's moves
    assert steered.report.proxy_cost == pytest.approx(model.evaluate(steered.placement).proxy_cost, abs=1e-12)
    assert hard_macro_violations(design, steered.placement) == []
    with pytest.raises(ValueError, match="start"):
        learned_place(design, moves=4000, start="greedy")
    with pytest.raises(ValueError, match="fine-tuning"):
        learned_place(design, moves=4000, finetune_steps=8)
    with pytest.raises(ValueError, match="checkpoint"):
        learned_place(design, bundled_checkpoint(), moves=4000)


def test_each_start_plays_the_bundled_controller_trained_from_it(small, monkeypatch):
    from placer.agent import annealing

    greedy, analytic = bundled_controller("greedy"), bundled_controller("analytic")
    assert greedy != analytic and greedy.read_bytes() != analytic.read_bytes()
    with pytest.raises(ValueError, match="unknown start"):
        bundled_controller("policy")
    asked = []
    real = annealing.bundled_controller
    monkeypatch.setattr(annealing, "bundled_controller", lambda start="greedy": asked.append(start) or real(start))
    design, _, _ = small
    learned_place(design, moves=600, seed=1)
    learned_place(design, moves=600, seed=1, start="policy", samples=1)
    assert asked == ["analytic", "greedy"]


def test_train_py_anneal_end_to_end_and_a_bad_design_name_in_one_line(tmp_path):
    command = [sys.executable, "train.py", "anneal", "--designs", "synthetic:3", "--timesteps", "8", "--n-steps", "8",
               "--envs", "1", "--moves-per-node", "1", "2", "--device", "cpu", "--no-progress", "--start", "analytic",
               "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "final.zip").is_file()
    assert json.loads((tmp_path / "run.json").read_text())["settings"]["start"] == "analytic"
    bad = subprocess.run([*command[:4], "synthetic:x", *command[5:]], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "synthetic:x" in bad.stderr
