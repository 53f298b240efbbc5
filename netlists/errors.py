"""The one exception type raised for bad input files."""

from __future__ import annotations

from pathlib import Path


class NetlistFormatError(ValueError):
    """A netlist, placement or floorplan file that cannot be read.

    The message names the file, the line (1-based, when known) and the problem, so
    ``str(error)`` is a complete one-line diagnostic such as
    ``netlist.pb.txt:42: input "x" names an unknown node``.

    Attributes:
        path: The file that was being read (``None`` for in-memory text).
        line: 1-based line number, or ``None`` when the problem is not tied to one line.
        problem: What was wrong, without the location.
    """

    def __init__(self, path: str | Path | None, line: int | None, problem: str):
        self.path = None if path is None else str(path)
        self.line = line
        self.problem = problem
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.path or "<text>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.problem}"
