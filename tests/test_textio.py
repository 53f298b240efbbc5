"""Atomic writing: a file appears whole or not at all, and no temporary file is left behind."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from netlists import NetlistFormatError
from netlists.textio import atomic_path, atomic_write, read_text


def test_atomic_write_replaces_only_on_success(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_write(target) as handle:
        handle.write("first\n")
    assert target.read_text() == "first\n"
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "first\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]
    with atomic_write(tmp_path / "out.txt.gz") as handle:
        handle.write("zipped\n")
    assert gzip.decompress((tmp_path / "out.txt.gz").read_bytes()) == b"zipped\n"


def test_atomic_path_keeps_the_suffix_and_cleans_up(tmp_path):
    target = tmp_path / "figure.svg"
    with atomic_path(target) as tmp:
        assert tmp.endswith(".svg") and tmp != str(target)
        Path(tmp).write_text("<svg/>")
    assert target.read_text() == "<svg/>"
    with pytest.raises(ValueError), atomic_path(target, suffix=".zip") as tmp:
        assert tmp.endswith(".zip")
        Path(tmp).write_text("broken")
        raise ValueError("writer failed")
    assert target.read_text() == "<svg/>" and [p.name for p in tmp_path.iterdir()] == ["figure.svg"]


def test_atomic_files_get_the_permissions_of_any_new_file(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with atomic_write(tmp_path / "atomic.txt") as handle:
        handle.write("x")
    assert (tmp_path / "atomic.txt").stat().st_mode == plain.stat().st_mode


def test_a_fifo_or_a_folder_is_refused_instead_of_read(tmp_path):
    fifo = tmp_path / "placement.plc"
    os.mkfifo(fifo)  # reading it would block until a writer came
    for path in (fifo, tmp_path):
        with pytest.raises(NetlistFormatError, match="not a regular file"):
            read_text(path)
