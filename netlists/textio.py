"""Reading text files (plain or gzip) with clear errors, and writing them atomically."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from netlists.errors import NetlistFormatError


def read_text(path: str | Path) -> str:
    """The whole text of ``path``, gunzipped when it ends in ``.gz``.

    Raises:
        NetlistFormatError: The file is missing, not a regular file (a FIFO would block),
            unreadable, a broken gzip or not UTF-8.
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, a FIFO or a device: reading it would fail or block
        raise NetlistFormatError(path, None, "not a regular file")
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
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[str]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` only if the block succeeds.

    For writers that take a file name (matplotlib, torch). The temporary name ends in
    ``suffix`` (default: ``path``'s), since some writers pick the format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix if suffix is None else suffix,
                                   dir=path.parent)  # fmt: skip
    os.close(handle)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the result should look like any new file
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``path`` to write a set of files into; it becomes ``path`` as a whole.

    When the block succeeds, the new set takes the place of ``path`` by renames, so ``path``
    never holds old and new files mixed; files of an old ``path`` that the new set does not
    have are kept. On any exception (Ctrl-C included) the temporary folder is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{path.name}.new-", dir=path.parent))
    try:
        yield fresh
        os.chmod(fresh, 0o777 & ~_umask())
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(fresh, path)
            for entry in (old / path.name).iterdir():  # the user's other files stay
                if not (path / entry.name).exists():
                    os.replace(entry, path / entry.name)
            shutil.rmtree(old)
        else:
            os.replace(fresh, path)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[TextIO]:
    """Open ``path`` for writing text so that it appears whole or not at all.

    The text goes to a temporary file in the same folder, which replaces ``path`` only
    when the ``with`` block ends without an exception. A ``.gz`` path is gzip-compressed.
    """
    with atomic_path(path, suffix=".tmp") as tmp, open(tmp, "wb") as raw:
        binary = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if Path(path).suffix == ".gz" else raw
        with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as handle:
            yield handle
