"""Circuit Training placement files (``.plc``).

A ``#`` header gives the floorplan, then one ``node_index x y orientation fixed`` line
follows per placed macro and port.

Node indices count every entry of the ``.pb.txt`` netlist, pins included
(:attr:`Netlist.node_file_index`). Header keys are matched by keyword, as Circuit Training
does; the costs recorded at save time are kept as known answers.

Reading is strict, because a cost computed from a half-read file is silently wrong: a
header line that names a known key must carry finite numbers in range (whole numbers where
the format has them), the grid and canvas lines are required, a node may be placed once,
and the body must place every macro and port of the netlist, unless the caller asks for
the netlist's own positions for those it leaves out (``netlist_positions=True``; Circuit
Training's unit designs ship header-only ``.plc`` files that mean exactly that).
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netlists.errors import NetlistFormatError
from netlists.model import (
    DEFAULT_GRID,
    MAX_MAGNITUDE,
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

_V = r"(\S+)"


@dataclass(frozen=True)
class _Key:
    """A header key: the keyword that names it, its full form, and the values it allows."""

    keyword: str
    form: str
    whole: bool = False  # whole numbers only
    low: float = -math.inf  # values must be > low (>= low when ``closed``)
    closed: bool = True

    def pattern(self) -> re.Pattern[str]:
        return re.compile(rf"^#\s*{self.form}\s*$")


_HEADER = {
    "grid": _Key(r"Columns\s*:", rf"Columns\s*:\s*{_V}\s+Rows\s*:\s*{_V}", whole=True, low=1),
    "congestion_grid": _Key(r"Congestion Columns\s*:",
                            rf"Congestion Columns\s*:\s*{_V}\s+Congestion Rows\s*:\s*{_V}", whole=True, low=1),
    "canvas": _Key(r"Width\s*:", rf"Width\s*:\s*{_V}\s+Height\s*:\s*{_V}", low=0, closed=False),
    "routes": _Key(r"Routes per micron", rf"Routes per micron, hor\s*:\s*{_V}\s+ver\s*:\s*{_V}", low=0,
                   closed=False),
    "alloc": _Key(r"Routes used by macros", rf"Routes used by macros, hor\s*:\s*{_V}\s+ver\s*:\s*{_V}", low=0),
    "smoothing": _Key(r"Smoothing factor", rf"Smoothing factor\s*:\s*{_V}", whole=True, low=0),
    "overlap": _Key(r"Overlap threshold", rf"Overlap threshold\s*:\s*{_V}", low=0),
    "blockage": _Key(r"Blockage\s*:", rf"Blockage\s*:\s*{_V}\s+{_V}\s+{_V}\s+{_V}\s+{_V}"),
    "wirelength": _Key(r"Wirelength\s*:", rf"Wirelength\s*:\s*{_V}", low=0),
    "wirelength_cost": _Key(r"Wirelength cost\s*:", rf"Wirelength cost\s*:\s*{_V}", low=0),
    "congestion_cost": _Key(r"Congestion cost\s*:", rf"Congestion cost\s*:\s*{_V}", low=0),
    "density_cost": _Key(r"Density cost\s*:", rf"Density cost\s*:\s*{_V}", low=0),
    "count": _Key(r"(?:HARD_MACROs|MACRO_PINs|PORTs|SOFT_MACROs|STDCELLs)\s*:",
                  r"(HARD_MACROs|MACRO_PINs|PORTs|SOFT_MACROs|STDCELLs)\s*:\s*(\S+)", whole=True, low=0),
}  # fmt: skip
_EXAMPLES = {
    "grid": "Columns : 24  Rows : 21", "congestion_grid": "Congestion Columns : 24  Congestion Rows : 21",
    "canvas": "Width : 1433.4  Height : 1433.4", "routes": "Routes per micron, hor : 57.031  ver : 56.818",
    "alloc": "Routes used by macros, hor : 39.583  ver : 30.303", "smoothing": "Smoothing factor : 2",
    "overlap": "Overlap threshold : 0.004", "blockage": "Blockage : x_min y_min x_max y_max rate",
    "wirelength": "Wirelength : 4763106.8", "wirelength_cost": "Wirelength cost : 0.0736",
    "congestion_cost": "Congestion cost : 0.7259", "density_cost": "Density cost : 0.4988",
    "count": "HARD_MACROs : 133",
}  # fmt: skip
_KEYWORDS = {key: re.compile(rf"^#\s*{spec.keyword}") for key, spec in _HEADER.items()}
_FORMS = {key: spec.pattern() for key, spec in _HEADER.items()}
_REQUIRED = ("grid", "canvas")
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
    header_lines: dict[str, int] = field(default_factory=dict)


def parse_plc(path: str | Path) -> PlcFile:
    """Parse a ``.plc`` file without a netlist (syntax checks only)."""
    path = Path(path)
    plc = PlcFile()
    seen: dict[int, int] = {}  # node index -> line
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
        if max(abs(x), abs(y)) > MAX_MAGNITUDE:
            raise NetlistFormatError(
                path, number, f"coordinates {x:g} {y:g} are beyond the {MAX_MAGNITUDE:g} any design needs"
            )
        if index in seen:
            raise NetlistFormatError(path, number, f"node index {index} is placed twice (first on line {seen[index]})")
        seen[index] = number
        plc.body.append((number, index, x, y, orientation, fields[4] == "1"))
    for key in _REQUIRED:
        if key not in plc.values:
            raise NetlistFormatError(path, None, f"the header line '# {_EXAMPLES[key]}' is missing")
    return plc


def _parse_header_line(path: Path, number: int, line: str, plc: PlcFile) -> None:
    for key, keyword in _KEYWORDS.items():
        if keyword.match(line) is None:
            continue
        match = _FORMS[key].match(line)
        if match is None:
            expected = f"expected '# {_EXAMPLES[key]}'"
            raise NetlistFormatError(path, number, f"header line {line[:60]!r} is malformed ({expected})")
        if key == "count":
            plc.counts[match.group(1)] = int(_number(path, number, key, match.group(2)))
            return
        values = tuple(_number(path, number, key, token) for token in match.groups())
        if key == "blockage":
            x_min, y_min, x_max, y_max, rate = values
            if not (x_min < x_max and y_min < y_max and 0 <= rate <= 1):
                raise NetlistFormatError(path, number, "a blockage needs x_min < x_max, y_min < y_max, 0 <= rate <= 1")
            plc.blockages.append(Blockage(*values))
            return
        if key in plc.values:
            raise NetlistFormatError(path, number, f"header line {line[:40]!r} repeats line {plc.header_lines[key]}")
        plc.values[key] = values
        plc.header_lines[key] = number
        return


def _number(path: Path, number: int, key: str, token: str) -> float:
    """A header value, checked as its key requires."""
    spec = _HEADER[key]
    try:
        value = float(token)
    except ValueError:
        raise NetlistFormatError(path, number, f"{token[:20]!r} is not a number") from None
    if not math.isfinite(value):
        raise NetlistFormatError(path, number, f"{token[:20]!r} is not a finite number")
    if abs(value) > MAX_MAGNITUDE:
        raise NetlistFormatError(path, number, f"{token[:20]!r} is beyond the {MAX_MAGNITUDE:g} any design needs")
    if spec.whole and value != int(value):
        raise NetlistFormatError(path, number, f"{token[:20]!r} must be a whole number")
    if value < spec.low or (value == spec.low and not spec.closed):
        raise NetlistFormatError(path, number, f"{token[:20]!r} must be {'>=' if spec.closed else '>'} {spec.low:g}")
    return value


def read_plc(
    path: str | Path,
    netlist: Netlist,
    placement: Placement,
    hints: HeaderHints | None = None,
    netlist_positions: bool = False,
) -> Design:
    """Apply a ``.plc`` file to a netlist.

    Args:
        path: The ``.plc`` file.
        netlist: The netlist it places.
        placement: Starting locations (usually those of the netlist file); not modified.
        hints: Floorplan facts from the netlist's comments, used where the header is silent.
        netlist_positions: Macros and ports the body leaves out keep ``placement``'s positions
            (without it, such a body is refused).

    Returns:
        A :class:`Design` with the floorplan of the header and the placement of the body.

    Raises:
        NetlistFormatError: Bad syntax or values, or the file does not fit ``netlist`` (node
            counts in the header differ, a line names a node index the netlist lacks or a pin,
            or the body leaves macros or ports out).
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
    if not netlist_positions:
        _check_complete(path, plc, netlist, by_file_index)
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


def _check_complete(path: Path, plc: PlcFile, netlist: Netlist, by_file_index: dict[int, int]) -> None:
    """Refuse a body that leaves macros or ports out (a cut file, or one for another netlist)."""
    must = netlist.node_kind != NodeKind.STD_CELL
    listed = np.zeros(netlist.n_nodes, dtype=bool)
    listed[[by_file_index[index] for _, index, *_ in plc.body]] = True
    missing = np.flatnonzero(must & ~listed)
    if missing.size:
        names = ", ".join(netlist.node_names[i] for i in missing[:3]) + (", ..." if missing.size > 3 else "")
        raise NetlistFormatError(
            path,
            None,
            f"places {int(np.count_nonzero(must & listed))} of the {int(must.sum())} macros and ports of "
            f"{netlist.name}; missing {missing.size} ({names}): a cut file, or one for another netlist "
            "(to keep the netlist's positions for them, ask for netlist positions)",
        )


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
