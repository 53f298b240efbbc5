"""The placer command line."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import zipfile

import matplotlib.image
import pytest

from placer.cli import CommandError, build_parser, main, to_json

INFO_KEYS = (
    "hard_macros soft_macros std_cells ports pins nets weighted_nets canvas_width canvas_height grid_cols grid_rows"
)


def test_info_json(capsys):
    assert main(["info", "ariane133", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(INFO_KEYS.split()) <= set(info)
    assert (info["hard_macros"], info["soft_macros"], info["ports"], info["nets"]) == (133, 782, 495, 12422)
    assert info["weighted_nets"] == 22584
    assert (info["grid_cols"], info["grid_rows"], info["canvas_width"]) == (24, 21, 1433.406)


def test_info_table_and_plc_none(capsys):
    assert main(["info", "macro_tiles_10x10", "--plc", "none", "--grid", "10x10"]) == 0
    out = capsys.readouterr().out
    assert "hard_macros" in out and "grid_cols           10" in out and "grid_from           --grid" in out
    assert main(["info", "macro_tiles_10x10", "--plc", "none"]) == 0
    out = capsys.readouterr().out
    assert "grid_from           chosen:" in out and "grid_choice" not in out, "the table says it in one line"


def test_bad_input_prints_one_line_and_fails(tmp_path):
    bad = tmp_path / "bad.pb.txt"
    bad.write_text('node {\n  name: "a"\n  attr { key: "type" value { placeholder: "WHAT" } }\n}\n')
    run = subprocess.run(
        [sys.executable, "-m", "placer.cli", "info", str(bad)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"placer: error: {bad}:2:")
    assert "type must be one of" in run.stderr


def test_output_into_a_closed_pipe_is_quiet():
    # The reader goes away before placer writes (its start-up alone takes far longer), as with `| head`.
    proc = subprocess.Popen(
        [sys.executable, "-m", "placer.cli", "info", "ariane133"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    with proc.stderr:
        stderr = proc.stderr.read()
    assert proc.wait() == 0
    assert stderr == ""


EVAL_KEYS = "wirelength wirelength_cost density_cost congestion_cost proxy_cost overlap_area outside_area"


def test_eval_json_matches_the_recorded_costs(capsys):
    assert main(["eval", "ariane133", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(EVAL_KEYS.split()) <= set(result)
    for term in ("wirelength_cost", "density_cost", "congestion_cost"):
        assert round(result[term], 4) == result["recorded_costs"][term]
    expected = result["wirelength_cost"] + 0.5 * result["density_cost"] + 0.5 * result["congestion_cost"]
    assert abs(result["proxy_cost"] - expected) < 1e-12


def test_eval_table_with_weights(capsys):
    assert main(["eval", "macro_tiles_10x10", "--plc", "none", "--weights", "1,1,0"]) == 0
    out = capsys.readouterr().out
    assert "wirelength_cost      0.007746" in out
    proxy = float(next(line for line in out.splitlines() if line.startswith("proxy_cost")).split()[1])
    assert abs(proxy - (0.007745966692414834 + 0.3570806661517036)) < 1e-6


def test_eval_separate_congestion_grid_changes_only_congestion(capsys):
    assert main(["eval", "ariane133", "--json"]) == 0
    legacy = json.loads(capsys.readouterr().out)
    assert main(["eval", "ariane133", "--json", "--congestion-grid", "separate", "--smoothing", "5"]) == 0
    separate = json.loads(capsys.readouterr().out)
    assert separate["wirelength_cost"] == legacy["wirelength_cost"]
    assert separate["density_cost"] == legacy["density_cost"]
    assert separate["congestion_cost"] != legacy["congestion_cost"]


def test_eval_bad_weights_fail_with_one_message(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["eval", "ariane133", "--weights", "1,x"])
    assert stop.value.code == 2
    assert "expected three non-negative numbers" in capsys.readouterr().err


def write_flat(tmp_path):
    import numpy as np

    import netlists
    from tests.random_designs import flat_design

    nl, pl, _ = flat_design(np.random.default_rng(11), n_cells=400, n_nets=600)
    path = tmp_path / "flat.pb.txt"
    netlists.write_pb(nl, pl, path)
    return path


def test_cluster_then_fd_then_eval(tmp_path, capsys):
    import netlists

    flat = write_flat(tmp_path)
    out = tmp_path / "clustered.pb.txt.gz"
    assert main(["cluster", str(flat), "-o", str(out), "--clusters", "30"]) == 0
    plc = tmp_path / "clustered.plc"
    assert out.exists() and plc.exists()
    assert "clusters from 400 std cells" in capsys.readouterr().out
    for engine in ("fd", "fd-electrostatic", "analytic"):
        placed = tmp_path / f"{engine}.plc"
        assert main(["fd", str(out), "--plc", str(plc), "-o", str(placed), "--engine", engine]) == 0
        assert "proxy cost" in capsys.readouterr().out
        design = netlists.load(out, plc=placed)
        soft = design.netlist.nodes_of(netlists.NodeKind.SOFT_MACRO)
        assert design.placement.is_placed[soft].all()
        assert main(["eval", str(out), "--plc", str(placed), "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["recorded_costs"]["density_cost"] == pytest.approx(result["density_cost"])


def test_fd_places_the_std_cells_of_a_flat_netlist(tmp_path, capsys):
    import netlists

    flat = write_flat(tmp_path)
    placed = tmp_path / "flat.plc"
    assert main(["fd", str(flat), "--plc", "none", "-o", str(placed)]) == 0
    assert "400 std cells (analytic)" in capsys.readouterr().out
    design = netlists.load(flat, plc=placed)
    assert design.placement.is_placed.all()


def test_cluster_rejects_a_bad_output_name(tmp_path, capsys):
    flat = write_flat(tmp_path)
    assert main(["cluster", str(flat), "-o", str(tmp_path / "out.txt")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must be a .pb.txt" in err


def test_place_writes_plc_picture_and_costs_that_eval_agrees_with(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["place", "toy_macro_stdcell", "--method", "sa", "--moves", "500", "--seed", "3", "-o", str(out),
                 "--json"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert set(EVAL_KEYS.split()) | {"runtime_s", "method"} <= set(result)
    assert result["method"] == "sa" and result["moves"] == 500 and result["overlap_area"] == 0.0
    assert json.loads((out / "cost.json").read_text()) == result
    image = matplotlib.image.imread(out / "layout.png")
    assert image.shape[1] >= 600 and image.shape[0] >= 300, "the figure of placer.plot, axes and legend included"
    assert image[..., :3].std() > 0.1, "something is drawn"
    assert main(["eval", "toy_macro_stdcell", "--plc", str(out / "placement.plc"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert abs(evaluated["proxy_cost"] - result["proxy_cost"]) < 1e-12
    for key in ("wirelength", "wirelength_cost", "density_cost", "congestion_cost"):  # the .plc header records them
        assert evaluated["recorded_costs"][key] == pytest.approx(result[key], rel=1e-12)
    assert main(["place", "macro_tiles_10x10", "--method", "greedy", "--cd", "-o", str(out)]) == 0
    assert "greedy+cd: proxy cost" in capsys.readouterr().out


def test_place_analytic_prints_its_stages_and_writes_them_in_cost_json(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["place", "toy_macro_stdcell", "--method", "analytic", "--moves", "300", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("analytic: proxy cost") and "300 annealing moves" in printed
    stages = [line.split()[0] for line in printed.splitlines() if line.startswith("  ")]
    assert stages == ["global", "legalize", "soft", "polish"]
    written = json.loads((out / "cost.json").read_text())
    assert [stage["name"] for stage in written["stages"]] == stages
    assert written["stages"][-1]["proxy_cost"] == written["proxy_cost"] and written["overlap_area"] == 0.0


def test_place_finishes_random_greedy_and_the_policy_with_the_soft_macro_stage(tmp_path, capsys):
    costs = {}
    for method, moves in (("greedy", "0"), ("greedy", "3000"), ("rl", "3000")):
        out = tmp_path / f"{method}{moves}"
        assert main(["place", "ariane133", "--method", method, "--soft-moves", moves, "-o", str(out), "--json"]) == 0
        costs[method, moves] = result = json.loads(capsys.readouterr().out)
        assert ("soft_stage_s" in result) == (moves != "0")
    assert costs["greedy", "3000"]["proxy_cost"] < costs["greedy", "3000"]["fd_proxy_cost"]
    assert costs["greedy", "3000"]["fd_proxy_cost"] == pytest.approx(costs["greedy", "0"]["proxy_cost"], abs=1e-12)
    assert costs["rl", "3000"]["proxy_cost"] <= costs["rl", "3000"]["fd_proxy_cost"]
    for method in (["sa", "--moves", "100"], ["analytic", "--moves", "100"], ["rl", "--moves", "100"]):
        assert main(["place", "toy_macro_stdcell", "--method", *method, "--soft-moves", "10", "-o",
                     str(tmp_path / "no")]) == 2  # fmt: skip
        err = capsys.readouterr().err.strip()
        assert "--soft-moves goes with random, greedy and rl zero-shot" in err and "\n" not in err


def test_place_reports_a_canvas_too_full_in_one_line(tmp_path, capsys):
    # On Circuit Training's default 10 x 10 grid the macro's centre cannot sit where it would fit.
    assert main(["place", "ariane_one_hard", "--method", "greedy", "--grid", "10x10", "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("placer: error:") and "too full" in err and "\n" not in err
    assert not (tmp_path / "x").exists(), "nothing is written when placing fails"
    chosen = ["place", "ariane_one_hard", "--method", "greedy", "-o", str(tmp_path / "y")]
    assert main(chosen) == 0, "on a grid chosen for it the macro fits"


def test_place_several_designs_writes_a_folder_each_and_goes_on_past_one_that_fails(tmp_path, capsys):
    out = tmp_path / "many"
    assert main(["place", "toy_macro_stdcell", "macro_tiles_10x10", "--method", "sa", "--moves", "400",
                 "-o", str(out), "--json"]) == 0  # fmt: skip
    results = json.loads(capsys.readouterr().out)
    assert [r["design"] for r in results] == ["toy_macro_stdcell", "macro_tiles_10x10"]
    for result in results:
        assert json.loads((out / result["design"] / "cost.json").read_text()) == result
        assert main(["place", result["design"], "--method", "sa", "--moves", "400", "-o", str(tmp_path / "one"),
                     "--json"]) == 0  # fmt: skip
        assert json.loads(capsys.readouterr().out)["proxy_cost"] == result["proxy_cost"], "as placed alone"
    # ariane_one_hard does not fit a 10 x 10 grid: one line for it, the other design still placed.
    code = main(["place", "ariane_one_hard", "toy_macro_stdcell", "--method", "greedy", "--grid", "10x10",
                 "-o", str(tmp_path / "some")])  # fmt: skip
    printed = capsys.readouterr()
    failed = [line for line in printed.err.splitlines() if line.startswith("placer: error:")]
    assert code == 2 and len(failed) == 1 and "ariane_one_hard" in failed[0] and "too full" in failed[0]
    assert "| toy_macro_stdcell | greedy |" in printed.out
    assert sorted(p.name for p in (tmp_path / "some").iterdir()) == ["toy_macro_stdcell"]
    for argv, message in ((["--plc", str(out / "toy_macro_stdcell" / "placement.plc")], "--plc names one design"),
                          (["--grid", "12x12"], "two designs are named")):  # fmt: skip
        designs = ["toy_macro_stdcell", "macro_tiles_10x10" if argv[0] == "--plc" else "toy_macro_stdcell"]
        assert main(["place", *designs, *argv, "--method", "greedy", "-o", str(tmp_path / "no")]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err and not (tmp_path / "no").exists()


@pytest.mark.parametrize("what", ["layout", "density", "congestion"])
def test_plot_writes_a_figure(tmp_path, capsys, what):
    out = tmp_path / f"{what}.png"
    assert main(["plot", "ariane133", "--what", what, "--flylines", "3", "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and "wrote" in capsys.readouterr().out


def test_place_uses_the_bundled_policy_zero_shot_by_default(tmp_path, capsys):
    assert main(["place", "ariane133", "-o", str(tmp_path / "rl"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "rl" and not result["backed_off"]
    assert result["overlap_area"] == 0.0 and result["outside_area"] == 0.0
    assert (tmp_path / "rl" / "placement.plc").is_file() and (tmp_path / "rl" / "layout.png").is_file()


def test_place_with_the_bundled_policy_then_coordinate_descent(tmp_path, capsys):
    out = tmp_path / "rl"
    assert (
        main(["place", "toy_macro_stdcell", "--method", "rl", "--samples", "1", "--cd", "-o", str(out), "--json"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "rl+cd" and result["overlap_area"] == 0.0 and result["runtime_s"] > 0


def test_place_fine_tunes_the_policy_for_some_steps(tmp_path, capsys):
    out = tmp_path / "ft"
    args = ["place", "toy_macro_stdcell", "--samples", "1", "--finetune-steps", "32", "--fd", "circuit_training"]
    assert main([*args, "-o", str(out), "--json"]) == 0
    printed = capsys.readouterr()
    result = json.loads(printed.out)
    assert result["method"] == "rl+finetune" and result["overlap_area"] == 0.0 and (out / "placement.plc").is_file()
    assert result["finetune_steps"] == 32, "rollouts fit the budget"
    assert result["finetune_episodes"] > 0 and result["episodes"] == 2
    assert printed.err == "", "--json is quiet"
    assert main([*args, "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    for stage in ("zero-shot", "fine-tuning", "tuned policy"):  # each stage reports up to its end
        assert any(line.strip().startswith(f"{stage} 100%") for line in err), (stage, err)
    assert main([*args, "-o", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_place_with_a_budget_runs_learned_annealing_from_the_analytic_or_the_policys_start(tmp_path, capsys):
    out = tmp_path / "la"
    # The budget includes importing torch and loading the controller (1-3 s on a loaded VM).
    args = ["place", "toy_macro_stdcell", "--budget", "5", "--fd", "circuit_training", "-o", str(out)]
    assert main([*args, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "analytic+learned-sa" and result["budget_s"] == 5.0 and result["moves"] > 0
    assert [stage["name"] for stage in result["stages"]] == ["global", "legalize", "soft", "polish"]
    assert result["overlap_area"] == 0.0 and 1.5 <= result["runtime_s"] < 10
    assert main([*args, "--start", "policy", "--samples", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "rl+learned-sa" and result["budget_s"] == 5.0 and result["moves"] > 0
    assert result["overlap_area"] == 0.0 and 1.5 <= result["runtime_s"] < 10
    # tuned first, in the same budget
    tuned = ["place", "toy_macro_stdcell", "--samples", "1", "--budget", "4", "--fd", "circuit_training",
             "-o", str(out), "--start", "policy", "--finetune-steps", "32", "--json"]  # fmt: skip
    assert main(tuned) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "rl+finetune+learned-sa" and result["finetune_steps"] <= 32 and result["moves"] > 0
    # Bounded by the budget, not by annealing's default minute; how tightly is measured by
    # bench_designs_in.py (--budget 60 wall time), not here, where a loaded VM adds seconds.
    assert result["overlap_area"] == 0.0 and result["runtime_s"] < 10


@pytest.mark.parametrize(
    "argv",
    [
        ["place", "toy_macro_stdcell", "--budget", "nan", "-o", "out"],
        ["place", "toy_macro_stdcell", "--budget", "-1", "-o", "out"],
        ["place", "toy_macro_stdcell", "--budget", "inf", "-o", "out"],
        ["place", "toy_macro_stdcell", "--moves", "0", "-o", "out"],
        ["place", "toy_macro_stdcell", "--moves", "1.5", "-o", "out"],
        ["place", "toy_macro_stdcell", "--seed", "-1", "-o", "out"],
        ["place", "toy_macro_stdcell", "--samples", "0", "-o", "out"],
        ["place", "toy_macro_stdcell", "--finetune-steps", "-3", "-o", "out"],
        ["place", "toy_macro_stdcell", "--weights", "1,nan,1", "-o", "out"],
        ["fd", "toy_macro_stdcell", "--seed", "-1", "-o", "out.plc"],
        ["cluster", "x.pb.txt", "--clusters", "-5", "-o", "c.pb.txt"],
        ["cluster", "x.pb.txt", "--bloat", "nan", "-o", "c.pb.txt"],
        ["cluster", "x.pb.txt", "--balance", "0.5", "-o", "c.pb.txt"],
        ["eval", "toy_macro_stdcell", "--smoothing", "-2"],
        ["plot", "toy_macro_stdcell", "--flylines", "-1", "-o", "p.png"],
        ["nosuch"],
        ["place", "toy_macro_stdcell"],
    ],
)
def test_bad_arguments_get_one_line_and_exit_status_2(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and err.startswith("placer") and "error: " in err and "\n" not in err
    assert not any(tmp_path.iterdir()), "nothing written"


def test_json_output_refuses_numbers_that_are_not_finite():
    assert to_json({"a": [1.0, 2]}) == '{"a": [1.0, 2]}'
    for bad, where in (({"a": [1.0, math.nan]}, "a[1]"), ({"b": {"c": math.inf}}, "b.c")):
        with pytest.raises(CommandError, match=rf"not finite at {re.escape(where)}"):
            to_json(bad)


def test_place_checks_its_output_before_working_and_replaces_the_set_whole(tmp_path, capsys):
    taken = tmp_path / "file"
    taken.write_text("mine")
    assert main(["place", "toy_macro_stdcell", "--method", "greedy", "-o", str(taken)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err and taken.read_text() == "mine"
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    (out / "cost.json").write_text("old")
    assert main(["place", "toy_macro_stdcell", "--method", "greedy", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["cost.json", "layout.png", "notes.txt", "placement.plc"]
    assert (out / "notes.txt").read_text() == "keep" and json.loads((out / "cost.json").read_text())["method"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out"], "no temporary folder left"


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_killed_place_leaves_the_old_set_and_no_temporary_file(tmp_path, how):
    out = tmp_path / "out"
    assert main(["place", "toy_macro_stdcell", "--method", "greedy", "-o", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    process = subprocess.Popen([sys.executable, "-m", "placer.cli", "place", "toy_macro_stdcell", "--method", "sa",
                                "--moves", "50000000", "-o", str(out)], stderr=subprocess.PIPE, text=True)  # fmt: skip
    for _ in range(600):  # wait until annealing runs (it prints its progress)
        line = process.stderr.readline()
        if "annealing" in line or not line:
            break
    process.send_signal(how)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_version_comes_from_the_package_metadata(capsys):
    import importlib.metadata

    import placer

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert (
        capsys.readouterr().out.strip()
        == f"placer {importlib.metadata.version('rlplace')}"
        == f"placer {placer.__version__}"
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "greedy", "--checkpoint", "x.zip"], "--checkpoint goes with --method rl"),
        (["--method", "sa", "--finetune-steps", "100"], "--finetune-steps goes with --method rl"),
        (["--method", "sa", "--controller", "c.zip"], "--controller goes with --method rl"),
        (["--method", "greedy", "--threads", "2"], "--threads goes with --method rl"),
        (["--method", "rl", "--controller", "c.zip"], "--controller goes with --method rl and --budget"),
        (["--method", "rl", "--start", "policy"], "--start goes with --method rl and --budget"),
        (["--method", "sa", "--start", "analytic"], "--start goes with --method rl and --budget"),
        (["--budget", "5", "--finetune-steps", "8"], "--finetune-steps plays the policy"),
        (["--budget", "5", "--runtime", "onnx"], "--runtime plays the policy"),
        (["--method", "greedy", "--pull", "0.5"], "--pull goes with sa, analytic and rl with --budget"),
        (["--method", "rl", "--pull", "0.5"], "--pull goes with sa, analytic and rl with --budget"),
    ],
)
def test_options_that_do_not_apply_to_the_method_are_refused(extra, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("x.zip", "c.zip"):  # models that exist, so the combination is what is refused
        zipfile.ZipFile(name, "w").close()
    assert main(["place", "toy_macro_stdcell", *extra, "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("method", [["--method", "sa"], ["--method", "analytic"], ["--method", "rl", "--budget", "5"]])
def test_pull_reaches_the_annealing_of_every_method_that_anneals(method, tmp_path, capsys, monkeypatch):
    from placer.baselines import annealing

    shares = []
    original = annealing.AnnealState.__init__

    def recording(self, model, placement, weights, settings, *rest):
        shares.append(settings.pull_share)
        original(self, model, placement, weights, settings, *rest)

    monkeypatch.setattr(annealing.AnnealState, "__init__", recording)
    out = str(tmp_path / "o")
    assert main(["place", "toy_macro_stdcell", *method, "--moves", "300", "--pull", "0.25", "-o", out]) == 0
    assert shares and set(shares) == {0.25}
    with pytest.raises(SystemExit) as stop:
        main(["place", "toy_macro_stdcell", *method, "--pull", "1.5", "-o", out])
    assert stop.value.code == 2 and "expected a number from 0 to 1" in capsys.readouterr().err


def test_fd_names_its_output_plc_or_refuses(tmp_path, capsys):
    assert main(["fd", "toy_macro_stdcell", "-o", str(tmp_path / "x.png")]) == 2
    assert "writes a .plc" in capsys.readouterr().err and not (tmp_path / "x.png").exists()


def test_a_netlist_with_no_plc_gets_a_chosen_grid_and_says_so(tmp_path, capsys):
    flat = write_flat(tmp_path)
    assert main(["info", str(flat), "--json"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["plc_file"] is None and info["grid_from"].startswith("chosen")
    assert (info["grid_cols"], info["grid_rows"]) == (info["grid_choice"]["cols"], info["grid_choice"]["rows"])
    assert "has no .plc giving a grid (looked for" in captured.err and "flat.plc" in captured.err
    assert main(["info", str(flat), "--json", "--grid", "12x9"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["grid_cols"], info["grid_rows"], info["grid_from"]) == (12, 9, "--grid")
    for bad in ("0x5", "12", "axb"):
        with pytest.raises(SystemExit) as stopped:
            main(["info", str(flat), "--grid", bad])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "expected COLSxROWS" in err


def test_cluster_writes_the_chosen_grid_and_later_commands_find_its_plc(tmp_path, capsys):
    flat = write_flat(tmp_path)
    assert main(["info", str(flat), "--json"]) == 0
    chosen = json.loads(capsys.readouterr().out)["grid_choice"]
    out = tmp_path / "clustered.pb.txt.gz"
    assert main(["cluster", str(flat), "-o", str(out), "--clusters", "30"]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["plc_file"] == info["grid_from"] == str(tmp_path / "clustered.plc") and captured.err == ""
    assert (info["grid_cols"], info["grid_rows"]) == (chosen["cols"], chosen["rows"])
    assert main(["place", str(out), "--method", "greedy", "-o", str(tmp_path / "run"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overlap_area"] == 0.0


def test_fine_tuning_places_the_design_as_loaded_with_a_grid_option(tmp_path, capsys):
    argv = ["place", "toy_macro_stdcell", "--grid", "12x12", "--finetune-steps", "8", "--samples", "1",
            "--fd", "circuit_training", "-o", str(tmp_path / "o"), "--json"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "rl+finetune" and result["finetune_steps"] == 8 and result["overlap_area"] == 0.0
    assert "Columns : 12 Rows : 12" in " ".join((tmp_path / "o" / "placement.plc").read_text().split())


def test_a_fifo_as_plc_is_refused_in_one_line_instead_of_blocking(tmp_path):
    fifo = tmp_path / "p.plc"
    os.mkfifo(fifo)
    run = subprocess.run([sys.executable, "-m", "placer.cli", "eval", "toy_macro_stdcell", "--plc", str(fifo)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "not a regular file" in run.stderr


JSON_COMMANDS = {  # every command, with --json: stdout is one JSON object and nothing else
    "info": ["info", "toy_macro_stdcell"],
    "eval": ["eval", "toy_macro_stdcell"],
    "place": ["place", "toy_macro_stdcell", "--method", "greedy", "-o", "out"],
    "plot": ["plot", "toy_macro_stdcell", "-o", "p.png"],
    "fd": ["fd", "sample_clustered", "-o", "f.plc"],
    "cluster": ["cluster", "toy_macro_stdcell", "-o", "c.pb.txt", "--clusters", "3"],
}


@pytest.mark.parametrize("command", list(JSON_COMMANDS))
def test_every_command_prints_one_json_object(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*JSON_COMMANDS[command], "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert isinstance(printed, dict) and printed


def test_train_py_prints_one_json_object(tmp_path, capsys):
    from placer.agent import cli as train_cli

    args = ["pretrain", "--designs", "toy_macro_stdcell", "--timesteps", "32", "--envs", "1", "--n-steps", "32",
            "--batch-size", "32", "--max-grid", "32", "--device", "cpu", "--json", "--out", str(tmp_path)]  # fmt: skip
    assert train_cli.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["final"] == str(tmp_path / "final.zip") and printed["steps"] == 32


@pytest.mark.parametrize("command", ["pretrain", "anneal"])
def test_train_py_ray_without_ray_installed_says_how_to_get_it(command, tmp_path, capsys, monkeypatch):
    from placer.agent import cli as train_cli

    monkeypatch.setattr(train_cli, "ray_available", lambda: False)
    args = [command, "--designs", "toy_macro_stdcell", "--timesteps", "32", "--ray", "--out", str(tmp_path / "r")]
    assert train_cli.main(args) == 2
    assert capsys.readouterr().err == 'train.py: error: --ray needs Ray: pip install -e ".[ray]"\n'
    assert not (tmp_path / "r").exists(), "refused before the run folder is made"


def sub_commands(parser):
    return parser._subparsers._group_actions[0].choices.items()  # argparse keeps them there


def test_every_help_shows_the_defaults():
    from placer.agent import cli as train_cli

    for prog, parser in (("placer", build_parser()), ("train.py", train_cli.build_parser())):
        for name, command in sub_commands(parser):
            for action in command._actions:
                if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                    formatter = command._get_formatter()
                    formatter.add_argument(action)
                    shown = " ".join(formatter.format_help().split())
                    assert "default" in shown, f"{prog} {name} {action.option_strings[-1]}: {shown}"
