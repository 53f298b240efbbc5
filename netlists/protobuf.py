"""Circuit Training netlists: TensorFlow ``GraphDef`` text protos (``.pb.txt``, ``.pb.txt.gz``).

Format (Circuit Training ``docs/NETLIST_FORMAT.md``): a sequence of ``node { ... }`` blocks,
each with a ``name``, zero or more ``input`` names and ``attr`` key/value pairs. A node's
``input`` list names the pins it drives, so every node with inputs is the driver of one
net whose weight is the driver's ``weight`` attribute (default 1). Node types are
compared case-insensitively; a ``MACRO`` is soft (a std-cell cluster) iff its name starts
with ``Grp_``; an optional first node ``__metadata__`` carries design attributes and does
not count in the node indices that ``.plc`` files use.
"""

from __future__ import annotations

import contextlib
import gc
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from netlists.errors import NetlistFormatError
from netlists.model import (
    MAX_MAGNITUDE,
    ORIENTATION_CODES,
    Blockage,
    Netlist,
    NodeKind,
    Orientation,
    Placement,
)
from netlists.textio import atomic_write, line_at, read_text

METADATA_NODE = "__metadata__"
SOFT_MACRO_PREFIX = "Grp_"

# A quoted string, unrolled so that the regex engine does not branch on every character.
_STR = r'"([^"\\\n]*+(?:\\.[^"\\\n]*+)*+)"'
# One token per attr block, input, name, node start, node end, comment or stray text. A
# whole ``attr { key: .. value { .. } }`` is one token, which keeps the Python loop short;
# the most frequent alternatives come first.
_TOKEN = re.compile(
    r"\s*+(?:"
    rf"attr\s*+\{{\s*+key\s*+:\s*+({_STR})\s*+value\s*+\{{\s*+"  # 1 (2)
    rf"(?:placeholder\s*+:\s*+({_STR})|[fid]\s*+:\s*+([^\s{{}}\"]++))\s*+\}}\s*+\}}"  # 3 (4), 5
    rf"|input\s*+:\s*+({_STR})"  # 6 (7)
    rf"|name\s*+:\s*+({_STR})"  # 8 (9)
    r"|(node)\s*+\{"  # 10
    r"|(\})"  # 11
    r"|(#[^\n]*+)"  # 12
    r"|(\S[^\n]*+)"  # 13
    r")"
)
_ESCAPE = re.compile(r"\\(.)")
_NUM = r"([-+]?[\d.]+(?:[eE][-+]?\d+)?)"
_BBOX = re.compile(rf"FP bbox\s*:\s*\{{\s*{_NUM}\s+{_NUM}\s*\}}?\s*\{{?\s*{_NUM}\s+{_NUM}\s*\}}")
_WIDTH_HEIGHT = re.compile(r"Width\s*:\s*(\S+)\s+Height\s*:\s*(\S+)")
_COLS_ROWS = re.compile(r"(?<!Congestion )Columns\s*:\s*(\d+)\s+Rows\s*:\s*(\d+)")
_BLOCKAGE = re.compile(r"Blockage\s*:\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")


@dataclass
class HeaderHints:
    """Floorplan facts from a netlist's ``#`` comment lines (any of them may be absent)."""

    width: float | None = None
    height: float | None = None
    cols: int | None = None
    rows: int | None = None
    blockages: list[Blockage] = field(default_factory=list)


class _Entry:
    """One ``node { ... }`` block as read, before it is classified."""

    __slots__ = ("name", "token", "inputs", "attrs")

    def __init__(self, name: str, token: int):
        self.name = name
        self.token = token  # index of the name token, to find the line again on error
        self.inputs: list[str] = []
        self.attrs: dict[str, str | float] = {}


def read_pb(path: str | Path) -> tuple[Netlist, Placement, HeaderHints]:
    """Read a Circuit Training netlist.

    Args:
        path: ``.pb.txt`` or ``.pb.txt.gz`` file.

    Returns:
        The netlist, the placement its ``x``/``y``/``orientation`` attributes give
        (NaN where a node has none; ports fixed), and floorplan hints from its comments.

    Raises:
        NetlistFormatError: Missing, truncated or malformed file, unknown names, bad sizes.
    """
    path = Path(path)
    text = read_text(path)
    with _gc_paused():
        entries, metadata, comments = _parse_blocks(path, text)
        return _build(path, text, entries, metadata, comments)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while parsing.

    The parse makes millions of acyclic objects; collections triggered by them would
    rescan all of them again and again (2x slower on a 150k-cell netlist).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_blocks(path: Path, text: str) -> tuple[list[_Entry], dict[str, str | float], list[str]]:
    entries: list[_Entry] = []
    comments: list[str] = []
    current: _Entry | None = None
    opened = False

    def fail(k: int, problem: str) -> NetlistFormatError:
        return NetlistFormatError(path, _token_line(text, k), problem)

    tokens = _TOKEN.findall(text)
    for k, (key, key_in, sval, sval_in, fval, inp, inp_in, name, name_in, node, close, comment, junk) in enumerate(
        tokens
    ):
        if key:
            if current is None:
                raise fail(k, "attr outside a node or before its name")
            if sval:
                current.attrs[_unescape(key_in)] = _unescape(sval_in)
            else:
                try:
                    current.attrs[_unescape(key_in)] = float(fval)
                except ValueError:
                    raise fail(k, f"attr {key}: {fval!r} is not a number") from None
        elif inp:
            if current is None or current.attrs:
                raise fail(k, "input outside a node or after its attrs")
            current.inputs.append(_unescape(inp_in))
        elif name:
            if not opened or current is not None:
                raise fail(k, "name outside a node or given twice")
            current = _Entry(_unescape(name_in), k)
            entries.append(current)
        elif node:
            if opened:
                raise fail(k, "node opened inside another node (missing '}')")
            opened = True
        elif close:
            if current is None:
                raise fail(k, "'}' closes a node that has no name" if opened else "unmatched '}'")
            opened, current = False, None
        elif comment:
            comments.append(comment)
        else:
            at_end = " (file truncated?)" if k == len(tokens) - 1 else ""
            raise fail(k, f"unexpected text: {junk[:60]!r}{at_end}")
    if opened:
        raise NetlistFormatError(path, line_at(text, len(text)), "file ends inside a node (truncated?)")

    metadata: dict[str, str | float] = {}
    if entries and entries[0].name == METADATA_NODE:
        metadata = entries.pop(0).attrs
    return entries, metadata, comments


def _token_line(text: str, k: int) -> int:
    for i, match in enumerate(_TOKEN.finditer(text)):
        if i == k:
            return line_at(text, match.start(match.lastindex or 0))
    return line_at(text, len(text))


def _unescape(value: str) -> str:
    return _ESCAPE.sub(r"\1", value) if "\\" in value else value


def _build(
    path: Path,
    text: str,
    entries: list[_Entry],
    metadata: dict[str, str | float],
    comments: list[str],
) -> tuple[Netlist, Placement, HeaderHints]:
    def fail(entry: _Entry, problem: str) -> NetlistFormatError:
        return NetlistFormatError(path, _token_line(text, entry.token), f'node "{entry.name}": {problem}')

    def number(entry: _Entry, key: str, default: float | None = None) -> float:
        value = entry.attrs.get(key, default)
        if not isinstance(value, float) or not math.isfinite(value):
            raise fail(
                entry, f'attr "{key}" must be a finite number' if key in entry.attrs else f'attr "{key}" missing'
            )
        if abs(value) > MAX_MAGNITUDE:
            raise fail(entry, f'attr "{key}" is {value:g}, beyond the {MAX_MAGNITUDE:g} any design needs')
        return value

    # Columns of nodes (macros, ports, std cells) and of pins, both in file order. Ports and
    # std cells are their own pin, so they appear in both.
    nodes: list[_Entry] = []
    node_index: list[int] = []
    kinds: list[int] = []
    pins: list[_Entry] = []
    pin_index: list[int] = []
    pin_is_node: list[bool] = []
    for index, entry in enumerate(entries):
        kind = entry.attrs.get("type")
        kind = kind.lower() if isinstance(kind, str) else None
        if kind == "macro_pin":
            pins.append(entry)
            pin_index.append(index)
            pin_is_node.append(False)
            continue
        if kind == "stdcell":
            kinds.append(NodeKind.STD_CELL)
        elif kind == "port":
            kinds.append(NodeKind.PORT)
        elif kind == "macro":
            if entry.inputs:
                raise fail(entry, "a macro cannot drive a net; its pins do")
            kinds.append(NodeKind.SOFT_MACRO if entry.name.startswith(SOFT_MACRO_PREFIX) else NodeKind.HARD_MACRO)
        else:
            raise fail(entry, f"type must be one of MACRO, MACRO_PIN, PORT, STDCELL, got {entry.attrs.get('type')!r}")
        nodes.append(entry)
        node_index.append(index)
        if kind != "macro":
            pins.append(entry)
            pin_index.append(index)
            pin_is_node.append(True)

    n = len(nodes)
    node_names = [e.name for e in nodes]
    node_ids = {name: i for i, name in enumerate(node_names)}
    if len(node_ids) != n:
        raise fail(_first_duplicate(nodes), "name used by two nodes")
    kind_array = np.array(kinds, dtype=np.int8)
    width = np.zeros(n)
    height = np.zeros(n)
    placement = Placement.unplaced(n)
    x, y, orientation = placement.x, placement.y, placement.orientation
    for i, entry in enumerate(nodes):
        attrs = entry.attrs
        if kinds[i] != NodeKind.PORT:
            w, h = number(entry, "width"), number(entry, "height")
            if not (w > 0 and h > 0):
                raise fail(entry, f"width and height must be positive, got {w} x {h}")
            width[i], height[i] = w, h
        if "x" in attrs or "y" in attrs:
            x[i], y[i] = number(entry, "x"), number(entry, "y")
        if "orientation" in attrs:
            code = ORIENTATION_CODES.get(attrs["orientation"])  # type: ignore[arg-type]
            if code is None:
                raise fail(entry, f"unknown orientation {attrs['orientation']!r}")
            orientation[i] = code
    placement.fixed[:] = kind_array == NodeKind.PORT

    pin_node = np.empty(len(pins), dtype=np.int32)
    pin_dx = np.zeros(len(pins))
    pin_dy = np.zeros(len(pins))
    implicit_owner = iter(i for i, k in enumerate(kinds) if k in (NodeKind.PORT, NodeKind.STD_CELL))
    for p, entry in enumerate(pins):
        if pin_is_node[p]:
            pin_node[p] = next(implicit_owner)
            continue
        owner = node_ids.get(entry.attrs.get("macro_name"))  # type: ignore[arg-type]
        if owner is None or kinds[owner] not in (NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO):
            raise fail(entry, f"macro_name {entry.attrs.get('macro_name')!r} is not a macro of this netlist")
        pin_node[p] = owner
        pin_dx[p] = number(entry, "x_offset", 0.0)
        pin_dy[p] = number(entry, "y_offset", 0.0)
    pin_names = [e.name for e in pins]
    pin_ids = {name: p for p, name in enumerate(pin_names)}
    if len(pin_ids) != len(pins):
        raise fail(_first_duplicate(pins), "name used by two pins")

    net_start = [0]
    net_pins: list[int] = []
    net_weight: list[float] = []
    for p, entry in enumerate(pins):
        if not entry.inputs:
            continue
        net_pins.append(p)
        for sink in entry.inputs:
            pin = pin_ids.get(sink)
            if pin is None:
                what = "a macro, not a pin" if sink in node_ids else "an unknown pin or node"
                raise fail(entry, f'input "{sink}" names {what}')
            net_pins.append(pin)
        net_start.append(len(net_pins))
        weight = number(entry, "weight", 1.0)
        if not weight > 0:
            raise fail(entry, f"net weight must be positive, got {weight}")
        net_weight.append(weight)

    netlist = Netlist(
        name=_design_name(path, comments),
        node_names=node_names,
        node_kind=kind_array,
        node_width=width,
        node_height=height,
        node_ref=[str(e.attrs.get("ref_name", "")) for e in nodes],
        node_side=[str(e.attrs.get("side", "")) for e in nodes],
        node_file_index=node_index,
        pin_names=pin_names,
        pin_node=pin_node,
        pin_dx=pin_dx,
        pin_dy=pin_dy,
        pin_file_index=np.where(pin_is_node, -1, pin_index) if pins else [],
        net_start=net_start,
        net_pins=net_pins,
        net_weight=net_weight,
        metadata=metadata,
    )
    return netlist, placement, _header_hints(path, comments)


def _first_duplicate(entries: list[_Entry]) -> _Entry:
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            return entry
        seen.add(entry.name)
    raise AssertionError("no duplicate")


def _design_name(path: Path, comments: list[str]) -> str:
    for comment in comments:
        match = re.search(r"(?:Current_design|Block)\s*:\s*(\S+)", comment)
        if match:
            return match.group(1)
    stem = path.name.split(".")[0]
    return path.parent.name if stem == "netlist" else stem


def _header_hints(path: Path, comments: list[str]) -> HeaderHints:
    hints = HeaderHints()
    try:
        for comment in comments:
            if match := _BBOX.search(comment):
                x0, y0, x1, y1 = map(float, match.groups())
                if x0 != 0 or y0 != 0:
                    raise NetlistFormatError(path, None, f"FP bbox must start at (0, 0), got ({x0}, {y0})")
                hints.width, hints.height = x1, y1
            elif match := _WIDTH_HEIGHT.search(comment):
                hints.width, hints.height = map(float, match.groups())
            if match := _COLS_ROWS.search(comment):
                hints.cols, hints.rows = map(int, match.groups())
            if match := _BLOCKAGE.search(comment):
                hints.blockages.append(Blockage(*map(float, match.groups())))
    except ValueError:
        raise NetlistFormatError(path, None, f"bad number in header comment {comment!r}") from None
    return hints


# ------------------------------------------------------------------------------------ writer
_TYPE_NAMES = {
    NodeKind.HARD_MACRO: "MACRO",
    NodeKind.SOFT_MACRO: "macro",
    NodeKind.STD_CELL: "STDCELL",
    NodeKind.PORT: "PORT",
}


def write_pb(netlist: Netlist, placement: Placement, path: str | Path) -> None:
    """Write a netlist (with node locations from ``placement``) as a Circuit Training text proto.

    Entries keep the order of ``node_file_index`` / ``pin_file_index`` so ``.plc`` node
    indices stay valid; reading the file back gives identical arrays. The file is written
    atomically (gzip-compressed for a ``.gz`` path).

    Raises:
        ValueError: A pin drives more than one net (not expressible in this format).
    """
    driven: dict[int, int] = {}
    for net in range(netlist.n_nets):
        driver = int(netlist.net_pins[netlist.net_start[net]])
        if driver in driven:
            raise ValueError(f"pin {netlist.pin_names[driver]!r} drives two nets; a .pb.txt cannot say that")
        driven[driver] = net
    node_pin = _implicit_pins(netlist)

    order = [(int(f), 0, i) for i, f in enumerate(netlist.node_file_index)]
    order += [(int(f), 1, p) for p, f in enumerate(netlist.pin_file_index) if f >= 0]
    order.sort()

    out: list[str] = []
    if netlist.metadata:
        out.append(_block(METADATA_NODE, [], 1.0, dict(netlist.metadata)))
    for _, is_pin, i in order:
        if is_pin:
            owner = int(netlist.pin_node[i])
            kind = netlist.node_kind[owner]
            attrs: dict[str, str | float] = {
                "macro_name": netlist.node_names[owner],
                "type": "MACRO_PIN" if kind == NodeKind.HARD_MACRO else "macro_pin",
                "x_offset": float(netlist.pin_dx[i]),
                "y_offset": float(netlist.pin_dy[i]),
            }
            out.append(_block(netlist.pin_names[i], *_driven_net(netlist, driven, i), attrs))
            continue
        kind = NodeKind(netlist.node_kind[i])
        attrs = {"type": _TYPE_NAMES[kind]}
        if kind != NodeKind.PORT:
            attrs["width"] = float(netlist.node_width[i])
            attrs["height"] = float(netlist.node_height[i])
        if kind in (NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO):
            attrs["orientation"] = Orientation(placement.orientation[i]).name
        if netlist.node_side[i]:
            attrs["side"] = netlist.node_side[i]
        if netlist.node_ref[i]:
            attrs["ref_name"] = netlist.node_ref[i]
        if not (np.isnan(placement.x[i]) or np.isnan(placement.y[i])):
            attrs["x"], attrs["y"] = float(placement.x[i]), float(placement.y[i])
        out.append(_block(netlist.node_names[i], *_driven_net(netlist, driven, int(node_pin[i])), attrs))
    with atomic_write(path) as handle:
        handle.write("".join(out))


def in_file_order(node_file_index, pin_file_index, pin_node, net_start, net_pins, net_weight):
    """Pin order and nets renumbered the way :func:`read_pb` numbers them: pins in file order, nets by driver.

    Returns the pin permutation and the nets as (``net_start``, ``net_pins``, ``net_weight``), so
    that writing the netlist and reading it back gives identical arrays.
    """
    order = np.argsort(np.where(pin_file_index >= 0, pin_file_index, node_file_index[pin_node]), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    net_pins = rank[net_pins.astype(np.int64)]
    by_driver = np.argsort(net_pins[net_start[:-1]], kind="stable")
    sizes = np.diff(net_start)[by_driver]
    pins = [net_pins[net_start[n] : net_start[n + 1]] for n in by_driver]
    new_pins = np.concatenate(pins) if pins else net_pins[:0]
    new_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    return order, (new_start, new_pins, np.asarray(net_weight, dtype=float)[by_driver])


def file_order(n_nodes: int, pin_node: np.ndarray, is_macro_pin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entry positions in Circuit Training's file order: each node, then its macro pins (a port's pin has none).

    Macro pins keep their relative order within a node.
    """
    macro_pins = np.flatnonzero(is_macro_pin)
    order = np.argsort(pin_node[macro_pins], kind="stable")
    pins_before = np.concatenate([[0], np.cumsum(np.bincount(pin_node[macro_pins], minlength=n_nodes))])
    node_file_index = np.arange(n_nodes) + pins_before[:-1]
    pin_file_index = np.full(pin_node.size, -1, dtype=np.int64)
    sorted_pins = macro_pins[order]
    rank = np.arange(sorted_pins.size) - pins_before[pin_node[sorted_pins]]
    pin_file_index[sorted_pins] = node_file_index[pin_node[sorted_pins]] + 1 + rank
    return node_file_index, pin_file_index


def _implicit_pins(netlist: Netlist) -> np.ndarray:
    """The one pin of each port and std cell (``-1`` for macros), checking the netlist fits the format."""
    implicit = netlist.pin_file_index < 0
    owners = netlist.pin_node[implicit]
    own_pin = np.isin(netlist.node_kind, (NodeKind.PORT, NodeKind.STD_CELL))
    if (
        not np.all(own_pin[owners])
        or len(np.unique(owners)) != np.count_nonzero(own_pin)
        or len(owners) != np.count_nonzero(own_pin)
        or np.any(netlist.pin_dx[implicit] != 0)
        or np.any(netlist.pin_dy[implicit] != 0)
        or np.any(own_pin[netlist.pin_node[~implicit]])
    ):
        raise ValueError(
            f"{netlist.name}: a .pb.txt needs exactly one zero-offset pin per port and std cell "
            "and pins of their own only on macros"
        )
    node_pin = np.full(netlist.n_nodes, -1)
    node_pin[owners] = np.flatnonzero(implicit)
    return node_pin


def _driven_net(netlist: Netlist, driven: dict[int, int], pin: int) -> tuple[list[str], float]:
    """Sink names and weight of the net that ``pin`` drives (none: no sinks, weight 1)."""
    net = driven.get(pin)
    if net is None:
        return [], 1.0
    pins = netlist.net_pins[netlist.net_start[net] + 1 : netlist.net_start[net + 1]]
    return [netlist.pin_names[p] for p in pins], float(netlist.net_weight[net])


def _block(name: str, inputs: list[str], weight: float, attrs: dict[str, str | float]) -> str:
    if weight != 1.0:
        attrs["weight"] = weight
    lines = [f"node {{\n  name: {_quote(name)}\n"]
    lines += [f"  input: {_quote(sink)}\n" for sink in inputs]
    for key in sorted(attrs):
        value = attrs[key]
        body = f"placeholder: {_quote(value)}" if isinstance(value, str) else f"f: {format_number(value)}"
        lines.append(f'  attr {{\n    key: "{key}"\n    value {{\n      {body}\n    }}\n  }}\n')
    lines.append("}\n")
    return "".join(lines)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly ``value`` (``120`` rather than ``120.0``)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text
