"""README.md cannot drift: every Python snippet runs as pasted, every command line parses.

Each ``python`` block is executed on its own, in a fresh namespace and an empty folder, and
must print something. Each ``placer`` and ``python train.py`` line of a ``bash`` block is
parsed by the real argument parser (so every option it shows exists and takes the values
shown); the quick ones (reading, scoring, drawing, greedy and zero-shot placement of bundled
designs) are also run and must exit 0. The rest (annealing for minutes, training, clustering
a flat netlist, placeholders such as ``path/to``) are parsed only.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from placer.agent import cli as train_cli
from placer.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(python|bash)\n(.*?)^```", README, re.S | re.M)
PYTHON = [code for kind, code in BLOCKS if kind == "python"]
SLOW = ("--budget", "--finetune-steps", "--method sa", "--cd", "--moves", " cluster ", " fd ", "path/to", "runs/",
        "c.pb.txt.gz", "flat.pb", "clustered.pb", "../shared", "out/sa/")  # fmt: skip


def command_lines() -> list[str]:
    lines = []
    for kind, code in BLOCKS:
        if kind != "bash":
            continue
        for line in code.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].split(" # ")[0].strip()
            if line.startswith(("placer ", "python train.py ")):
                lines.append(line)
    return lines


COMMANDS = list(dict.fromkeys(command_lines()))  # a line shown twice runs once


def test_the_readme_has_snippets():
    assert len(PYTHON) >= 8 and len(COMMANDS) >= 30


@pytest.mark.parametrize("code", PYTHON, ids=lambda code: code.splitlines()[-1][:60])
def test_a_python_snippet_runs_as_pasted(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    assert printed.getvalue().strip(), "the snippet prints what it shows"
    assert_ignored(tmp_path)


def words(line: str) -> list[str]:
    """The arguments of a command line, with ``[optional parts]`` and ``...`` elisions dropped."""
    line = re.sub(r"\[[^\]]*\]", "", line)
    return [w for w in shlex.split(line) if w != "..."]


ELIDED = {  # what a `train.py COMMAND ...` line leaves out: the required options, each with a value
    "pretrain": {"--designs": "synthetic:0", "--timesteps": "1"},
    "finetune": {"--from": "x.zip", "--design": "ariane133", "--timesteps": "1"},
    "anneal": {"--designs": "synthetic:0", "--timesteps": "1"},
}


@pytest.mark.parametrize("line", COMMANDS)
def test_a_command_line_parses_and_the_quick_ones_run(line, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = words(line)
    placer = argv[0] == "placer"
    entry, parser = (main, build_parser()) if placer else (train_cli.main, train_cli.build_parser())
    argv = argv[1:] if placer else argv[2:]
    if "..." in line:  # the options an elided line shows go with the required ones it leaves out
        left_out = [part for key, value in ELIDED[argv[0]].items() if key not in argv for part in (key, value)]
        argv = [argv[0], *left_out, *argv[1:]]
    for word in argv:  # the models a line names exist, so that it parses
        if word.endswith(".zip"):
            Path(word).parent.mkdir(parents=True, exist_ok=True)
            zipfile.ZipFile(word, "w").close()
    parser.parse_args(argv)  # exits on anything the parser does not take
    if not placer or any(slow in f" {line} " for slow in SLOW):
        return
    assert entry(argv) == 0, capsys.readouterr().err
    assert_ignored(tmp_path)


def assert_ignored(folder: Path) -> None:
    """What a snippet wrote, written in the repository's root instead, is ignored by git there."""
    for path in folder.iterdir():
        if shutil.which("git") and (ROOT / ".git").exists():
            name = f"{path.name}/" if path.is_dir() else path.name  # so that git matches folder patterns
            done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", name], check=False)
            assert done.returncode == 0, f"{path.name}: written by a README snippet, not in .gitignore"
