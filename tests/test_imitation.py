"""Imitation warm start: replayed demonstrations, their folder (resumable), behaviour cloning, train.py imitate."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch as th
from sb3_contrib import MaskablePPO

from envs import MacroPlacementEnv
from envs.observation import VECTOR_FEATURES
from placer.agent import cli as train_cli
from placer.agent.imitation import clone, collect, demo_path, demonstrate, load_demonstrations, replay
from placer.agent.policy import PlacementPolicy
from placer.agent.training import TrainSettings
from placer.baselines import place

SMALL = TrainSettings(n_envs=1, max_grid=32, batch_size=16, learning_rate=1e-3, fd_schedule="circuit_training",
                      device="cpu")  # fmt: skip
DESIGNS = ["toy_macro_stdcell", "synthetic:3", "synthetic:7"]


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demos")
    return collect(DESIGNS, folder, SMALL, anneal_seconds=0, anneal_moves=3000)


def test_a_demonstration_replays_to_its_cost_and_is_the_better_demonstrator():
    demo = demonstrate("synthetic:3", SMALL, anneal_seconds=0, anneal_moves=3000)
    assert set(demo.costs) == {"greedy", "sa"} and demo.cost == min(demo.costs.values())
    assert demo.costs[demo.demonstrator] == demo.cost
    env = MacroPlacementEnv("synthetic:3", **SMALL.env_kwargs())
    observation, _ = env.reset(seed=0)
    for k, action in enumerate(demo.actions):
        legal = np.unpackbits(demo.masks[k], count=env.action_space.n).astype(bool)
        assert np.array_equal(legal, env.action_masks()) and legal[action]
        assert np.array_equal(observation["maps"], demo.maps[k])
        observation, _, done, _, info = env.step(int(action))
    assert done and not info["infeasible"]
    assert env.report.proxy_cost == pytest.approx(demo.cost, rel=1e-12)
    assert demo.returns[0] == pytest.approx(-demo.cost, abs=1e-6), "terminal reward: every return is -cost"
    dense = demonstrate("synthetic:3", dataclasses.replace(SMALL, reward="dense"), 0, anneal_moves=3000)
    wirelength_before = dense.vectors[:, VECTOR_FEATURES.index("wirelength_cost")]  # the cost before each step
    assert dense.returns == pytest.approx(wirelength_before - dense.cost, abs=1e-5), "dense: the rest of the cost"


def test_replay_scores_greedy_like_greedy_and_refuses_off_grid_centres():
    env = MacroPlacementEnv("synthetic:3", **SMALL.env_kwargs())
    greedy = place(env.design, "greedy", fd_schedule=env.fd_schedule)
    cost, (maps, _, _, actions, returns) = replay(env, greedy.placement)
    assert cost == pytest.approx(greedy.report.proxy_cost, rel=1e-9)
    assert maps.dtype == np.uint8 and len(maps) == len(actions) == len(returns) == env.macro_order.size
    crowded = greedy.placement.copy()
    order = env.macro_order
    crowded.x[order], crowded.y[order] = crowded.x[order[0]], crowded.y[order[0]]  # every macro on one spot
    assert replay(env, crowded) is None


def test_collect_writes_one_file_per_design_and_resumes(demos):
    assert sorted(p.name for p in demos.iterdir()) == sorted(demo_path(demos, d).name for d in DESIGNS)
    calls = []
    collect([*DESIGNS, "synthetic:999999"], demos, SMALL, 0, anneal_moves=3000, report=lambda *a: calls.append(a))
    assert [c[2] for c in calls] == ["synthetic:999999"] and calls[0][:2] == (4, 4), "only the new design ran"
    maps, vectors, masks, actions, returns = load_demonstrations(demos, 32)
    assert len(maps) == len(vectors) == len(masks) == len(actions) == len(returns) > 10


def test_collect_adds_returns_to_demonstrations_recorded_without_them(demos, tmp_path):
    path = demo_path(demos, "synthetic:3")
    with np.load(path) as data:
        kept = {key: data[key] for key in data.files if key not in ("returns", "reward")}
        returns = data["returns"]
    older = tmp_path / path.name
    np.savez_compressed(older, **kept)
    with pytest.raises(ValueError, match=r"synthetic-3\.npz: no returns for the terminal reward"):
        load_demonstrations(tmp_path, 32, reward="terminal")
    calls = []
    collect(["synthetic:3"], tmp_path, SMALL, 0, anneal_moves=1, report=lambda *a: calls.append(a))
    assert calls[0][3] == "returns added for the terminal reward"
    with np.load(older) as data:
        assert np.array_equal(data["returns"], returns) and np.array_equal(data["actions"], kept["actions"])
    with pytest.raises(ValueError, match="no returns for the dense reward"):
        load_demonstrations(tmp_path, 32, reward="dense")


def test_load_refuses_demonstrations_of_another_map_size(demos, tmp_path):
    with pytest.raises(ValueError, match=r"\.npz: recorded with max_grid 32, not 64"):
        load_demonstrations(demos, 64)
    with pytest.raises(ValueError, match="no demonstrations"):
        load_demonstrations(tmp_path, 32)
    with pytest.raises(ValueError, match=r"synthetic-5\.npz: no such demonstration"):
        load_demonstrations(demos, 32, ["synthetic:3", "synthetic:5"])
    only = load_demonstrations(demos, 32, ["synthetic:3"])
    assert 0 < len(only[3]) < len(load_demonstrations(demos, 32)[3])


def test_cloning_fits_the_demonstrations_and_resumes_from_its_epochs(demos, tmp_path):
    seen = []
    final = clone(demos, tmp_path / "bc", SMALL, 8, report=lambda *a: seen.append(a))
    assert [s[0] for s in seen] == list(range(1, 9))
    assert seen[-1][1] < 0.85 * seen[0][1], f"negative log-likelihood fell too little: {seen}"
    assert seen[-1][2] > seen[0][2]
    model = MaskablePPO.load(final, device="cpu")
    maps, vectors, masks, actions, returns = load_demonstrations(demos, 32)
    hits = 0
    for k in range(len(actions)):
        legal = np.unpackbits(masks[k], count=model.action_space.n).astype(bool)
        action, _ = model.predict({"maps": maps[k], "vector": vectors[k]}, action_masks=legal, deterministic=True)
        assert legal[int(action)]
        hits += int(action) == actions[k]
    assert hits / len(actions) == pytest.approx(seen[-1][2], abs=0.25)

    def value_error(policy) -> float:
        with th.no_grad():
            values = policy.predict_values({"maps": th.as_tensor(maps), "vector": th.as_tensor(vectors)})
        return float(np.mean((values.flatten().numpy() - returns) ** 2))

    fresh = MaskablePPO(PlacementPolicy, MacroPlacementEnv("synthetic:3", **SMALL.env_kwargs()), **SMALL.ppo_kwargs())
    assert value_error(model.policy) < 0.1 * value_error(fresh.policy), "the value head learnt the returns"
    again = clone(demos, tmp_path / "bc", SMALL, 8, resume=True, report=lambda *a: pytest.fail("nothing to do"))
    saved = MaskablePPO.load(tmp_path / "bc" / "checkpoints" / "epoch_8.zip", device="cpu").policy.state_dict()
    for key, value in MaskablePPO.load(again, device="cpu").policy.state_dict().items():
        assert th.equal(value, saved[key]), f"{key}: the resumed state is epoch 8's"
    more = []
    clone(demos, tmp_path / "bc", SMALL, 9, resume=True, report=lambda *a: more.append(a))
    assert [m[0] for m in more] == [9], "resumed after epoch 8"


def test_train_py_imitate_collects_then_clones(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["imitate", "--designs", "synthetic:3-4", "--anneal-seconds", "0.2", "--epochs", "2", "--out", str(out),
            "--max-grid", "32", "--envs", "1", "--fd", "circuit_training", "--device", "cpu"]  # fmt: skip
    assert train_cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "demo 2/2" in printed and "epoch 2/2" in printed and f"wrote {out / 'final.zip'}" in printed
    assert len(list((out / "demos").glob("*.npz"))) == 2
    record = json.loads((out / "run.json").read_text())
    assert record["designs"] == ["synthetic:3@32", "synthetic:4@32"] and record["wall_s"] > 0  # as --max-grid drew them
    MaskablePPO.load(out / "final.zip", device="cpu")
