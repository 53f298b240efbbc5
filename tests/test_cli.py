"""The placer command line."""

from __future__ import annotations

import json
import subprocess
import sys

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
