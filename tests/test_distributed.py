"""Rollout workers on Ray: the same environments step as on SubprocVecEnv, and training gives the same policy.

Skipped without the ``ray`` extra. One local Ray with 2 CPUs serves the module.
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from placer.agent.distributed import LOCAL, RayVecEnv, connect
from placer.agent.policy import SavedPolicy
from placer.agent.training import TrainSettings, _make_env, train

ray = pytest.importorskip("ray")

DESIGNS = ["synthetic:3@16", "synthetic:4@16", "synthetic:5@16"]
KWARGS = {"max_grid": 16, "reward": "dense", "fd_schedule": "circuit_training", "soft_start": "file"}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    connect(LOCAL, num_cpus=2)
    yield
    ray.shutdown()


def factories(n: int) -> list:
    return [functools.partial(_make_env, DESIGNS[k::n] or DESIGNS, KWARGS) for k in range(n)]


@pytest.mark.parametrize("workers", [1, 2])
def test_ray_workers_step_the_environments_as_one_process_does(workers):
    here, there = DummyVecEnv(factories(3)), RayVecEnv(factories(3), workers=workers)
    try:
        assert len(there.workers) == workers
        here.seed(7), there.seed(7)
        a, b = here.reset(), there.reset()
        rng = np.random.default_rng(0)
        episodes = 0
        for _ in range(80):
            for key in a:
                np.testing.assert_array_equal(a[key], b[key])
            masks = there.env_method("action_masks")
            np.testing.assert_array_equal(np.stack(masks), np.stack(here.env_method("action_masks")))
            actions = np.array([rng.choice(np.flatnonzero(mask)) for mask in masks])
            a, reward_a, done_a, info_a = here.step(actions)
            b, reward_b, done_b, info_b = there.step(actions)
            np.testing.assert_array_equal(reward_a, reward_b.astype(np.float32))  # DummyVecEnv keeps float32
            np.testing.assert_array_equal(done_a, done_b)
            for ia, ib in zip(info_a, info_b, strict=True):
                assert ia.keys() == ib.keys()
                if "terminal_observation" in ia:
                    episodes += 1
                    for key in ia["terminal_observation"]:
                        np.testing.assert_array_equal(ia["terminal_observation"][key], ib["terminal_observation"][key])
        assert episodes >= 3, "episodes ended and the next ones began in the workers"
        assert there.env_is_wrapped(Monitor) == [True, True, True]
        assert there.get_attr("render_mode", indices=[2, 0]) == [None, None]
        there.set_attr("tag", "middle", indices=1)
        there.set_attr("tag", "ends", indices=[0, 2])
        assert there.get_attr("tag") == ["ends", "middle", "ends"]
    finally:
        here.close(), there.close()


def test_pretraining_on_ray_gives_the_policy_of_worker_processes(tmp_path):
    settings = TrainSettings(n_envs=2, max_grid=16, n_steps=32, batch_size=32, n_epochs=1, width=4,
                             checkpoint_every=10_000, fd_schedule="circuit_training", device="cpu")  # fmt: skip
    runs = {}
    for name, ray_address in (("processes", None), ("ray", LOCAL)):
        out = tmp_path / name
        train(DESIGNS, 128, out, dataclasses.replace(settings, ray=ray_address), progress_bar=False)
        runs[name] = out / "final.zip"
    first, second = (SavedPolicy.of(path).weights for path in runs.values())
    assert first.keys() == second.keys()
    for key in first:
        assert np.array_equal(first[key].numpy(), second[key].numpy()), key


def test_placer_places_several_designs_as_ray_tasks_as_it_does_one_after_another(tmp_path, capsys):
    from placer.cli import main

    common = ["toy_macro_stdcell", "macro_tiles_10x10", "--method", "sa", "--moves", "600", "--seed", "2", "--json"]
    assert main(["place", *common, "-o", str(tmp_path / "here")]) == 0
    here = json.loads(capsys.readouterr().out)
    assert main(["place", *common, "--ray", "-o", str(tmp_path / "there")]) == 0  # joins this module's local Ray
    there = json.loads(capsys.readouterr().out)
    assert [r["design"] for r in there] == ["toy_macro_stdcell", "macro_tiles_10x10"]
    assert [r["proxy_cost"] for r in there] == [r["proxy_cost"] for r in here]
    for result in there:  # the same placement written (the header's comments carry the time)
        written = [(tmp_path / side / result["design"] / "placement.plc").read_text() for side in ("here", "there")]
        body = [[line for line in text.splitlines() if not line.startswith("#")] for text in written]
        assert body[0] == body[1] and len(body[0]) > 3


def test_train_py_finetunes_several_designs_as_ray_tasks_as_it_does_one_after_another(tmp_path, capsys):
    from placer.agent.cli import main
    from placer.agent.placing import bundled_checkpoint

    common = ["finetune", "--from", str(bundled_checkpoint()), "--design", "toy_macro_stdcell", "macro_tiles_10x10",
              "--timesteps", "16", "--n-steps", "8", "--batch-size", "8", "--epochs", "1", "--envs", "1",
              "--max-grid", "32", "--fd", "circuit_training", "--device", "cpu", "--json"]  # fmt: skip
    assert main([*common, "--out", str(tmp_path / "here")]) == 0
    here = json.loads(capsys.readouterr().out)
    assert main([*common, "--ray", "--out", str(tmp_path / "there")]) == 0  # joins this module's local Ray
    there = json.loads(capsys.readouterr().out)
    names = [["toy_macro_stdcell"], ["macro_tiles_10x10"]]
    assert [r["designs"] for r in there] == [r["designs"] for r in here] == names
    for record in there:
        name = record["designs"][0]
        assert record["final"] == str(tmp_path / "there" / name / "final.zip") and record["steps"] == 16
        first, second = (SavedPolicy.of(tmp_path / side / name / "final.zip").weights for side in ("here", "there"))
        for key in first:
            np.testing.assert_allclose(first[key].numpy(), second[key].numpy(), rtol=1e-5, atol=1e-6)
