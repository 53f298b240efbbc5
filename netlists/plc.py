"""Circuit Training placement files (``.plc``).

A ``#`` header gives the floorplan, then one ``node_index x y orientation fixed`` line
follows per placed macro and port.

Node indices count every entry of the ``.pb.txt`` netlist, pins included
(:attr:`Netlist.node_file_index`). Header keys are matched by keyword, as Circuit Training
does; the costs recorded at save time are kept as known answers.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netlists.errors import NetlistFormatError
from netlists.model import (
    DEFAULT_GRID,
    ORIENTATION_CODES,
    Blockage,
    Design,
    Floorplan,
    Netlist,
    NodeKind,
    Orientation,
    Placement,
)
from netlists.protobuf import HeaderHints, format_number
from netlists.textio import atomic_write, read_text

_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_HEADER = {
    "grid": re.compile(rf"^#\s*Columns\s*:\s*{_NUM}\s+Rows\s*:\s*{_NUM}"),
    "congestion_grid": re.compile(rf"^#\s*Congestion Columns\s*:\s*{_NUM}\s+Congestion Rows\s*:\s*{_NUM}"),
    "canvas": re.compile(rf"^#\s*Width\s*:\s*{_NUM}\s+Height\s*:\s*{_NUM}"),
    "routes": re.compile(rf"^#\s*Routes per micron, hor\s*:\s*{_NUM}\s+ver\s*:\s*{_NUM}"),
    "alloc": re.compile(rf"^#\s*Routes used by macros, hor\s*:\s*{_NUM}\s+ver\s*:\s*{_NUM}"),
    "smoothing": re.compile(rf"^#\s*Smoothing factor\s*:\s*{_NUM}"),
    "overlap": re.compile(rf"^#\s*Overlap threshold\s*:\s*{_NUM}"),
    "blockage": re.compile(rf"^#\s*Blockage\s*:\s*{_NUM}\s+{_NUM}\s+{_NUM}\s+{_NUM}\s+{_NUM}"),
    "wirelength": re.compile(rf"^#\s*Wirelength\s*:\s*{_NUM}"),
    "wirelength_cost": re.compile(rf"^#\s*Wirelength cost\s*:\s*{_NUM}"),
    "congestion_cost": re.compile(rf"^#\s*Congestion cost\s*:\s*{_NUM}"),
    "density_cost": re.compile(rf"^#\s*Density cost\s*:\s*{_NUM}"),
    "count": re.compile(r"^#\s*(HARD_MACROs|MACRO_PINs|PORTs|SOFT_MACROs|STDCELLs)\s*:\s*(\d+)"),
}
_RECORDED = ("wirelength", "wirelength_cost", "congestion_cost", "density_cost")


@dataclass
class PlcFile:
    """What a ``.plc`` file says, before it is checked against a netlist.

    Attributes:
        values: Header numbers by key (``grid``, ``canvas``, ``routes``, ...), each a tuple.
        blockages: ``# Blockage`` lines.
        counts: ``# Counts of node types`` lines (e.g. ``{"HARD_MACROs": 133}``).
        body: ``(line number, index, x, y, orientation code or -1, fixed)`` per body line.
    """

    values: dict[str, tuple[float, ...]] = field(default_factory=dict)
    blockages: list[Blockage] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    body: list[tuple[int, int, float, float, int, bool]] = field(default_factory=list)


def parse_plc(path: str | Path) -> PlcFile:
    """Parse a ``.plc`` file without a netlist (syntax checks only)."""
    path = Path(path)
    plc = PlcFile()
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            _parse_header_line(path, number, line, plc)
            continue
        fields = line.split()
        if len(fields) != 5:
            raise NetlistFormatError(path, number, f"expected 'index x y orientation fixed', got {line[:60]!r}")
        try:
            index, x, y = int(fields[0]), float(fields[1]), float(fields[2])
        except ValueError:
            raise NetlistFormatError(path, number, f"bad number in {line[:60]!r}") from None
        orientation = -1 if fields[3] == "-" else ORIENTATION_CODES.get(fields[3])
        if orientation is None:
            raise NetlistFormatError(path, number, f"unknown orientation {fields[3]!r}")
        if fields[4] not in ("0", "1"):
            raise NetlistFormatError(path, number, f"fixed flag must be 0 or 1, got {fields[4]!r}")
        if not (np.isfinite(x) and np.isfinite(y)):
            raise NetlistFormatError(path, number, f"coordinates must be finite, got {x} {y}")
        plc.body.append((number, index, x, y, orientation, fields[4] == "1"))
    return plc


def _parse_header_line(path: Path, number: int, line: str, plc: PlcFile) -> None:
    for key, pattern in _HEADER.items():
        match = pattern.match(line)
        if match is None:
            continue
        try:
            if key == "count":
                plc.counts[match.group(1)] = int(match.group(2))
            elif key == "blockage":
                plc.blockages.append(Blockage(*map(float, match.groups())))
            else:
                plc.values[key] = tuple(map(float, match.groups()))
        except ValueError:
            raise NetlistFormatError(path, number, f"bad number in header line {line[:60]!r}") from None
        return


def read_plc(
    path: str | Path,
    netlist: Netlist,
    placement: Placement,
    hints: HeaderHints | None = None,
) -> Design:
    """Apply a ``.plc`` file to a netlist.

    Args:
        path: The ``.plc`` file.
        netlist: The netlist it places.
        placement: Starting locations (usually those of the netlist file); not modified.
        hints: Floorplan facts from the netlist's comments, used where the header is silent.

    Returns:
        A :class:`Design` with the floorplan of the header and the placement of the body.

    Raises:
        NetlistFormatError: Bad syntax, or the file does not fit ``netlist`` (node counts
            in the header differ, or a line names a node index the netlist lacks or a pin).
    """
    path = Path(path)
    plc = parse_plc(path)
    _check_counts(path, plc, netlist)
    by_file_index = {int(f): i for i, f in enumerate(netlist.node_file_index)}
    placed = placement.copy()
    for number, index, x, y, orientation, fixed in plc.body:
        node = by_file_index.get(index)
        if node is None:
            raise NetlistFormatError(
                path,
                number,
                f"node index {index} is not a macro, port or std cell of {netlist.name} "
                "(is this .plc for another netlist?)",
            )
        placed.x[node], placed.y[node] = x, y
        placed.orientation[node] = max(orientation, 0)
        placed.fixed[node] = fixed
    try:
        floorplan = floorplan_from(plc, netlist, hints)
    except ValueError as error:
        raise NetlistFormatError(path, None, str(error)) from None
    recorded = {key: plc.values[key][0] for key in _RECORDED if key in plc.values}
    return Design(netlist, floorplan, placed, recorded, plc_source=str(path))


def node_type_counts(netlist: Netlist) -> dict[str, int]:
    """The ``# Counts of node types`` of a ``.plc`` header (macro pins are pins of their own entry)."""
    macro_pins = netlist.pin_file_index >= 0
    hard_pins = macro_pins & (netlist.node_kind[netlist.pin_node] == NodeKind.HARD_MACRO)
    hard, soft = netlist.count(NodeKind.HARD_MACRO), netlist.count(NodeKind.SOFT_MACRO)
    return {
        "HARD_MACROs": hard,
        "HARD_MACRO_PINs": int(np.count_nonzero(hard_pins)),
        "MACROs": hard + soft,
        "MACRO_PINs": int(np.count_nonzero(macro_pins)),
        "PORTs": netlist.count(NodeKind.PORT),
        "SOFT_MACROs": soft,
        "SOFT_MACRO_PINs": int(np.count_nonzero(macro_pins & ~hard_pins)),
        "STDCELLs": netlist.count(NodeKind.STD_CELL),
    }


def _check_counts(path: Path, plc: PlcFile, netlist: Netlist) -> None:
    actual = node_type_counts(netlist)
    for key, count in plc.counts.items():
        if actual[key] != count:
            raise NetlistFormatError(
                path,
                None,
                f"header says {count} {key} but {netlist.name} has {actual[key]} (.plc for another netlist?)",
            )


def floorplan_from(plc: PlcFile | None, netlist: Netlist, hints: HeaderHints | None = None) -> Floorplan:
    """The floorplan a ``.plc`` header gives, falling back on netlist hints, then defaults."""
    values = plc.values if plc else {}
    hints = hints or HeaderHints()
    if "canvas" in values:
        width, height = values["canvas"]
    elif hints.width is not None and hints.height is not None:
        width, height = hints.width, hints.height
    else:
        default = Floorplan.default_for(netlist)
        width, height = default.width, default.height
    if "grid" in values:
        cols, rows = map(int, values["grid"])
    elif hints.cols is not None and hints.rows is not None:
        cols, rows = hints.cols, hints.rows
    else:
        cols, rows = DEFAULT_GRID, DEFAULT_GRID
    options: dict[str, object] = {}
    if "routes" in values:
        options["hroutes_per_micron"], options["vroutes_per_micron"] = values["routes"]
    if "alloc" in values:
        options["hrouting_alloc"], options["vrouting_alloc"] = values["alloc"]
    if "smoothing" in values:
        options["smoothing_range"] = values["smoothing"][0]
    if "overlap" in values:
        options["overlap_threshold"] = values["overlap"][0]
    if "congestion_grid" in values:
        options["congestion_cols"], options["congestion_rows"] = map(int, values["congestion_grid"])
    blockages = (plc.blockages if plc and plc.blockages else None) or hints.blockages
    return Floorplan(width, height, cols, rows, blockages=tuple(blockages), **options)  # type: ignore[arg-type]


def write_plc(design: Design, path: str | Path, costs: dict[str, float] | None = None) -> None:
    """Write a ``.plc`` file in Circuit Training's layout.

    The header records the floorplan, the node counts and ``costs`` (keys ``wirelength``,
    ``wirelength_cost``, ``congestion_cost``, ``density_cost``; the design's recorded costs
    when omitted). The body lists every placed macro, port and std cell with full precision,
    so reading it back gives the same placement. Written atomically.
    """
    netlist, fp, placement = design.netlist, design.floorplan, design.placement
    costs = design.recorded_costs if costs is None else costs
    n = format_number
    area = float(netlist.node_area[netlist.node_kind != NodeKind.PORT].sum())
    lines = [
        "# Placement file for Circuit Training",
        f"# Source input file(s) : {design.source}",
        f"# This file : {Path(path).name}",
        f"# Date : {datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')}",
        f"# Columns : {fp.cols}  Rows : {fp.rows}",
    ]
    if fp.congestion_cols is not None:
        lines.append(f"# Congestion Columns : {fp.congestion_cols}  Congestion Rows : {fp.congestion_rows}")
    lines += [f"# Width : {n(fp.width)}  Height : {n(fp.height)}", f"# Area (stdcell+macros) : {n(area)}"]
    labels = {
        "wirelength": "Wirelength",
        "wirelength_cost": "Wirelength cost",
        "congestion_cost": "Congestion cost",
        "density_cost": "Density cost",
    }
    lines += [f"# {label} : {n(costs[key])}" for key, label in labels.items() if key in costs]
    lines += [
        f"# Block : {netlist.name}",
        f"# Routes per micron, hor : {n(fp.hroutes_per_micron)}  ver : {n(fp.vroutes_per_micron)}",
        f"# Routes used by macros, hor : {n(fp.hrouting_alloc)}  ver : {n(fp.vrouting_alloc)}",
        f"# Smoothing factor : {n(fp.smoothing_range)}",
        f"# Overlap threshold : {n(fp.overlap_threshold)}",
    ]
    lines += [f"# Blockage : {n(b.x_min)} {n(b.y_min)} {n(b.x_max)} {n(b.y_max)} {n(b.rate)}" for b in fp.blockages]
    lines += ["#", "# Counts of node types:"]
    lines += [f"# {key:<16}: {value:>9}" for key, value in node_type_counts(netlist).items()]
    lines += ["#", "# node_index x y orientation fixed"]
    placed = np.flatnonzero(placement.is_placed)
    for i in placed[np.argsort(netlist.node_file_index[placed], kind="stable")]:
        orient = "-" if netlist.node_kind[i] == NodeKind.PORT else Orientation(placement.orientation[i]).name
        x, y = n(placement.x[i]), n(placement.y[i])
        lines.append(f"{netlist.node_file_index[i]} {x} {y} {orient} {int(placement.fixed[i])}")
    with atomic_write(path) as handle:
        handle.write("\n".join(lines) + "\n")
