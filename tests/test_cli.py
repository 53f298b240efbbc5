"""The placer command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from placer.cli import main

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
    assert main(["info", "macro_tiles_10x10", "--plc", "none"]) == 0
    out = capsys.readouterr().out
    assert "hard_macros" in out and "grid_cols           10" in out


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
