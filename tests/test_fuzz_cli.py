"""Every class of bad input, through the command line: exit 2 and one line, or the right score.

Each case is a generated variant of a real file of the shared data (Circuit Training's
``sample_clustered`` design and its ``.plc``, its ``toy_macro_stdcell`` netlist, and that netlist
written as Bookshelf), or a bad argument or path. A variant gets either exit status 2 and one
line on stderr naming the problem, with nothing written, or, where it is still valid, exit 0
and the score that the plain reference evaluator (``reference_cost.py``) gives what was read.
"""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest
import reference_cost
from test_fuzz import corrupt

import netlists
from placer.agent import cli as train_cli
from placer.cli import main

CASES = 40  # random corruptions per file kind


def command(argv: list[str], capsys, entry=main) -> tuple[int, str, str]:
    """Run ``placer argv`` (or another command line's ``entry``) in this process: exit status, stdout, stderr."""
    try:
        code = entry(argv)
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, prog: str = "placer") -> None:
    lines = err.strip().splitlines()
    assert code == 2, f"exit {code}: {err!r}"
    assert len(lines) == 1 and lines[0].startswith(prog) and "error: " in lines[0], err


def assert_refused_or_scored(code: int, out: str, err: str, folder, plc=None) -> None:
    """Exit 2 in one line, or exit 0 with the reference evaluator's score of what loads."""
    if code != 0:
        assert_refused(code, err)
        return
    design = netlists.load(folder, plc=plc) if plc is not None else netlists.load(folder)
    expected = reference_cost.proxy_cost(design.netlist, design.placement, design.floorplan)
    scored = json.loads(out)
    for term in ("wirelength_cost", "density_cost", "congestion_cost", "proxy_cost"):
        assert scored[term] == pytest.approx(expected[term], rel=1e-9, abs=1e-12), term


def nothing_written(folder, before: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == before, "an output or a temporary file was left"


# ---------------------------------------------------------------------------------------------
# The .plc: sample_clustered's initial.plc, cut, broken, out of range, reordered, corrupted.


@pytest.fixture(scope="module")
def sample(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample") / "sample_clustered"
    shutil.copytree(shared_data / "ct_unit" / "sample_clustered", folder)
    lines = (folder / "initial.plc").read_text().splitlines()
    return folder, lines


def body_start(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if line and not line.startswith("#"))


def eval_variant(sample, tmp_path, capsys, lines: list[str]) -> tuple[int, str, str]:
    folder, _ = sample
    path = tmp_path / "variant.plc"
    path.write_text("\n".join(lines) + "\n")
    return command(["eval", str(folder), "--plc", str(path), "--json"], capsys)


def test_the_original_scores_as_the_reference_evaluator_does(sample, tmp_path, capsys):
    folder, lines = sample
    code, out, err = eval_variant(sample, tmp_path, capsys, lines)
    assert code == 0 and err == ""
    assert_refused_or_scored(code, out, err, folder, tmp_path / "variant.plc")


@pytest.mark.parametrize("keep", range(5))
def test_a_cut_body(sample, tmp_path, capsys, keep):
    _, lines = sample
    code, _, err = eval_variant(sample, tmp_path, capsys, lines[: body_start(lines) + keep])
    assert_refused(code, err)
    assert " places " in err and "missing" in err


HEADER_LINES = {  # a header line of sample_clustered's .plc and the values it holds
    "# Columns : 2  Rows : 2": ("2", "2"),
    "# Width : 500.000  Height : 500.000": ("500.000", "500.000"),
    "# Routes per micron, hor : 70.33 ver : 74.51": ("70.33", "74.51"),
    "# Routes used by macros, hor : 51.79  ver : 51.79": ("51.79", "51.79"),
    "# Smoothing factor : 2": ("2",),
    "# Overlap threshold : 0.004": ("0.004",),
}
NOT_VALUES = ("nan", "inf", "-1e999", "x", "1e300", "")


def replaced(lines: list[str], line: str, old: str, new: str, last: bool) -> list[str]:
    at = lines.index(line)
    cut = line.rindex(old) if last else line.index(old)
    return [*lines[:at], line[:cut] + new + line[cut + len(old) :], *lines[at + 1 :]]


@pytest.mark.parametrize(
    ("line", "last", "token"),
    [(line, last, token) for line, values in HEADER_LINES.items() for last in {False, len(values) > 1}
     for token in NOT_VALUES],
)  # fmt: skip
def test_a_header_value_that_is_not_a_number_in_range(sample, tmp_path, capsys, line, last, token):
    _, lines = sample
    values = HEADER_LINES[line]
    code, _, err = eval_variant(sample, tmp_path, capsys, replaced(lines, line, values[-1 if last else 0], token, last))
    assert_refused(code, err)


OUT_OF_RANGE = [
    ("# Columns : 2  Rows : 2", "# Columns : 0  Rows : 2"),
    ("# Columns : 2  Rows : 2", "# Columns : -2  Rows : 2"),
    ("# Columns : 2  Rows : 2", "# Columns : 2.5  Rows : 2"),
    ("# Columns : 2  Rows : 2", "# Columns : 100000  Rows : 100000"),
    ("# Width : 500.000  Height : 500.000", "# Width : 0  Height : 500.000"),
    ("# Width : 500.000  Height : 500.000", "# Width : 500.000  Height : -500"),
    ("# Width : 500.000  Height : 500.000", "# Width : 1e-320  Height : 1e-320"),
    ("# Width : 500.000  Height : 500.000", "# Width : 1e-300  Height : 500.000"),
    ("# Routes per micron, hor : 70.33 ver : 74.51", "# Routes per micron, hor : 0 ver : 74.51"),
    ("# Routes per micron, hor : 70.33 ver : 74.51", "# Routes per micron, hor : 70.33 ver : -74.51"),
    ("# Routes used by macros, hor : 51.79  ver : 51.79", "# Routes used by macros, hor : -1  ver : 51.79"),
    ("# Smoothing factor : 2", "# Smoothing factor : 2.7"),
    ("# Smoothing factor : 2", "# Smoothing factor : -1"),
    ("# Columns : 2  Rows : 2", ""),
    ("# Width : 500.000  Height : 500.000", "# Width : 500.000"),
]


@pytest.mark.parametrize(("line", "new"), OUT_OF_RANGE)
def test_a_header_out_of_range_malformed_or_missing(sample, tmp_path, capsys, line, new):
    _, lines = sample
    code, _, err = eval_variant(sample, tmp_path, capsys, [new if x == line else x for x in lines])
    assert_refused(code, err)


@pytest.mark.parametrize("which", range(5))
def test_a_node_placed_twice(sample, tmp_path, capsys, which):
    _, lines = sample
    at = body_start(lines) + which
    code, _, err = eval_variant(sample, tmp_path, capsys, [*lines[: at + 1], lines[at], *lines[at + 1 :]])
    assert_refused(code, err)
    assert "placed twice" in err


BAD_FIELDS = [(1, "nan"), (2, "inf"), (1, "-1e300"), (2, "12abc"), (3, "Q"), (4, "2"), (1, "")]


@pytest.mark.parametrize("which", range(5))
@pytest.mark.parametrize(("field", "token"), BAD_FIELDS)
def test_a_body_value_out_of_place(sample, tmp_path, capsys, which, field, token):
    _, lines = sample
    at = body_start(lines) + which
    fields = lines[at].split()
    fields[field] = token
    code, _, err = eval_variant(sample, tmp_path, capsys, [*lines[:at], " ".join(fields), *lines[at + 1 :]])
    assert_refused(code, err)


@pytest.mark.parametrize("seed", range(8))
def test_a_reordered_or_spaced_body_scores_as_the_original(sample, tmp_path, capsys, seed):
    _, lines = sample
    start = body_start(lines)
    body = lines[start:]
    rng = random.Random(seed)
    rng.shuffle(body)
    body = ["  ".join(line.split()) + " " * rng.randrange(3) if rng.random() < 0.5 else line for line in body]
    body.insert(rng.randrange(len(body) + 1), "# a comment")
    original = json.loads(eval_variant(sample, tmp_path, capsys, lines)[1])["proxy_cost"]
    code, out, err = eval_variant(sample, tmp_path, capsys, [*lines[:start], *body])
    assert code == 0 and err == "" and json.loads(out)["proxy_cost"] == original


EDITS = random.Random(20)
KINDS = ["truncate", "delete_line", "duplicate_line", "swap_lines", "replace_char", "insert", "number"]
TOKENS = ['"', "{", "}", ":", "#", " ", "\n", "x", "-", "0", "nan", "-1e999", "1e308", "\\", "\x00", "é"]
RANDOM_EDITS = [(EDITS.choice(KINDS), EDITS.random(), EDITS.random(), EDITS.choice(TOKENS)) for _ in range(3 * CASES)]


@pytest.mark.parametrize("edit", RANDOM_EDITS[:CASES])
def test_a_randomly_corrupted_plc(sample, tmp_path, capsys, edit):
    folder, lines = sample
    text = corrupt("\n".join(lines) + "\n", edit)
    path = tmp_path / "variant.plc"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, out, err = command(["eval", str(folder), "--plc", str(path), "--json"], capsys)
    assert_refused_or_scored(code, out, err, folder, path)


# ---------------------------------------------------------------------------------------------
# The netlist: toy_macro_stdcell's protobuf and the same design in Bookshelf.


@pytest.fixture(scope="module")
def toy(shared_data):
    return (shared_data / "ct_unit" / "toy_macro_stdcell" / "netlist.pb.txt").read_text()


def eval_netlist(tmp_path, capsys, text: str) -> tuple[int, str, str, object]:
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "netlist.pb.txt").write_text(text, encoding="utf-8", errors="surrogatepass")
    return (*command(["eval", str(folder / "netlist.pb.txt"), "--json"], capsys), folder / "netlist.pb.txt")


@pytest.mark.parametrize("edit", RANDOM_EDITS[CASES : 2 * CASES])
def test_a_randomly_corrupted_netlist(toy, tmp_path, capsys, edit):
    code, out, err, path = eval_netlist(tmp_path, capsys, corrupt(toy, edit))
    if code == 0:  # with no .plc, eval says it scores on the default grid, in one line
        assert err.count("\n") == 1 and "has no .plc giving a grid" in err, err
    assert_refused_or_scored(code, out, err, path)


@pytest.mark.parametrize("key", ["width", "height", "x", "y", "weight"])
@pytest.mark.parametrize("value", ["1e308", "-1e13", "nan"])
def test_a_netlist_number_too_large_for_any_design(toy, tmp_path, capsys, key, value):
    if key == "weight":  # the toy's nets have the default weight: give the first driver one
        at = toy.index("  input:")
        while toy.startswith("  input:", at):
            at = toy.index("\n", at) + 1
        text = toy[:at] + f'  attr {{\n    key: "weight"\n    value {{\n      f: {value}\n    }}\n  }}\n' + toy[at:]
    else:
        start = toy.index("f:", toy.index(f'key: "{key}"'))
        text = toy[:start] + f"f: {value}" + toy[toy.index("\n", start) :]
    code, _, err, path = eval_netlist(tmp_path, capsys, text)
    assert_refused(code, err)
    assert str(path) in err and key in err


@pytest.fixture(scope="module")
def bookshelf(shared_data, tmp_path_factory):
    design = netlists.load(shared_data / "ct_unit" / "toy_macro_stdcell", netlist_positions=True)
    return netlists.write_bookshelf(design, tmp_path_factory.mktemp("bookshelf"), "toy").parent


BOOKSHELF_FILES = [".nodes", ".nets", ".pl", ".scl", ".wts"]


@pytest.mark.parametrize(
    ("ext", "edit"), [(BOOKSHELF_FILES[i % 5], edit) for i, edit in enumerate(RANDOM_EDITS[2 * CASES :])]
)
def test_a_randomly_corrupted_bookshelf_file(bookshelf, tmp_path, capsys, ext, edit):
    folder = tmp_path / "b"
    shutil.copytree(bookshelf, folder)
    path = folder / f"toy{ext}"
    path.write_text(corrupt(path.read_text(), edit), encoding="utf-8", errors="surrogatepass")
    code, out, err = command(["eval", str(folder / "toy.aux"), "--json"], capsys)
    assert_refused_or_scored(code, out, err, folder / "toy.aux")


# ---------------------------------------------------------------------------------------------
# Arguments: every number option of every command, given what it cannot take.

OPTIONS = [  # (command and its other arguments, option, values it refuses)
    (["place", "toy_macro_stdcell", "-o", "out"], "--budget", ["nan", "inf", "-1", "0", "x"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--moves", ["0", "-5", "1.5", "x", "1e999"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--seed", ["-1", "1.5", "x"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--samples", ["0", "-1", "x"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--finetune-steps", ["-3", "0.5", "x"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--threads", ["0", "-1", "x"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--weights", ["1,nan,1", "1,x,1", "1,2", "1,-1,1", "inf,1,1"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--grid", ["0x5", "5", "axb", "5x-5", "5000x5000"]),
    (["place", "toy_macro_stdcell", "-o", "out"], "--method", ["annealing", ""]),
    (["eval", "toy_macro_stdcell"], "--weights", ["1,nan,1", "x", "1,1,1,1"]),
    (["eval", "toy_macro_stdcell"], "--smoothing", ["-2", "nan", "x", "2.5"]),
    (["eval", "toy_macro_stdcell"], "--congestion-grid", ["other"]),
    (["info", "toy_macro_stdcell"], "--grid", ["0x0", "x", "2.5x3"]),
    (["plot", "toy_macro_stdcell", "-o", "p.png"], "--flylines", ["-1", "x", "1.5"]),
    (["plot", "toy_macro_stdcell", "-o", "p.png"], "--what", ["heat"]),
    (["fd", "toy_macro_stdcell", "-o", "out.plc"], "--seed", ["-1", "x"]),
    (["fd", "toy_macro_stdcell", "-o", "out.plc"], "--engine", ["spring"]),
    (["cluster", "x.pb.txt", "-o", "c.pb.txt"], "--clusters", ["-5", "0", "x"]),
    (["cluster", "x.pb.txt", "-o", "c.pb.txt"], "--bloat", ["nan", "-1", "0.5", "x"]),
    (["cluster", "x.pb.txt", "-o", "c.pb.txt"], "--balance", ["0.5", "nan", "x"]),
    (["cluster", "x.pb.txt", "-o", "c.pb.txt"], "--seed", ["-1"]),
]


@pytest.mark.parametrize(
    "argv", [[*base, option, value] for base, option, values in OPTIONS for value in values], ids=" ".join
)
def test_a_bad_argument(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    code, _, err = command(argv, capsys)
    assert_refused(code, err)
    nothing_written(tmp_path, set())


PRETRAIN = ["pretrain", "--designs", "toy_macro_stdcell", "--timesteps", "64", "--out", "run"]
FINETUNE = ["finetune", "--design", "toy_macro_stdcell", "--timesteps", "64", "--out", "run"]
ANNEAL = ["anneal", "--designs", "toy_macro_stdcell", "--timesteps", "8", "--out", "run"]
TRAIN_OPTIONS = [  # train.py: (command and its other arguments, option, values it refuses)
    (PRETRAIN, "--timesteps", ["0", "-10", "x", "1e3"]),
    (PRETRAIN, "--envs", ["0", "x"]),
    (PRETRAIN, "--max-grid", ["4", "x"]),
    (PRETRAIN, "--lr", ["0", "nan", "-1e-3"]),
    (PRETRAIN, "--batch-size", ["0"]),
    (PRETRAIN, "--seed", ["-1"]),
    (PRETRAIN, "--minutes", ["-1", "nan"]),
    (PRETRAIN, "--ent-coef", ["-0.1", "inf"]),
    (PRETRAIN, "--n-steps", ["0"]),
    (PRETRAIN, "--epochs", ["0"]),
    (PRETRAIN, "--checkpoint-every", ["0"]),
    (PRETRAIN, "--designs", ["nosuch", "synthetic:x"]),
    (PRETRAIN, "--reward", ["sparse"]),
    (FINETUNE, "--from", ["missing.zip", __file__]),  # no file; a file that is no saved model
    (ANNEAL, "--max-moves", ["0"]),
    (ANNEAL, "--lr", ["0"]),
]


@pytest.mark.parametrize(
    "argv", [[*base, option, value] for base, option, values in TRAIN_OPTIONS for value in values], ids=" ".join
)
def test_a_bad_training_argument(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    if argv[0] == "finetune" and "--from" not in argv[-2:]:
        argv = [*argv, "--from", "missing.zip"]
    code, _, err = command(argv, capsys, train_cli.main)
    assert_refused(code, err, "train.py")
    nothing_written(tmp_path, set())


# ---------------------------------------------------------------------------------------------
# Paths: outputs that cannot be written, inputs that cannot be read.


def _file(tmp_path, name="taken"):
    (tmp_path / name).write_text("mine")
    return str(tmp_path / name)


def _folder(tmp_path, name="folder"):
    (tmp_path / name).mkdir()
    return str(tmp_path / name)


def _fifo(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    return str(tmp_path / "pipe")


PLACE = ["place", "toy_macro_stdcell", "--method", "greedy"]
PATHS = {  # a command line built in a temporary folder, that must be refused before any work
    "place into a file": lambda t: [*PLACE, "-o", _file(t)],
    "place under a file": lambda t: [*PLACE, "-o", _file(t) + "/out"],
    "place, a name too long": lambda t: [*PLACE, "-o", str(t / ("o" * 300))],
    "plot into a folder": lambda t: ["plot", "toy_macro_stdcell", "-o", _folder(t)],
    "plot under a file": lambda t: ["plot", "toy_macro_stdcell", "-o", _file(t) + "/p.png"],
    "plot, a name too long": lambda t: ["plot", "toy_macro_stdcell", "-o", str(t / ("p" * 252)) + ".png"],
    "fd into a folder": lambda t: ["fd", "toy_macro_stdcell", "-o", _folder(t)],
    "fd, a name too long": lambda t: ["fd", "toy_macro_stdcell", "-o", str(t / ("f" * 250)) + ".plc"],
    "fd under a file": lambda t: ["fd", "toy_macro_stdcell", "-o", _file(t) + "/out.plc"],
    "cluster into a folder": lambda t: ["cluster", "toy_macro_stdcell", "-o", _folder(t)],
    "an input path too long": lambda t: ["eval", "/".join(["d" * 200] * 25)],
    "an input name too long": lambda t: ["info", str(t / ("n" * 300))],
    "no such design": lambda t: ["info", str(t / "nothing.pb.txt")],
    "a folder as .plc": lambda t: ["eval", "toy_macro_stdcell", "--plc", _folder(t)],
    "a fifo as .plc": lambda t: ["eval", "toy_macro_stdcell", "--plc", _fifo(t)],
    "a fifo as netlist": lambda t: ["info", _fifo(t)],
    "a checkpoint that is no zip": lambda t: ["place", "toy_macro_stdcell", "--checkpoint", _file(t), "-o", str(t)],
    "a checkpoint that is missing": lambda t: ["place", "toy_macro_stdcell", "--checkpoint", str(t / "c.zip"),
                                               "-o", str(t)],
    "a controller that is no zip": lambda t: ["place", "toy_macro_stdcell", "--controller", _file(t), "--moves", "9",
                                              "-o", str(t)],
}  # fmt: skip


@pytest.mark.parametrize("case", list(PATHS))
def test_a_path_that_cannot_be_used(tmp_path, capsys, case):
    argv = PATHS[case](tmp_path)
    before = {p.name for p in tmp_path.iterdir()}
    code, _, err = command(argv, capsys)
    assert_refused(code, err)
    nothing_written(tmp_path, before)
    for path in tmp_path.iterdir():
        assert not path.is_file() or path.read_text() == "mine", "an input was overwritten"
