"""Fine-tuning by self-imitation: the policy is fitted to the best episode it found, and a run resumes exactly."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest
import torch as th

from envs import MacroPlacementEnv
from placer.agent import cli as train_cli
from placer.agent.episodes import play, policy_logits
from placer.agent.imitation import imitation_loss
from placer.agent.placing import bundled_checkpoint, policy_place
from placer.agent.self_imitation import SelfImitationSettings, self_imitate
from placer.agent.training import TrainSettings, load_policy
from placer.baselines.soft_stage import SoftStage, finish_soft_macros
from placer.cli import main as placer_main
from placer.cost import CostModel

DESIGN = "synthetic:3@16"
SETTINGS = TrainSettings(max_grid=32, reward="dense", learning_rate=1e-3, soft_moves=200, device="cpu")
FEW = SelfImitationSettings(samples=3, fit_steps=4, checkpoint_every=2)


def rounds_of(n: int) -> int:
    """The steps budget of ``n`` rounds of ``FEW`` on ``DESIGN``."""
    return n * FEW.samples * len(MacroPlacementEnv(DESIGN, **SETTINGS.env_kwargs()).macro_order)


def weights(path) -> dict[str, th.Tensor]:
    env = MacroPlacementEnv(DESIGN, **SETTINGS.env_kwargs())
    return load_policy(path, env, SETTINGS).policy.state_dict()


def test_the_policy_moves_towards_the_best_episode_it_found(tmp_path):
    env = MacroPlacementEnv(DESIGN, **SETTINGS.env_kwargs())
    before = load_policy(bundled_checkpoint(), env, SETTINGS).policy
    zero_shot = play([env] + [copy.copy(env) for _ in range(FEW.samples - 1)], policy_logits(before), seed=0)
    done = self_imitate(DESIGN, bundled_checkpoint(), tmp_path, SETTINGS, steps=rounds_of(4), imitation=FEW)
    assert done.rounds == 4 and done.episodes == 4 * FEW.samples and (tmp_path / "final.zip").is_file()
    assert done.proxy_cost <= zero_shot[0].report.proxy_cost + 1e-12, "round 0 plays the same most likely episode"
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["algorithm"] == "self-imitation" and record["rounds"] == 4
    assert record["best_proxy_cost"] == pytest.approx(done.proxy_cost, abs=1e-12)
    # the best episode is likelier under the fine-tuned policy than under the one it started from
    after = load_policy(done.checkpoint, env, SETTINGS).policy
    replayed = play([env], policy_logits(after), seed=0, record=True)[0]  # its most likely episode, recorded
    with th.no_grad():
        nll_before = float(imitation_loss(before, replayed.trajectory)[1])
        nll_after = float(imitation_loss(after, replayed.trajectory)[1])
    assert nll_after < nll_before


def test_kept_by_its_finished_cost_the_first_round_keeps_the_zero_shot_batch_best_when_finished(tmp_path):
    kept = dataclasses.replace(FEW, samples=8, finish_moves=300)
    env = MacroPlacementEnv(DESIGN, **SETTINGS.env_kwargs())
    steps = kept.samples * len(env.macro_order)
    done = self_imitate(DESIGN, bundled_checkpoint(), tmp_path, SETTINGS, steps=steps, imitation=kept)
    assert done.rounds == 1
    # placer place's zero-shot batch (seed 0), each episode finished by FD and the same 300 nudges
    policy = load_policy(bundled_checkpoint(), env, SETTINGS).policy
    batch = play([env] + [copy.copy(env) for _ in range(kept.samples - 1)], policy_logits(policy), seed=0)
    finished = [finish_soft_macros(env.model, e.placement, SoftStage(300)).report.proxy_cost for e in batch]
    assert done.proxy_cost == pytest.approx(min(finished), abs=1e-12)
    zero_shot = policy_place(env.design, bundled_checkpoint(), samples=kept.samples, soft_moves=300)
    assert done.proxy_cost <= zero_shot.report.proxy_cost + 1e-12, "never worse than what placer place plays"
    model = CostModel(env.design.netlist, env.design.floorplan)
    assert model.evaluate(done.placement).proxy_cost == pytest.approx(done.proxy_cost, abs=1e-12), "kept finished"
    with pytest.raises(ValueError, match="finish_moves >= 0 and temperature"):
        SelfImitationSettings(finish_moves=-1)


def test_sampling_hotter_plays_less_likely_episodes_and_keeps_the_most_likely_first():
    env = MacroPlacementEnv(DESIGN, **SETTINGS.env_kwargs())
    policy = load_policy(bundled_checkpoint(), env, SETTINGS).policy
    envs = [env] + [copy.copy(env) for _ in range(5)]
    nll = {}
    for temperature in (1.0, 3.0):
        played = play(envs, policy_logits(policy), seed=0, record=True, temperature=temperature)
        with th.no_grad():
            nll[temperature] = [float(imitation_loss(policy, e.trajectory)[1]) for e in played]
        assert played[0].placement.equals(play(envs[:1], policy_logits(policy), seed=0)[0].placement)
    assert nll[3.0][0] == nll[1.0][0], "the first episode takes the most likely cells at any temperature"
    assert np.mean(nll[3.0][1:]) > np.mean(nll[1.0][1:])
    with pytest.raises(ValueError, match="temperature > 0"):
        SelfImitationSettings(temperature=0.0)


def test_a_stopped_run_resumed_ends_as_the_run_that_never_stopped(tmp_path):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    self_imitate(DESIGN, bundled_checkpoint(), whole, SETTINGS, steps=rounds_of(4), imitation=FEW)
    self_imitate(DESIGN, bundled_checkpoint(), stopped, SETTINGS, steps=rounds_of(2), imitation=FEW)
    assert (stopped / "checkpoints" / "round_2.npz").is_file()
    resumed = self_imitate(DESIGN, bundled_checkpoint(), stopped, SETTINGS, steps=rounds_of(4), imitation=FEW,
                           resume=True)  # fmt: skip
    assert resumed.rounds == 4 and json.loads((stopped / "run.json").read_text())["resumed_from"] == "round_2.zip"
    a, b = weights(whole / "final.zip"), weights(stopped / "final.zip")
    assert all(th.equal(a[key], b[key]) for key in a), "the same weights, bit for bit"
    with pytest.raises(ValueError, match="needs a budget"):
        self_imitate(DESIGN, bundled_checkpoint(), tmp_path / "none", SETTINGS)


def test_across_designs_the_rounds_take_turns_and_a_resumed_run_ends_the_same(tmp_path):
    designs = [DESIGN, "toy_macro_stdcell"]
    per_turn = FEW.samples * sum(len(MacroPlacementEnv(d, **SETTINGS.env_kwargs()).macro_order) for d in designs)
    lines: list[str] = []
    whole = self_imitate(designs, bundled_checkpoint(), tmp_path / "whole", SETTINGS, steps=2 * per_turn,
                         imitation=FEW, log=lines.append)  # fmt: skip
    assert whole.rounds == 4 and whole.steps == 2 * per_turn
    assert [line.split(":")[1].strip() for line in lines][1::2] == ["toy_macro_stdcell"] * 2
    assert sorted(p.name for p in (tmp_path / "whole" / "checkpoints").iterdir()) == ["round_4.npz", "round_4.zip"]
    with np.load(tmp_path / "whole" / "checkpoints" / "round_4.npz") as saved:
        assert {key.split("/")[0] for key in saved.files if "/" in key} == {"0", "1"}, "each design's best episode"
    stopped = tmp_path / "stopped"
    self_imitate(designs, bundled_checkpoint(), stopped, SETTINGS, steps=per_turn, imitation=FEW)
    resumed = self_imitate(designs, bundled_checkpoint(), stopped, SETTINGS, steps=2 * per_turn, imitation=FEW,
                           resume=True)  # fmt: skip
    assert resumed.rounds == 4 and resumed.proxy_cost == whole.proxy_cost
    a, b = weights(tmp_path / "whole" / "final.zip"), weights(stopped / "final.zip")
    assert all(th.equal(a[key], b[key]) for key in a), "the same weights, bit for bit"


def test_train_py_and_placer_place_fine_tune_by_self_imitation(tmp_path, capsys):
    run = tmp_path / "si"
    args = ["finetune", "--from", str(bundled_checkpoint()), "--design", DESIGN, "--algorithm", "self-imitation",
            "--samples", "2", "--timesteps", "40", "--max-grid", "32", "--device", "cpu", "--out", str(run),
            "--no-progress", "--json"]  # fmt: skip
    assert train_cli.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["algorithm"] == "self-imitation" and printed["rounds"] >= 1
    assert printed["settings"]["soft_moves"] == 2000 and printed["settings"]["learning_rate"] == 3e-4
    out = tmp_path / "placed"
    assert placer_main(["place", "toy_macro_stdcell", "--finetune-steps", "40", "--finetune-algorithm",
                        "self-imitation", "-o", str(out), "--json"]) == 0  # fmt: skip
    placed = json.loads(capsys.readouterr().out)
    assert placed["method"] == "rl+finetune" and placed["finetune_episodes"] >= 8 and placed["overlap_area"] == 0.0
    assert placer_main(["place", "toy_macro_stdcell", "--finetune-algorithm", "self-imitation", "-o", str(out)]) == 2
    assert "--finetune-algorithm goes with --finetune-steps" in capsys.readouterr().err
    assert np.isfinite(placed["proxy_cost"])


def test_train_py_pretrains_by_self_imitation_across_designs_from_a_policy(tmp_path, capsys):
    args = ["pretrain", "--designs", "synthetic:3-4", "--algorithm", "self-imitation", "--samples", "2",
            "--timesteps", "60", "--max-grid", "32", "--device", "cpu", "--out", str(tmp_path / "pre"),
            "--no-progress", "--json"]  # fmt: skip
    assert train_cli.main(args) == 2
    assert "needs --from" in capsys.readouterr().err
    assert train_cli.main([*args, "--from", str(bundled_checkpoint())]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["command"] == "self-imitation" and printed["rounds"] >= 2 and len(printed["designs"]) == 2
