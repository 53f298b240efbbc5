"""The placement policy: spatial network, masks respected, training, checkpoints, resume, placing."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch as th
from sb3_contrib import MaskablePPO
from stable_baselines3.common.callbacks import BaseCallback
from test_baselines import four_quadrants
from test_env import hard_macro_violations

import netlists
from envs import MacroPlacementEnv
from netlists.synthetic import SyntheticSpec, generate
from placer.agent import cli as train_cli
from placer.agent import placing
from placer.agent.network import PADDING_LOGIT, PlacementNet
from placer.agent.placing import finetune, policy_place
from placer.agent.policy import PlacementPolicy, SavedPolicy
from placer.agent.training import (
    FINETUNE_DEFAULTS,
    BestEpisode,
    TrainSettings,
    closing_workers,
    latest_checkpoint,
    load_policy,
    make_vec_env,
    train,
)
from placer.baselines import place
from placer.cost import CostModel, CostWeights
from placer.fd import FDSchedule

TINY = TrainSettings(n_envs=1, max_grid=32, n_steps=32, batch_size=32, n_epochs=1, checkpoint_every=64,
                     fd_schedule="circuit_training", device="cpu")  # fmt: skip


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    lines = []
    final = train(["toy_macro_stdcell", "synthetic:3"], 128, run, TINY, progress_bar=False, log=lines.append)
    assert len(lines) == 128 // TINY.n_steps and all(" episodes, proxy cost " in line for line in lines)
    return run, final


def observation_batch(env: MacroPlacementEnv, n: int) -> dict[str, th.Tensor]:
    rng = np.random.default_rng(0)
    maps, vectors = [], []
    obs, _ = env.reset(seed=0)
    for _ in range(n):
        maps.append(obs["maps"])
        vectors.append(obs["vector"])
        obs, _, done, _, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
        if done:
            obs, _ = env.reset()
    return {"maps": th.tensor(np.stack(maps), dtype=th.float32) / 255, "vector": th.tensor(np.stack(vectors))}


def test_the_network_gives_one_logit_per_cell_and_the_same_weights_fit_every_map_size():
    small = MacroPlacementEnv("ariane133", max_grid=32, fd_schedule=None)
    large = MacroPlacementEnv("ariane133", max_grid=128, fd_schedule=None)
    net_small, net_large = PlacementNet(small.observation_space), PlacementNet(large.observation_space)
    assert sum(p.numel() for p in net_small.parameters()) == sum(p.numel() for p in net_large.parameters())
    net_large.load_state_dict(net_small.state_dict())
    batch = observation_batch(large, 3)
    out = net_large(batch)
    assert out.shape == (3, 128 * 128 + 64)
    logits = out[:, : 128 * 128].reshape(3, 128, 128)
    rows, cols = large.observations.window
    inside = th.zeros(128, 128, dtype=th.bool)
    inside[rows, cols] = True
    assert (logits[:, ~inside] == PADDING_LOGIT).float().mean() > 0.9, "most padding is never computed"
    assert (logits[:, inside] != PADDING_LOGIT).all(), "every design cell gets a computed logit"
    with pytest.raises(ValueError, match="multiple of 8"):
        PlacementNet(MacroPlacementEnv("toy_macro_stdcell", max_grid=36, fd_schedule=None).observation_space)


def test_a_samples_logits_and_value_do_not_depend_on_the_rest_of_the_batch():
    big = MacroPlacementEnv("ariane133", max_grid=64, fd_schedule=None)  # 24 x 21 in a 64 x 64 map
    small = MacroPlacementEnv(generate(SyntheticSpec(hard_macros=8, soft_macros=16, max_grid=16, seed=1)),
                              max_grid=64, fd_schedule=None)  # fmt: skip
    net = PlacementNet(big.observation_space).eval()
    a, b = observation_batch(big, 3), observation_batch(small, 2)
    mixed = {key: th.cat([a[key][:2], b[key], a[key][2:]]) for key in a}
    with th.no_grad():
        together = net(mixed)
        alone = th.cat([net(a)[:2], net(b), net(a)[2:]])
    assert th.allclose(together, alone, atol=1e-5), "a sample's output moved with its batch companions"
    assert not th.allclose(together[0], together[2], atol=1e-3), "different designs, different outputs"


def test_the_policy_has_no_dense_layer_over_cells_and_never_picks_a_masked_cell():
    env = MacroPlacementEnv("ariane133", max_grid=128, fd_schedule=None, orientation="action")
    model = MaskablePPO(PlacementPolicy, env, n_steps=64, batch_size=64, seed=0, device="cpu")
    largest = max(p.numel() for p in model.policy.parameters())
    assert largest < 100_000, "no Linear(latent, cells) head"
    rng = np.random.default_rng(1)
    obs, _ = env.reset(seed=0)
    for step in range(60):
        mask = env.action_masks()
        action, _ = model.predict(obs, action_masks=mask, deterministic=step % 2 == 0)
        assert mask[int(action)], f"step {step}: masked action {action}"
        obs, _, done, _, info = env.step(int(action) if rng.random() < 0.8 else int(rng.choice(np.flatnonzero(mask))))
        assert not done or not info["infeasible"]
        if done:
            obs, _ = env.reset()


def test_training_runs_end_to_end_with_checkpoints(tiny_run):
    run, final = tiny_run
    assert final == run / "final.zip" and final.is_file()
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_128.zip", "step_64.zip"]
    assert latest_checkpoint(run).name == "step_128.zip"
    record = json.loads((run / "run.json").read_text())
    assert record["designs"] == ["toy_macro_stdcell", "synthetic:3"] and record["wall_s"] > 0
    assert any((run / "tb").rglob("events.out.tfevents.*")), "TensorBoard logs"
    with zipfile.ZipFile(final) as archive:
        assert "policy.pth" in archive.namelist()


def test_resume_continues_from_the_newest_checkpoint_with_its_state(tiny_run, tmp_path):
    run, _ = tiny_run
    copy = tmp_path / "run"
    (copy / "checkpoints").mkdir(parents=True)
    saved = run / "checkpoints" / "step_64.zip"
    (copy / "checkpoints" / saved.name).write_bytes(saved.read_bytes())
    before = MaskablePPO.load(saved, device="cpu")
    assert before.num_timesteps == 64 and before._n_updates == 64 // TINY.n_steps * TINY.n_epochs, "saved after updates"
    resumed = MaskablePPO.load(train(["toy_macro_stdcell"], 64, copy, TINY, resume=True, progress_bar=False))
    assert resumed.num_timesteps == 64, "nothing left to do: the state is the checkpoint's"
    for a, b in zip(before.policy.state_dict().values(), resumed.policy.state_dict().values(), strict=True):
        assert th.equal(a, b)
    opt_a, opt_b = before.policy.optimizer.state_dict(), resumed.policy.optimizer.state_dict()
    assert opt_a["param_groups"] == opt_b["param_groups"]
    for key, state in opt_a["state"].items():
        assert all(th.equal(state[k], opt_b["state"][key][k]) for k in state)
    longer = MaskablePPO.load(train(["toy_macro_stdcell"], 128, copy, TINY, resume=True, progress_bar=False))
    assert longer.num_timesteps == 128
    assert json.loads((copy / "run.json").read_text())["resumed_from"] == "step_64.zip"


TINY_ARGS = ["--envs", "1", "--max-grid", "32", "--n-steps", "32", "--batch-size", "32", "--epochs", "1",
             "--checkpoint-every", "64", "--fd", "circuit_training", "--device", "cpu", "--no-progress"]  # fmt: skip


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_pretraining_resumed_ends_as_the_run_that_never_stopped(tmp_path, how):
    args = ["pretrain", "--designs", "toy_macro_stdcell", "synthetic:3", "--timesteps", "512", *TINY_ARGS]
    script = Path(__file__).resolve().parents[1] / "train.py"
    killed = tmp_path / "killed"
    same_threads = {**os.environ, "OMP_NUM_THREADS": str(th.get_num_threads())}  # as the runs in this process
    process = subprocess.Popen([sys.executable, str(script), *args, "--out", str(killed)], stderr=subprocess.PIPE,
                               text=True, env=same_threads)  # fmt: skip
    try:
        while latest_checkpoint(killed) is None and process.poll() is None:
            time.sleep(0.01)
    finally:
        process.send_signal(how)
        _, err = process.communicate(timeout=60)
    if how == signal.SIGINT:  # Ctrl-C: one line that says how to go on, no traceback
        assert process.returncode == 130 and err.strip().splitlines() == [
            f"train.py: interrupted; continue with --resume (the newest checkpoint in {killed})"
        ]
    assert not (killed / "final.zip").exists(), "killed before the end"
    assert train_cli.main([*args, "--out", str(killed), "--resume"]) == 0
    assert train_cli.main([*args, "--out", str(tmp_path / "whole")]) == 0
    resumed = MaskablePPO.load(killed / "final.zip", device="cpu")
    whole = MaskablePPO.load(tmp_path / "whole" / "final.zip", device="cpu")
    assert json.loads((killed / "run.json").read_text())["resumed_from"] is not None
    assert (resumed.num_timesteps, resumed._n_updates) == (whole.num_timesteps, whole._n_updates) == (512, 16)
    for (name, a), b in zip(whole.policy.state_dict().items(), resumed.policy.state_dict().values(), strict=True):
        assert th.equal(a, b), name


def test_weights_load_into_a_policy_for_another_map_size(tiny_run):
    _, final = tiny_run
    env = MacroPlacementEnv("ariane133", max_grid=64, fd_schedule=None)
    model = load_policy(final, env)
    saved = MaskablePPO.load(final, device="cpu")
    for a, b in zip(saved.policy.state_dict().values(), model.policy.state_dict().values(), strict=True):
        assert th.equal(a, b)


def test_policy_place_is_legal_and_falls_back_when_the_policy_runs_out_of_room(tiny_run):
    _, final = tiny_run
    design = netlists.load("macro_tiles_10x10")
    result = policy_place(design, final, samples=2, fd_schedule=FDSchedule.circuit_training())
    assert result.method == "rl" and not result.backed_off
    assert hard_macro_violations(design, result.placement) == []
    crowded = policy_place(four_quadrants(), final, samples=1, fd_schedule=FDSchedule.circuit_training())
    assert hard_macro_violations(four_quadrants(), crowded.placement) == []


def test_policy_place_backs_off_to_greedy_when_no_episode_finishes(tiny_run, monkeypatch):
    _, final = tiny_run
    design = netlists.load("macro_tiles_10x10")
    monkeypatch.setattr(placing, "_play", lambda *args, **kwargs: None)  # every episode ran out of room
    result = policy_place(design, final, samples=2, fd_schedule=FDSchedule.circuit_training())
    greedy = place(design, "greedy")
    assert result.backed_off and result.method == "rl->greedy"
    assert result.report.proxy_cost == greedy.report.proxy_cost and result.placement.equals(greedy.placement)


def test_train_cli_expands_ranges_and_reports_bad_designs_in_one_line(tmp_path, capsys):
    assert train_cli.expand(["ariane133", "synthetic:2-4"]) == ["ariane133", "synthetic:2", "synthetic:3",
                                                                 "synthetic:4"]  # fmt: skip
    assert train_cli.expand(["synthetic:2-3@20", "synthetic:7", "ariane133"], 32) == [
        "synthetic:2@20", "synthetic:3@20", "synthetic:7@32", "ariane133"]  # fmt: skip
    for bad in ("nosuch", "synthetic:x"):
        code = train_cli.main(["pretrain", "--designs", bad, "--timesteps", "10", "--out", str(tmp_path / "r")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.startswith(f"train.py: error: design {bad}") and "\n" not in err
        assert not (tmp_path / "r").exists()


def test_the_cost_weights_and_the_loaded_design_reach_every_environment(tmp_path, capsys):
    weights = CostWeights(1.0, 1.0, 0.0)
    design = netlists.load("toy_macro_stdcell")
    with closing_workers(make_vec_env([design], dataclasses.replace(TINY, weights=weights))) as vec_env:
        env = vec_env.envs[0].unwrapped.current
        assert env.weights == weights and env.design is design
    missing = tmp_path / "missing.plc"
    code = train_cli.main(["finetune", "--from", str(placing.bundled_checkpoint()), "--design", "toy_macro_stdcell",
                           "--plc", str(missing), "--timesteps", "8", "--out", str(tmp_path / "ft")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and str(missing) in err and "\n" not in err and not (tmp_path / "ft").exists()


def test_train_py_finetunes_each_of_several_designs_into_its_own_folder(tmp_path, capsys):
    common = ["finetune", "--from", str(placing.bundled_checkpoint()), "--timesteps", "8", "--n-steps", "8",
              "--batch-size", "8", "--epochs", "1", "--envs", "1", "--max-grid", "32", "--fd", "circuit_training",
              "--device", "cpu", "--out", str(tmp_path / "ft")]  # fmt: skip
    for refused, why in ((["synthetic:3@16", "toy_macro_stdcell", "--plc", "x.plc"], "--plc names one design"),
                         (["synthetic:3@16", "nosuch"], "nosuch"),
                         (["toy_macro_stdcell", "toy_macro_stdcell"], "two designs are named")):  # fmt: skip
        assert train_cli.main([*common, "--design", *refused]) == 2
        err = capsys.readouterr().err.strip()
        assert why in err and "\n" not in err and not (tmp_path / "ft").exists(), refused
    assert train_cli.main([*common, "--design", "synthetic:3@16", "toy_macro_stdcell", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[1]["designs"] == ["toy_macro_stdcell"]  # in the order given
    folders = sorted(Path(r["final"]).parent for r in records)
    assert sorted((tmp_path / "ft").iterdir()) == folders and len(set(folders)) == 2
    for record in records:  # each in its own run folder, from the same checkpoint
        assert Path(record["final"]).exists() and record["steps"] == 8
        assert record["start_from"].endswith("pretrained.zip")


@pytest.mark.slow
def test_train_cli_pretrains_with_worker_processes_then_finetunes(tmp_path):
    pre, tuned = tmp_path / "pre", tmp_path / "ft"
    common = ["--timesteps", "64", "--max-grid", "32", "--n-steps", "16", "--batch-size", "32", "--epochs", "1",
              "--fd", "circuit_training", "--device", "cpu", "--no-progress"]  # fmt: skip
    assert train_cli.main(["pretrain", "--designs", "synthetic:0-2", "--envs", "2", "--out", str(pre), *common]) == 0
    assert train_cli.main(["finetune", "--from", str(pre / "final.zip"), "--design", "toy_macro_stdcell",
                           "--envs", "1", "--soft-start", "file", "--soft-moves", "50", "--out", str(tuned),
                           *common]) == 0  # fmt: skip
    record = json.loads((tuned / "run.json").read_text())
    assert record["start_from"].endswith("final.zip") and record["settings"]["soft_start"] == "file"
    assert record["settings"]["soft_moves"] == 50
    assert {k: record["settings"][k] for k in FINETUNE_DEFAULTS} == FINETUNE_DEFAULTS, "fine-tuning's own defaults"
    assert json.loads((pre / "run.json").read_text())["settings"]["ent_coef"] == TrainSettings().ent_coef


class FinishedEpisodes(BaseCallback):
    """The proxy cost of every feasible episode that training finished."""

    def __init__(self) -> None:
        super().__init__()
        self.costs: list[float] = []

    def _on_step(self) -> bool:
        infos = [info for done, info in zip(self.locals["dones"], self.locals["infos"], strict=True) if done]
        self.costs += [info["proxy_cost"] for info in infos if not info["infeasible"]]
        return True


def test_training_keeps_its_best_episode(tmp_path):
    best, finished = BestEpisode(), FinishedEpisodes()
    train(["toy_macro_stdcell"], 128, tmp_path / "r", TINY, progress_bar=False, callbacks=[best, finished])
    assert best.episodes == len(finished.costs) and len(set(finished.costs)) > 1, "episodes that differ"
    assert best.proxy_cost == min(finished.costs)
    assert hard_macro_violations(netlists.load("toy_macro_stdcell"), best.placement) == []
    assert best.proxy_cost == pytest.approx(evaluate_on("toy_macro_stdcell", best.placement), rel=1e-12)


def test_the_critic_warms_up_alone_then_the_actor_moves_too(tiny_run, tmp_path):
    _, final = tiny_run
    settings, lines = dataclasses.replace(TINY, value_warmup=64), []
    warmed = train(["toy_macro_stdcell"], 64, tmp_path / "w", settings, start_from=final, progress_bar=False,
                   log=lines.append)  # fmt: skip
    assert sum(line.endswith("(critic warm-up)") and "value error" in line for line in lines) == 2
    before, after = SavedPolicy.of(final).weights, SavedPolicy.of(warmed).weights
    critic = {key for key in before if "features_extractor.value." in key or key.startswith("value_net.")}
    assert critic and [key for key in before if key not in critic and not th.equal(before[key], after[key])] == []
    assert any(not th.equal(before[key], after[key]) for key in critic)
    moved = SavedPolicy.of(train(["toy_macro_stdcell"], 128, tmp_path / "m", settings, start_from=final,
                                 progress_bar=False)).weights  # fmt: skip
    assert any(not th.equal(before[key], moved[key]) for key in before if key not in critic), "the actor after it"


def evaluate_on(name: str, placement) -> float:
    design = netlists.load(name)
    return CostModel(design.netlist, design.floorplan).evaluate(placement).proxy_cost


def test_finetune_reports_its_steps_and_best_episode_and_needs_a_budget(tiny_run, tmp_path):
    _, final = tiny_run
    tuned = finetune("toy_macro_stdcell", final, tmp_path / "ft", TINY, steps=64)
    assert tuned.steps == 64 and tuned.episodes > 0 and tuned.checkpoint.is_file()
    assert tuned.proxy_cost == pytest.approx(evaluate_on("toy_macro_stdcell", tuned.placement), rel=1e-12)
    with pytest.raises(ValueError, match="budget"):
        finetune("toy_macro_stdcell", final, tmp_path / "ft2", TINY)


def test_a_wall_clock_budget_stops_training(tiny_run, tmp_path):
    _, final = tiny_run
    run = tmp_path / "ft"
    code = train_cli.main(["finetune", "--from", str(final), "--design", "toy_macro_stdcell", "--envs", "1",
                           "--timesteps", "1000000", "--minutes", "0", "--max-grid", "32", "--fd", "circuit_training",
                           "--device", "cpu", "--no-progress", "--out", str(run)])  # fmt: skip
    record = json.loads((run / "run.json").read_text())
    assert code == 0 and record["seconds"] == 0 and record["steps"] == 1, "stopped at its first step"
    assert (run / "final.zip").is_file()


def test_train_py_is_the_thin_entry_point():
    script = Path(__file__).resolve().parents[1] / "train.py"
    done = subprocess.run(
        [sys.executable, str(script), "pretrain", "--help"], capture_output=True, text=True, check=True
    )
    assert "--timesteps" in done.stdout and "--resume" in done.stdout


def test_training_logs_read_back_as_curves(tiny_run):
    from placer import plot
    from placer.agent.logs import read_scalars

    run, _ = tiny_run
    curves = read_scalars(run)
    steps, rewards = curves["rollout/ep_rew_mean"]
    assert steps.size >= 2 and (np.diff(steps) > 0).all() and np.isfinite(rewards).all()
    _, mean = curves["placement/proxy_cost"]
    _, best = curves["placement/best_proxy_cost"]
    assert (best <= mean + 1e-12).all() and (np.diff(best) <= 0).all(), "the best so far never rises"
    assert (curves["placement/soft_macro_s"][1] > 0).all()
    figure = plot.training_curves(curves)
    assert len(figure.axes) == 4 and figure.axes[0].get_xlabel() == "environment steps"
    plot.save_figure(figure, run / "curves.png")
    assert (run / "curves.png").stat().st_size > 1000


def test_policy_place_can_fine_tune_first_and_returns_the_best_of_both_policies(tiny_run, monkeypatch):
    _, final = tiny_run
    design = netlists.load("toy_macro_stdcell")
    zero_shot = policy_place(design, final, samples=2, fd_schedule=FDSchedule.circuit_training())
    play = placing._play
    for budget in ({"finetune_steps": 64}, {"finetune_seconds": 1.0}):
        played = []  # (checkpoint, best cost) of each policy played

        def spy(design, checkpoint, *args, played=played):
            found = play(design, checkpoint, *args)
            played.append((checkpoint, found[1].proxy_cost))
            return found

        monkeypatch.setattr(placing, "_play", spy)
        result = policy_place(design, final, samples=2, fd_schedule=FDSchedule.circuit_training(),
                              finetune_settings=TINY, **budget)  # fmt: skip
        assert result.method == "rl+finetune" and hard_macro_violations(design, result.placement) == []
        # the fine-tuned policy was played too, and the best of everything found is what comes back
        assert len(played) == 2 and played[0] == (final, zero_shot.report.proxy_cost) and played[1][0] != final
        assert result.report.proxy_cost <= min(cost for _, cost in played)
        scored = CostModel(design.netlist, design.floorplan).evaluate(result.placement)
        assert scored.proxy_cost == pytest.approx(result.report.proxy_cost, rel=1e-12)


def test_fine_tuning_takes_a_design_that_is_only_in_memory(tiny_run, tmp_path):
    _, final = tiny_run
    design = generate(SyntheticSpec(hard_macros=6, soft_macros=20, ports=8, max_grid=16, seed=2))  # no file, no name
    tuned = finetune(design, final, tmp_path, TINY, steps=32)
    assert tuned.steps == 32 and tuned.placement is not None
    assert hard_macro_violations(design, tuned.placement) == []  # the workers placed this very design
    assert json.loads((tmp_path / "run.json").read_text())["designs"] == [design.netlist.name]


@pytest.mark.parametrize("grid", [None, 64], ids=["own grid", "64x64, halves overlapped"])
def test_episodes_played_in_lockstep_match_one_played_alone_and_repeat(tiny_run, grid):
    _, final = tiny_run
    design = netlists.load("macro_tiles_10x10")
    if grid is not None:  # large enough for the two halves to overlap (placing.PIPELINE_CELLS)
        assert grid * grid >= placing.PIPELINE_CELLS
        design = dataclasses.replace(design, floorplan=dataclasses.replace(design.floorplan, cols=grid, rows=grid))
    env = MacroPlacementEnv(design, max_grid=placing.map_size(final, design), fd_schedule="circuit_training")
    model = load_policy(final, env)
    obs, _ = env.reset(seed=5)
    while True:
        action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
        obs, _, terminated, _, _ = env.step(int(action))
        if terminated:
            break
    alone = env.report.proxy_cost
    assert placing._play(design, final, 1, 5, {"fd_schedule": "circuit_training"})[1].proxy_cost == alone
    batch = placing._play(design, final, 8, 5, {"fd_schedule": "circuit_training"})
    again = placing._play(design, final, 8, 5, {"fd_schedule": "circuit_training"})
    assert batch[1].proxy_cost <= alone, "the most likely episode is one of the batch"
    assert batch[1].proxy_cost == again[1].proxy_cost and batch[0].equals(again[0]), "a seed repeats"


def test_the_policy_gets_one_thread_on_small_grids_and_the_idle_cores_but_one_on_large_ones(monkeypatch):
    small = netlists.load("ariane133")
    large = dataclasses.replace(small, floorplan=dataclasses.replace(small.floorplan, cols=128, rows=128))
    assert placing.policy_threads(small) == 1
    cores = os.cpu_count() or 1
    assert 0.0 <= placing.idle_cores(0.05) <= cores + 1e-9
    monkeypatch.setattr(placing, "idle_cores", lambda: 7.8)  # one core is the environments' worker thread's
    assert placing.policy_threads(large) == 7
    monkeypatch.setattr(placing, "idle_cores", lambda: 0.3)
    assert placing.policy_threads(large) == 1
