"""A policy's network exported to ONNX and played on ONNX Runtime: the same logits, the same placements."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
import torch as th

import netlists
from envs import MacroPlacementEnv
from netlists.synthetic import SyntheticSpec, generate
from placer.agent.cli import main as train_main
from placer.agent.placing import bundled_checkpoint, bundled_network, map_size, policy_place
from placer.agent.policy import SavedPolicy
from placer.agent.runtime import OnnxPolicy
from placer.cli import main as placer_main


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The bundled policy exported by ``train.py export`` (once: the exporter takes about 10 s)."""
    out = tmp_path_factory.mktemp("onnx") / "policy.onnx"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert train_main(["export", str(bundled_checkpoint()), "-o", str(out), "--json"]) == 0
    assert json.loads(printed.getvalue())["final"] == str(out)
    return out


def states(env: MacroPlacementEnv, count: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``count`` observations and masks of random legal episodes (restarted when one ends)."""
    rng = np.random.default_rng(seed)
    observation, _ = env.reset(seed=seed)
    seen, masks = [], []
    for _ in range(count):
        seen.append(observation)
        masks.append(env.action_masks())
        observation, _, done, _, _ = env.step(int(rng.choice(np.flatnonzero(masks[-1]))))
        if done:
            observation, _ = env.reset()
    return {key: np.stack([o[key] for o in seen]) for key in seen[0]}, np.stack(masks)


@pytest.mark.parametrize(
    "design, grid",
    [("ariane133", None), ("ariane133", 128), (SyntheticSpec(hard_macros=30, soft_macros=60, seed=2), None)],
    ids=["ariane133", "ariane133-in-128", "synthetic"],
)
def test_onnx_runtime_gives_torchs_logits_and_most_likely_cells(exported, design, grid):
    design = generate(design) if isinstance(design, SyntheticSpec) else netlists.load(design)
    saved, onnx = SavedPolicy.of(bundled_checkpoint()), OnnxPolicy(exported)
    env = MacroPlacementEnv(design, max_grid=grid or map_size(saved, design), fd_schedule=None)
    policy = saved.playing(env)
    for batch_size, seed in ((1, 0), (6, 1)):
        batch, masks = states(env, 24, seed)
        for start in range(0, 24, batch_size):
            rows = slice(start, start + batch_size)
            part = {key: value[rows] for key, value in batch.items()}
            with th.no_grad():
                tensors, _ = policy.obs_to_tensor(part)
                expected = policy.get_distribution(tensors, masks[rows]).distribution.logits.numpy()
            got = onnx.logits(part["maps"], part["vector"], masks[rows])
            legal = masks[rows]
            # torch's masked distribution normalises its logits; a constant per row changes no choice.
            for row in range(legal.shape[0]):
                assert np.ptp((expected - got)[row, legal[row]]) < 1e-4
            assert np.array_equal(expected.argmax(axis=1), got.argmax(axis=1))
            assert (got[~legal] <= -1e7).all()


def test_onnx_runtime_computes_each_sample_on_its_own_window(exported):
    onnx = OnnxPolicy(exported)
    big = MacroPlacementEnv(netlists.load("ariane133"), max_grid=64, fd_schedule=None)
    small = MacroPlacementEnv(generate(SyntheticSpec(hard_macros=8, soft_macros=16, max_grid=16, seed=1)),
                              max_grid=64, fd_schedule=None)  # fmt: skip
    (a, mask_a), (b, mask_b) = states(big, 3, 0), states(small, 2, 0)
    mixed = {key: np.concatenate([a[key], b[key]]) for key in a}
    together = onnx.logits(mixed["maps"], mixed["vector"], np.concatenate([mask_a, mask_b]))
    alone = np.concatenate([onnx.logits(a["maps"], a["vector"], mask_a), onnx.logits(b["maps"], b["vector"], mask_b)])
    assert np.abs(together - alone).max() < 1e-5


def test_the_bundled_network_is_the_bundled_policy_exported(exported):
    design = netlists.load("ariane133")
    env = MacroPlacementEnv(design, max_grid=map_size(SavedPolicy.of(bundled_checkpoint()), design), fd_schedule=None)
    batch, masks = states(env, 12, 3)
    shipped, fresh = OnnxPolicy(bundled_network()), OnnxPolicy(exported)
    assert (shipped.map_size, shipped.width) == (fresh.map_size, fresh.width)
    a = shipped.logits(batch["maps"], batch["vector"], masks)
    b = fresh.logits(batch["maps"], batch["vector"], masks)
    assert np.abs(a - b)[masks].max() < 1e-5, "re-export the bundled policy: train.py export ... -o pretrained.onnx"


def test_zero_shot_on_onnx_runtime_places_as_torch_does(exported):
    design = generate(SyntheticSpec(hard_macros=20, soft_macros=40, seed=5))
    torch_result = policy_place(design, bundled_checkpoint(), samples=4, seed=1)
    onnx_result = policy_place(design, exported, samples=4, seed=1)
    assert onnx_result.report.proxy_cost == pytest.approx(torch_result.report.proxy_cost, abs=1e-12)
    assert np.array_equal(onnx_result.placement.x, torch_result.placement.x)
    default = policy_place(design, samples=4, seed=1)  # zero-shot plays the bundled export
    assert default.details["inference"] == "onnxruntime"
    assert np.array_equal(default.placement.x, onnx_result.placement.x)
    with pytest.raises(ValueError, match="fine-tuning trains a policy saved by train.py"):
        policy_place(design, exported, finetune_steps=8)


def test_placer_place_runtime_onnx_and_what_it_refuses(exported, tmp_path, capsys):
    assert placer_main(["place", "sample_clustered", "--runtime", "onnx", "-o", str(tmp_path / "a"), "--json"]) == 0
    on_onnx = json.loads(capsys.readouterr().out)
    assert placer_main(["place", "sample_clustered", "--runtime", "torch", "-o", str(tmp_path / "b"), "--json"]) == 0
    on_torch = json.loads(capsys.readouterr().out)
    assert placer_main(["place", "sample_clustered", "-o", str(tmp_path / "d"), "--json"]) == 0
    by_default = json.loads(capsys.readouterr().out)
    assert on_onnx["proxy_cost"] == pytest.approx(on_torch["proxy_cost"], abs=1e-12)
    inference = (on_onnx["inference"], on_torch["inference"], by_default["inference"])
    assert inference == ("onnxruntime", "torch", "onnxruntime")
    bogus = tmp_path / "bogus.onnx"
    bogus.write_text("not a model")
    refused = [
        ["--runtime", "torch", "--checkpoint", str(exported)],
        ["--runtime", "onnx", "--checkpoint", str(bundled_checkpoint())],
        ["--runtime", "onnx", "--finetune-steps", "8"],
        ["--checkpoint", str(exported), "--finetune-steps", "8"],
        ["--method", "greedy", "--runtime", "onnx"],
        ["--checkpoint", str(bogus)],
        ["--checkpoint", str(tmp_path / "missing.onnx")],
    ]
    for extra in refused:
        with pytest.raises(SystemExit) if "missing" in extra[-1] else contextlib.nullcontext():  # argparse exits
            code = placer_main(["place", "sample_clustered", *extra, "-o", str(tmp_path / "c")])
            assert code == 2, extra
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0], (extra, err)


def test_train_py_export_refuses_another_suffix_and_leaves_nothing(exported, tmp_path, capsys):
    assert OnnxPolicy(exported).map_size == SavedPolicy.of(bundled_checkpoint()).map_size
    assert train_main(["export", str(bundled_checkpoint()), "-o", str(tmp_path / "p.zip")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir()), "nothing half-written is left"


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    """The bundled policy exported by ``train.py export --int8``, calibrated on one small generated design."""
    out = tmp_path_factory.mktemp("int8") / "policy.int8.onnx"
    with contextlib.redirect_stdout(io.StringIO()):
        assert train_main(["export", str(bundled_checkpoint()), "-o", str(out), "--int8", "--calibrate",
                           "synthetic:3@24"]) == 0  # fmt: skip
    return out


@pytest.mark.parametrize("network", ["fresh", "bundled"])
def test_the_int8_network_mostly_picks_the_float_networks_cells(exported, quantized, network):
    int8 = OnnxPolicy(quantized if network == "fresh" else bundled_network(int8=True))
    float32 = OnnxPolicy(exported)
    assert (int8.quantized, float32.quantized) == ("int8", None)
    assert (int8.map_size, int8.width) == (float32.map_size, float32.width)
    design = netlists.load("ariane133")
    env = MacroPlacementEnv(design, max_grid=map_size(float32, design), fd_schedule=None)
    batch, masks = states(env, 48, 4)
    a = float32.logits(batch["maps"], batch["vector"], masks)
    b = int8.logits(batch["maps"], batch["vector"], masks)
    assert (b[~masks] <= -1e7).all()
    best = a.argmax(axis=1)
    same = np.mean(best == b.argmax(axis=1))
    in_top5 = np.mean([best[row] in np.argsort(b[row])[-5:] for row in range(len(best))])
    # Quantization moves logits a little: near-ties may flip, a clear choice may not.
    assert same >= 0.6 and in_top5 >= 0.9, (same, in_top5)
    assert np.abs(a - b)[masks].max() > 0, "an int8 network that equals the float one is not quantized"


def test_placer_place_runtime_int8_and_what_it_refuses(quantized, tmp_path, capsys):
    assert placer_main(["place", "sample_clustered", "--runtime", "int8", "-o", str(tmp_path / "a"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["inference"] == "onnxruntime int8"
    assert placer_main(["place", "sample_clustered", "--checkpoint", str(quantized), "-o", str(tmp_path / "b"),
                        "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["inference"] == "onnxruntime int8"
    for extra in (["--checkpoint", str(bundled_checkpoint())], ["--finetune-steps", "8"]):
        assert placer_main(["place", "sample_clustered", "--runtime", "int8", *extra, "-o", str(tmp_path / "c")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "Traceback" not in err[0], (extra, err)


def test_train_py_export_int8_refuses_bad_calibration_designs_and_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "p.onnx"
    assert train_main(["export", str(bundled_checkpoint()), "-o", str(out), "--int8", "--calibrate", "nosuch"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir()), "nothing half-written is left"
