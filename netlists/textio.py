"""Reading text files (plain or gzip) with clear errors, and writing them atomically."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from netlists.errors import NetlistFormatError


def read_text(path: str | Path) -> str:
    """The whole text of ``path``, gunzipped when it ends in ``.gz``.

    Raises:
        NetlistFormatError: The file is missing, unreadable, a broken gzip or not UTF-8.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NetlistFormatError(path, None, "file not found") from None
    except OSError as error:
        raise NetlistFormatError(path, None, f"cannot read: {error.strerror or error}") from None
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise NetlistFormatError(path, None, f"truncated or corrupt gzip data ({error})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise NetlistFormatError(path, line, "not UTF-8 text") from None


def line_at(text: str, offset: int) -> int:
    """1-based line number of character ``offset`` in ``text``."""
    return text.count("\n", 0, offset) + 1


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[TextIO]:
    """Open ``path`` for writing text so that it appears whole or not at all.

    The text goes to a temporary file in the same folder, which replaces ``path`` only
    when the ``with`` block ends without an exception. A ``.gz`` path is gzip-compressed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.suffix == ".gz" else raw
            with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as handle:
                yield handle
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
