"""GSRC Bookshelf placement benchmarks (ISPD/ICCAD, IBM-MS): ``.aux .nodes .nets .pl .scl .wts``.

* ``.nodes``: ``name width height [terminal|terminal_NI]``.
* ``.nets``: ``NetDegree : k [name]`` then ``k`` lines ``node I|O|B [: dx dy]``; offsets are
  relative to the node centre and may be absent (then 0, as in ``ibm01``).
* ``.pl``: ``name x y : orientation [/FIXED|/FIXED_NI]`` with ``x y`` the lower-left corner.
* ``.scl``: ``CoreRow Horizontal ... End`` blocks; they give the canvas.
* ``.wts``: ``name weight``; lines naming a net set its weight, lines naming a node are
  node weights (IBM-MS) and are ignored, since no placement cost uses them.

Node kinds: a terminal no larger than a row is a port (pad); a larger terminal is a fixed
hard macro; a movable node taller than a row is a hard macro; the rest are std cells.
Each net entry is a pin of its own, named ``<node>/<k>`` (the node's k-th pin); the driver
(first ``O`` pin, else the first pin) is moved to the front of its net. Net names are not
kept: the writer names nets ``n0, n1, ...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from netlists.errors import NetlistFormatError
from netlists.model import (
    MAX_MAGNITUDE,
    ORIENTATION_CODES,
    CoreRow,
    Design,
    Floorplan,
    Netlist,
    NodeKind,
    Orientation,
    Placement,
)
from netlists.protobuf import format_number
from netlists.textio import atomic_write, read_text

_ROTATED = {Orientation.E, Orientation.FE, Orientation.W, Orientation.FW}


@dataclass
class _Lines:
    """The meaningful lines of one Bookshelf file: (line number, fields), headers and comments dropped."""

    path: Path
    rows: list[tuple[int, list[str]]]

    @classmethod
    def read(cls, path: Path) -> _Lines:
        rows = []
        for number, line in enumerate(read_text(path).splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("UCLA"):
                rows.append((number, line.replace(":", " : ").split()))
        return cls(path, rows)

    def fail(self, number: int | None, problem: str) -> NetlistFormatError:
        return NetlistFormatError(self.path, number, problem)

    def number(self, number: int, text: str, what: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise self.fail(number, f"{what}: {text!r} is not a number") from None
        if not np.isfinite(value):
            raise self.fail(number, f"{what} must be finite, got {text!r}")
        if abs(value) > MAX_MAGNITUDE:
            raise self.fail(number, f"{what} is {value:g}, beyond the {MAX_MAGNITUDE:g} any design needs")
        return value


def _header_count(lines: _Lines, key: str) -> tuple[int | None, int]:
    """Value of a ``Key : N`` line at the top of a file, and how many lines it used."""
    for i, (number, fields) in enumerate(lines.rows[:4]):
        if fields[0].lower() == key.lower():
            if len(fields) != 3 or fields[1] != ":" or not fields[2].isdigit():
                raise lines.fail(number, f"expected '{key} : <count>'")
            return int(fields[2]), i + 1
    return None, 0


def read_bookshelf(aux: str | Path) -> Design:
    """Read a Bookshelf benchmark from its ``.aux`` file.

    Returns:
        The design: netlist, floorplan from the ``.scl`` rows (canvas = rows' bounding box
        from the origin, default grid), and placement from the ``.pl`` file (centres).

    Raises:
        NetlistFormatError: A missing, truncated or malformed file, or a net naming an
            unknown node.
    """
    aux = Path(aux)
    files = _aux_files(aux)
    for ext in (".nodes", ".nets"):
        if ext not in files:
            raise NetlistFormatError(aux, 1, f"no {ext} file listed")
    rows = _read_scl(files[".scl"]) if ".scl" in files else ()
    names, width, height, terminal = _read_nodes(files[".nodes"])
    row_height = min((r.height for r in rows), default=0.0) or _min_movable_height(height, terminal)
    fits_a_row = (width <= row_height) & (height <= row_height)
    kind = np.where(
        terminal,
        np.where(fits_a_row, NodeKind.PORT, NodeKind.HARD_MACRO),
        np.where(height > row_height, NodeKind.HARD_MACRO, NodeKind.STD_CELL),
    ).astype(np.int8)
    node_ids = {name: i for i, name in enumerate(names)}
    net_names, pin_node, pin_dx, pin_dy, net_start, net_pins = _read_nets(files[".nets"], node_ids)
    net_weight = _read_wts(files[".wts"], net_names) if ".wts" in files else np.ones(len(net_names))

    pin_names, seen = [], np.zeros(len(names), dtype=np.int64)
    for owner in pin_node:
        pin_names.append(f"{names[owner]}/{seen[owner]}")
        seen[owner] += 1
    netlist = Netlist(
        name=aux.stem,
        node_names=names,
        node_kind=kind,
        node_width=width,
        node_height=height,
        node_ref=[""] * len(names),
        node_side=[""] * len(names),
        node_file_index=np.arange(len(names)),
        pin_names=pin_names,
        pin_node=pin_node,
        pin_dx=pin_dx,
        pin_dy=pin_dy,
        pin_file_index=np.full(len(pin_names), -1),
        net_start=net_start,
        net_pins=net_pins,
        net_weight=net_weight,
    )
    placement = Placement.unplaced(len(names))
    placement.fixed[:] = terminal
    if ".pl" in files:
        _read_pl(files[".pl"], netlist, node_ids, placement)
    try:
        if rows:
            floorplan = Floorplan(max(r.x_max for r in rows), max(r.y + r.height for r in rows), core_rows=rows)
        else:
            floorplan = Floorplan.default_for(netlist)
    except ValueError as error:
        raise NetlistFormatError(files.get(".scl", aux), None, str(error)) from None
    return Design(netlist, floorplan, placement, {}, str(aux))


def _aux_files(aux: Path) -> dict[str, Path]:
    text = read_text(aux)
    match = re.search(r":\s*(.+)", text)
    if match is None:
        raise NetlistFormatError(aux, 1, "expected 'RowBasedPlacement : <files>'")
    return {Path(name).suffix: aux.parent / name for name in match.group(1).split()}


def _min_movable_height(height: np.ndarray, terminal: np.ndarray) -> float:
    movable = height[~terminal]
    return float(movable.min()) if len(movable) else 1.0


def _read_nodes(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    lines = _Lines.read(path)
    num_nodes, used = _header_count(lines, "NumNodes")
    num_terminals, used2 = _header_count(lines, "NumTerminals")
    body = lines.rows[max(used, used2) :]
    names: list[str] = []
    width = np.empty(len(body))
    height = np.empty(len(body))
    terminal = np.zeros(len(body), dtype=bool)
    for i, (number, fields) in enumerate(body):
        if len(fields) not in (3, 4) or (len(fields) == 4 and fields[3] not in ("terminal", "terminal_NI")):
            raise lines.fail(number, "expected 'name width height [terminal]'")
        names.append(fields[0])
        width[i] = lines.number(number, fields[1], "width")
        height[i] = lines.number(number, fields[2], "height")
        terminal[i] = len(fields) == 4
        if width[i] < 0 or height[i] < 0 or (not terminal[i] and not (width[i] > 0 and height[i] > 0)):
            raise lines.fail(number, f"node {fields[0]}: size must be positive, got {fields[1]} x {fields[2]}")
    if num_nodes is not None and num_nodes != len(names):
        raise lines.fail(None, f"NumNodes says {num_nodes} but {len(names)} nodes are listed (truncated?)")
    if num_terminals is not None and num_terminals != int(terminal.sum()):
        raise lines.fail(None, f"NumTerminals says {num_terminals} but {int(terminal.sum())} are listed")
    if len(set(names)) != len(names):
        raise lines.fail(None, "a node name is listed twice")
    return names, width, height, terminal


def _read_nets(
    path: Path, node_ids: dict[str, int]
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    lines = _Lines.read(path)
    num_nets, used = _header_count(lines, "NumNets")
    num_pins, used2 = _header_count(lines, "NumPins")
    body = lines.rows[max(used, used2) :]
    net_names: list[str] = []
    pin_node: list[int] = []
    pin_dx: list[float] = []
    pin_dy: list[float] = []
    net_start = [0]
    k = 0
    while k < len(body):
        number, fields = body[k]
        if fields[0] != "NetDegree" or len(fields) not in (3, 4) or fields[1] != ":" or not fields[2].isdigit():
            raise lines.fail(number, "expected 'NetDegree : <k> [name]'")
        degree = int(fields[2])
        net_names.append(fields[3] if len(fields) == 4 else f"n{len(net_names)}")
        entries = body[k + 1 : k + 1 + degree]
        if len(entries) < degree or any(f[0] == "NetDegree" for _, f in entries):
            raise lines.fail(number, f"net has fewer than the {degree} pins it declares (truncated?)")
        driver = next((j for j, (_, f) in enumerate(entries) if len(f) > 1 and f[1] == "O"), 0)
        for _, (pin_number, pin) in sorted(enumerate(entries), key=lambda e: e[0] != driver):
            node = node_ids.get(pin[0])
            if node is None:
                raise lines.fail(pin_number, f"net pin names unknown node {pin[0]!r}")
            if len(pin) == 2 and pin[1] in "IOB":
                dx = dy = 0.0
            elif len(pin) == 5 and pin[1] in "IOB" and pin[2] == ":":
                dx = lines.number(pin_number, pin[3], "pin x offset")
                dy = lines.number(pin_number, pin[4], "pin y offset")
            else:
                raise lines.fail(pin_number, "expected 'node I|O|B [: dx dy]'")
            pin_node.append(node)
            pin_dx.append(dx)
            pin_dy.append(dy)
        if degree == 0:
            raise lines.fail(number, "a net needs at least one pin")
        net_start.append(len(pin_node))
        k += 1 + degree
    if num_nets is not None and num_nets != len(net_names):
        raise lines.fail(None, f"NumNets says {num_nets} but {len(net_names)} nets are listed (truncated?)")
    if num_pins is not None and num_pins != len(pin_node):
        raise lines.fail(None, f"NumPins says {num_pins} but {len(pin_node)} pins are listed (truncated?)")
    pins = np.arange(len(pin_node))
    return net_names, np.array(pin_node), np.array(pin_dx), np.array(pin_dy), np.array(net_start), pins


def _read_wts(path: Path, net_names: list[str]) -> np.ndarray:
    lines = _Lines.read(path)
    net_ids = {name: i for i, name in enumerate(net_names)}
    weight = np.ones(len(net_names))
    for number, fields in lines.rows:
        if len(fields) != 2:
            raise lines.fail(number, "expected 'name weight'")
        value = lines.number(number, fields[1], "weight")
        net = net_ids.get(fields[0])
        if net is not None:
            if not value > 0:
                raise lines.fail(number, f"net weight must be positive, got {fields[1]}")
            weight[net] = value
    return weight


def _read_pl(path: Path, netlist: Netlist, node_ids: dict[str, int], placement: Placement) -> None:
    lines = _Lines.read(path)
    for number, fields in lines.rows:
        if len(fields) not in (5, 6) or fields[3] != ":":
            raise lines.fail(number, "expected 'name x y : orientation [/FIXED]'")
        node = node_ids.get(fields[0])
        if node is None:
            raise lines.fail(number, f"unknown node {fields[0]!r}")
        orientation = ORIENTATION_CODES.get(fields[4])
        if orientation is None:
            raise lines.fail(number, f"unknown orientation {fields[4]!r}")
        if len(fields) == 6 and fields[5] not in ("/FIXED", "/FIXED_NI"):
            raise lines.fail(number, f"expected /FIXED or /FIXED_NI, got {fields[5]!r}")
        w, h = netlist.node_width[node], netlist.node_height[node]
        if orientation in _ROTATED:
            w, h = h, w
        placement.x[node] = lines.number(number, fields[1], "x") + w / 2
        placement.y[node] = lines.number(number, fields[2], "y") + h / 2
        placement.orientation[node] = orientation
        placement.fixed[node] |= len(fields) == 6


def _read_scl(path: Path) -> tuple[CoreRow, ...]:
    lines = _Lines.read(path)
    num_rows, used = _header_count(lines, "NumRows")
    rows: list[CoreRow] = []
    current: dict[str, str] | None = None
    start = 0
    for number, fields in lines.rows[used:]:
        head = fields[0].lower()
        if head == "corerow":
            current, start = {}, number
        elif head == "end":
            if current is None:
                raise lines.fail(number, "'End' without 'CoreRow'")
            rows.append(_core_row(lines, start, current))
            current = None
        elif current is None:
            raise lines.fail(number, "expected 'CoreRow'")
        else:  # "Key : value [Key : value]" pairs, e.g. "SubrowOrigin : 0 NumSites : 2295"
            for j in range(0, len(fields) - 2, 3):
                if fields[j + 1] != ":":
                    raise lines.fail(number, "expected 'Key : value'")
                current[fields[j].lower()] = fields[j + 2]
    if current is not None:
        raise lines.fail(None, "file ends inside a CoreRow (truncated?)")
    if num_rows is not None and num_rows != len(rows):
        raise lines.fail(None, f"NumRows says {num_rows} but {len(rows)} rows are listed (truncated?)")
    return tuple(rows)


def _core_row(lines: _Lines, number: int, row: dict[str, str]) -> CoreRow:
    def get(key: str) -> float:
        if key not in row:
            raise lines.fail(number, f"CoreRow has no {key}")
        return lines.number(number, row[key], key)

    height, sites = get("height"), get("numsites")
    if not height > 0 or sites < 0 or sites != int(sites):
        raise lines.fail(number, "CoreRow needs a positive Height and a whole NumSites")
    return CoreRow(
        y=get("coordinate"),
        height=height,
        x=get("subroworigin"),
        num_sites=int(sites),
        site_width=get("sitewidth") if "sitewidth" in row else 1.0,
        site_spacing=get("sitespacing") if "sitespacing" in row else 1.0,
        orientation=row.get("siteorient", "N"),
        symmetry=row.get("sitesymmetry", "Y"),
    )


# ------------------------------------------------------------------------------------ writers
def write_pl(design: Design, path: str | Path) -> None:
    """Write node locations as a Bookshelf ``.pl`` (lower-left corners), atomically.

    Unplaced nodes are skipped; fixed nodes get ``/FIXED``.
    """
    netlist, placement = design.netlist, design.placement
    n = format_number
    lines = ["UCLA pl 1.0", ""]
    for i in np.flatnonzero(placement.is_placed):
        orientation = Orientation(placement.orientation[i])
        w, h = netlist.node_width[i], netlist.node_height[i]
        if orientation in _ROTATED:
            w, h = h, w
        fixed = " /FIXED" if placement.fixed[i] and netlist.node_kind[i] != NodeKind.PORT else ""
        x, y = n(placement.x[i] - w / 2), n(placement.y[i] - h / 2)
        lines.append(f"{netlist.node_names[i]} {x} {y} : {orientation.name}{fixed}")
    with atomic_write(path) as handle:
        handle.write("\n".join(lines) + "\n")


def write_bookshelf(design: Design, folder: str | Path, name: str | None = None) -> Path:
    """Write a whole Bookshelf benchmark (``.aux .nodes .nets .wts .pl .scl``) into ``folder``.

    Returns:
        The path of the ``.aux`` file.
    """
    netlist, floorplan = design.netlist, design.floorplan
    name = name or netlist.name
    folder = Path(folder)
    n = format_number
    is_terminal = design.placement.fixed & np.isin(netlist.node_kind, (NodeKind.PORT, NodeKind.HARD_MACRO))
    is_terminal |= netlist.node_kind == NodeKind.PORT
    nodes = ["UCLA nodes 1.0", "", f"NumNodes : {netlist.n_nodes}", f"NumTerminals : {int(is_terminal.sum())}"]
    for i, node in enumerate(netlist.node_names):
        suffix = " terminal" if is_terminal[i] else ""
        nodes.append(f"{node} {n(netlist.node_width[i])} {n(netlist.node_height[i])}{suffix}")
    nets = ["UCLA nets 1.0", "", f"NumNets : {netlist.n_nets}", f"NumPins : {len(netlist.net_pins)}"]
    for net in range(netlist.n_nets):
        pins = netlist.net_pins[netlist.net_start[net] : netlist.net_start[net + 1]]
        nets.append(f"NetDegree : {len(pins)} n{net}")
        for k, pin in enumerate(pins):
            node = netlist.node_names[netlist.pin_node[pin]]
            nets.append(f"  {node} {'O' if k == 0 else 'I'} : {n(netlist.pin_dx[pin])} {n(netlist.pin_dy[pin])}")
    wts = ["UCLA wts 1.0", ""]
    wts += [f"n{net} {n(w)}" for net, w in enumerate(netlist.net_weight) if w != 1.0]
    scl = ["UCLA scl 1.0", "", f"NumRows : {len(floorplan.core_rows)}"]
    for row in floorplan.core_rows:
        scl += [
            "CoreRow Horizontal",
            f"  Coordinate : {n(row.y)}",
            f"  Height : {n(row.height)}",
            f"  Sitewidth : {n(row.site_width)}",
            f"  Sitespacing : {n(row.site_spacing)}",
            f"  Siteorient : {row.orientation}",
            f"  Sitesymmetry : {row.symmetry}",
            f"  SubrowOrigin : {n(row.x)} NumSites : {row.num_sites}",
            "End",
        ]
    for ext, lines in ((".nodes", nodes), (".nets", nets), (".wts", wts), (".scl", scl)):
        with atomic_write(folder / f"{name}{ext}") as handle:
            handle.write("\n".join(lines) + "\n")
    write_pl(design, folder / f"{name}.pl")
    aux = folder / f"{name}.aux"
    with atomic_write(aux) as handle:
        handle.write(f"RowBasedPlacement : {name}.nodes {name}.nets {name}.wts {name}.pl {name}.scl\n")
    return aux
