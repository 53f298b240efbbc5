"""One call to load any design: a netlist file, a design folder or a bundled design name."""

from __future__ import annotations

import importlib.resources
from dataclasses import replace
from pathlib import Path

from netlists.bookshelf import read_bookshelf
from netlists.errors import NetlistFormatError
from netlists.model import Design
from netlists.plc import floorplan_from, read_plc
from netlists.protobuf import HeaderHints, read_pb

DEFAULT = "default"
"""``plc=DEFAULT``: a design folder's own placement (``legalized.plc``, else ``initial.plc``), or
for a single netlist file the ``.plc`` of the same stem beside it (see :func:`plc_beside`)."""

_PB_SUFFIXES = (".pb.txt", ".pb.txt.gz", ".pbtxt", ".pbtxt.gz")
_DEFAULT_PLC_NAMES = ("legalized.plc", "initial.plc")


def bundled_root() -> Path:
    """The folder of the designs shipped inside the package."""
    return Path(str(importlib.resources.files("netlists") / "designs"))


def bundled_designs() -> list[str]:
    """Names of the designs shipped inside the package, for :func:`load`."""
    root = bundled_root()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))


def load(source: str | Path, plc: str | Path | None = DEFAULT, netlist_positions: bool = False) -> Design:
    """Load a design from a file, a folder or a bundled name.

    Args:
        source: A Circuit Training netlist (``.pb.txt``, ``.pb.txt.gz``), a Bookshelf
            ``.aux``, a folder holding one of them, or the name of a bundled design
            (see :func:`bundled_designs`, e.g. ``"ariane133"``).
        plc: Placement file to apply: a path; the stem of a ``.plc`` in the design's
            folder (``"initial"``); ``None`` for none; or ``DEFAULT``, which for a folder or
            bundled name takes its ``legalized.plc``, else its ``initial.plc``, and for a
            single file the ``.plc`` beside it with the same stem (:func:`plc_beside`), if any.
        netlist_positions: Macros and ports the ``.plc`` body leaves out keep the netlist
            file's positions (without it such a ``.plc`` is refused). A bundled design's own
            ``.plc`` is read this way, as Circuit Training's unit designs come header-only.

    Returns:
        The :class:`Design`. With no ``.plc``, the floorplan comes from the netlist's own
        header (``FP bbox``, Bookshelf rows) or Circuit Training's default canvas, and
        ``grid_stated`` tells whether the header gave a grid.

    Raises:
        NetlistFormatError: The source does not exist, is not a known format, or a file
            is malformed or does not fit the netlist.
    """
    netlist_file, folder = _resolve(source)
    if netlist_file.name.endswith(".aux"):
        design = read_bookshelf(netlist_file)
        hints = HeaderHints(width=design.floorplan.width, height=design.floorplan.height)
        design.grid_stated = False
    else:
        netlist, placement, hints = read_pb(netlist_file)
        try:
            floorplan = floorplan_from(None, netlist, hints)
        except ValueError as error:
            raise NetlistFormatError(netlist_file, None, str(error)) from None
        design = Design(netlist, floorplan, placement, {}, str(netlist_file),
                        grid_stated=hints.cols is not None and hints.rows is not None)  # fmt: skip
    plc_file = _resolve_plc(plc, folder, netlist_file)
    if plc_file is None:
        return design
    own = plc == DEFAULT and folder is not None and folder.parent == bundled_root()
    loaded = read_plc(plc_file, design.netlist, design.placement, hints, netlist_positions or own)
    loaded.floorplan = replace(loaded.floorplan, core_rows=design.floorplan.core_rows)
    loaded.source = design.source
    return loaded


def _resolve(source: str | Path) -> tuple[Path, Path | None]:
    """The netlist file of ``source`` and, for a folder or bundled name, its folder."""
    path = Path(source)
    if not path.exists() and isinstance(source, str) and source in bundled_designs():
        path = bundled_root() / source
    if path.is_dir():
        return _netlist_in(path), path
    if path.is_file():
        if not (path.name.endswith(_PB_SUFFIXES) or path.suffix == ".aux"):
            raise NetlistFormatError(path, None, "unknown netlist format (expected .pb.txt[.gz] or Bookshelf .aux)")
        return path, None
    names = ", ".join(bundled_designs())
    raise NetlistFormatError(path, None, f"no such file, folder or bundled design (bundled: {names})")


def _netlist_in(folder: Path) -> Path:
    candidates = sorted(p for p in folder.iterdir() if p.name.endswith(_PB_SUFFIXES) or p.suffix == ".aux")
    preferred = [p for p in candidates if p.name.startswith("netlist.")]
    if len(preferred) == 1 or len(candidates) == 1:
        return (preferred or candidates)[0]
    what = "no netlist (.pb.txt[.gz] or .aux)" if not candidates else "several netlists; name one"
    raise NetlistFormatError(folder, None, f"folder holds {what}")


def plc_beside(netlist_file: str | Path) -> Path:
    """The ``.plc`` named like a netlist file: ``X.pb.txt.gz``, ``X.pbtxt`` or ``X.aux`` -> ``X.plc``."""
    path = Path(netlist_file)
    name = path.name
    for suffix in sorted((*_PB_SUFFIXES, ".aux"), key=len, reverse=True):
        if name.endswith(suffix):
            name = name.removesuffix(suffix)
            break
    return path.with_name(name + ".plc")


def _resolve_plc(plc: str | Path | None, folder: Path | None, netlist_file: Path) -> Path | None:
    if plc is None:
        return None
    if plc == DEFAULT:
        if folder is None:
            beside = plc_beside(netlist_file)
            return beside if beside.is_file() else None
        return next((folder / name for name in _DEFAULT_PLC_NAMES if (folder / name).is_file()), None)
    path = Path(plc)
    if not path.exists() and folder is not None and (folder / f"{plc}.plc").is_file():
        return folder / f"{plc}.plc"
    return path  # read_plc reports a missing file in our error format
