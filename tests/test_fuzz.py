"""Random corruptions of real files either load or raise NetlistFormatError, nothing else."""

from __future__ import annotations

import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netlists
from netlists import NetlistFormatError

FUZZ = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

edits = st.tuples(
    st.sampled_from(["truncate", "delete_line", "duplicate_line", "swap_lines", "replace_char", "insert", "number"]),
    st.floats(0, 1),
    st.floats(0, 1),
    st.sampled_from(['"', "{", "}", ":", "#", " ", "\n", "x", "-", "0", "nan", "-1e999", "\\", "\x00", "é"]),
)


def corrupt(text: str, edit: tuple[str, float, float, str]) -> str:
    kind, a, b, token = edit
    lines = text.splitlines(keepends=True)
    i, j = int(a * (len(lines) - 1)), int(b * (len(lines) - 1))
    at = int(a * len(text))
    if kind == "truncate":
        return text[:at]
    if kind == "delete_line":
        return "".join(lines[:i] + lines[i + 1 :])
    if kind == "duplicate_line":
        return "".join(lines[: i + 1] + lines[i:])
    if kind == "swap_lines":
        lines[i], lines[j] = lines[j], lines[i]
        return "".join(lines)
    if kind == "replace_char":
        return text[:at] + token + text[at + 1 :]
    if kind == "insert":
        return text[:at] + token + text[at:]
    # "number": replace the digit run around a position with the token
    digits = [k for k, c in enumerate(text) if c.isdigit()]
    if not digits:
        return text
    k = digits[int(a * (len(digits) - 1))]
    end = k
    while end < len(text) and (text[end].isdigit() or text[end] == "."):
        end += 1
    return text[:k] + token + text[end:]


def load_or_clean_error(source, **kwargs):
    try:
        netlists.load(source, **kwargs)
    except NetlistFormatError as error:
        assert "\n" not in str(error)


@pytest.fixture(scope="module")
def toy(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    shutil.copytree(shared_data / "ct_unit" / "toy_macro_stdcell", folder, dirs_exist_ok=True)
    return folder


@FUZZ
@given(edit=edits)
def test_corrupt_protobuf(toy, tmp_path, edit):
    text = (toy / "netlist.pb.txt").read_text()
    bad = tmp_path / "netlist.pb.txt"
    bad.write_text(corrupt(text, edit), encoding="utf-8", errors="surrogatepass")
    load_or_clean_error(bad)


@FUZZ
@given(edit=edits)
def test_corrupt_plc(shared_data, tmp_path, edit):
    folder = shared_data / "ct_unit" / "sample_clustered"
    bad = tmp_path / "bad.plc"
    bad.write_text(corrupt((folder / "initial.plc").read_text(), edit))
    load_or_clean_error(folder / "netlist.pb.txt", plc=bad)


@pytest.fixture(scope="module")
def tiny_bookshelf(toy, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bookshelf")
    return netlists.write_bookshelf(netlists.load(toy, netlist_positions=True), folder, "toy").parent


@FUZZ
@given(edit=edits, ext=st.sampled_from([".nodes", ".nets", ".pl", ".scl", ".wts", ".aux"]))
def test_corrupt_bookshelf(tiny_bookshelf, tmp_path, edit, ext):
    folder = tmp_path / "b"
    shutil.copytree(tiny_bookshelf, folder, dirs_exist_ok=True)
    path = folder / f"toy{ext}"
    path.write_text(corrupt(path.read_text(), edit))
    load_or_clean_error(folder / "toy.aux")


def test_binary_garbage_gz(tmp_path):
    (tmp_path / "x.pb.txt.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(NetlistFormatError, match="gzip"):
        netlists.load(tmp_path / "x.pb.txt.gz")
