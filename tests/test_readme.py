"""README.md cannot drift: every Python snippet runs as pasted, every command line runs.

Each ``python`` block is executed on its own, in a fresh namespace and an empty folder, and
must print something. Each ``placer`` and ``python train.py`` line of a ``bash`` block is
parsed by the real argument parser (so every option it shows exists and takes the values
shown) and run, and must exit 0:

* the quick ones (reading, scoring, drawing, greedy and zero-shot placement of bundled
  designs) as written, each in an empty folder;
* the rest (annealing for minutes, training, clustering, fine-tuning) in README order in one
  folder, so that a line finds what the lines before it wrote (``runs/pre/final.zip``,
  ``c.pb.txt.gz``), with their budgets cut to seconds (``SMALL``) and a small flat netlist as
  the ``flat.pb.txt.gz`` the examples name (and the ``path/to`` files: that netlist, its
  ``.plc``, Bookshelf ibm01 of ``../shared/data``).
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


def options(argv: list[str]) -> dict[str, list[str]]:
    """A command's ``--option value ...`` groups (each option with the words up to the next option)."""
    groups: dict[str, list[str]] = {}
    for word in argv:
        if word.startswith("--"):
            groups[word] = current = []
        elif groups:
            current.append(word)
    return groups


def with_elided(argv: list[str], line: str) -> list[str]:
    """A ``train.py COMMAND ... --more`` line: the options of the README's last full line of COMMAND, then its own."""
    if "..." not in line:
        return argv
    full = next(words(other)[2:] for other in reversed(COMMANDS[: COMMANDS.index(line)])
                if "..." not in other and words(other)[2:3] == argv[:1])  # fmt: skip
    own = options(argv)
    kept = [part for key, values in options(full).items() if key not in own for part in (key, *values)]
    return [argv[0], *kept, *argv[1:]]


def arguments(line: str, argv: list[str]) -> tuple[bool, list[str]]:
    """Whether ``line`` is a ``placer`` command, and the arguments its entry point takes (``argv``: its words)."""
    if argv[0] == "placer":
        return True, argv[1:]
    return False, with_elided(argv[2:], line)


@pytest.mark.parametrize("line", COMMANDS)
def test_a_command_line_parses_and_the_quick_ones_run(line, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    placer, argv = arguments(line, words(line))
    entry, parser = (main, build_parser()) if placer else (train_cli.main, train_cli.build_parser())
    for word in argv:  # the models a line names exist, so that it parses
        if word.endswith(".zip"):
            Path(word).parent.mkdir(parents=True, exist_ok=True)
            zipfile.ZipFile(word, "w").close()
        elif word.endswith(".onnx"):
            Path(word).parent.mkdir(parents=True, exist_ok=True)
            Path(word).touch()
    parser.parse_args(argv)  # exits on anything the parser does not take
    if not placer or any(slow in f" {line} " for slow in SLOW):
        return
    assert entry(argv) == 0, capsys.readouterr().err
    assert_ignored(tmp_path)


SMALL = {"--budget": "4", "--moves": "2000", "--finetune-steps": "16", "--timesteps": "16", "--anneal-seconds": "0.2",
         "--epochs": "1", "--envs": "1"}  # fmt: skip
"""A slow line's budgets, cut to seconds."""
TRAINING_EXTRA = {
    "imitate": {"--no-progress": None},
    "pretrain": {"--n-steps": "8", "--no-progress": None},
    "finetune": {"--n-steps": "8", "--no-progress": None},
    "anneal": {"--n-steps": "64", "--max-moves": "8192", "--envs": "1", "--no-progress": None},
    "export": {"--calibrate": "synthetic:3@24"},
}
"""And the options a training line leaves out, as given (``None``: a flag): short rollouts (one
minibatch), annealing runs of 8,192 moves, no progress bar, int8 calibrated on one small design."""
SLOW_COMMANDS = [line for line in COMMANDS if line.split()[0] != "placer" or any(s in f" {line} " for s in SLOW)]


def small_budget(argv: list[str], training: bool) -> list[str]:
    """``argv`` with its budgets as in ``SMALL``, ranges of generated designs cut to two, and ``TRAINING_EXTRA``."""
    cut = [SMALL[argv[i - 1]] if i and argv[i - 1] in SMALL else word for i, word in enumerate(argv)]
    cut = [re.sub(r"^synthetic:(\d+)-\d+$", lambda m: f"synthetic:{m[1]}-{int(m[1]) + 1}", word) for word in cut]
    extra = TRAINING_EXTRA.get(argv[0], {}) if training else {}
    return cut + [word for key, value in extra.items() if key not in argv for word in (key, value) if word is not None]


@pytest.fixture(scope="module")
def readme_folder(tmp_path_factory):
    """The one folder the slow lines run in, with the flat netlist the examples name."""
    import numpy as np

    import netlists
    from tests.random_designs import flat_design

    folder = tmp_path_factory.mktemp("readme")
    netlist, placement, floorplan = flat_design(np.random.default_rng(11), n_cells=400, n_nets=600)
    netlists.write_pb(netlist, placement, folder / "flat.pb.txt.gz")
    netlists.write_plc(netlists.Design(netlist, floorplan, placement, {}, "flat.pb.txt.gz"), folder / "flat.plc")
    return folder


def placeholders_filled(argv: list[str]) -> list[str]:
    """``path/to/...`` files of the README's examples as files of ``readme_folder`` or ``../shared``."""
    shared = ROOT.parent / "shared" / "data"
    files = {
        "path/to/netlist.pb.txt.gz": "flat.pb.txt.gz",
        "path/to/flat.pb.txt.gz": "flat.pb.txt.gz",
        "path/to/placement.plc": "flat.plc",
        "path/to/ibm01.aux": str(shared / "bookshelf" / "ibm01" / "ibm01.aux"),
    }
    return [files.get(word, word) for word in argv]


@pytest.mark.parametrize("line", SLOW_COMMANDS)
def test_a_slow_command_line_runs_in_order_on_a_small_budget(line, readme_folder, monkeypatch, capsys):
    monkeypatch.chdir(readme_folder)
    placer, argv = arguments(line, placeholders_filled(words(line)))
    entry = main if placer else train_cli.main
    shared = ROOT.parent / "shared"  # the README's ../shared, from the repository's root
    if any(word.startswith(("../shared/", str(shared))) for word in argv) and not shared.is_dir():
        pytest.skip(f"needs {shared}")
    argv = [str(shared / word.removeprefix("../shared/")) if word.startswith("../shared/") else word for word in argv]
    assert entry(small_budget(argv, training=not placer)) == 0, capsys.readouterr().err


def assert_ignored(folder: Path) -> None:
    """What a snippet wrote, written in the repository's root instead, is ignored by git there."""
    for path in folder.iterdir():
        if shutil.which("git") and (ROOT / ".git").exists():
            name = f"{path.name}/" if path.is_dir() else path.name  # so that git matches folder patterns
            done = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", name], check=False)
            assert done.returncode == 0, f"{path.name}: written by a README snippet, not in .gitignore"
