"""The data model: an immutable netlist of flat arrays, a mutable placement, a floorplan.

Everything downstream (cost, masks, force-directed placement, the environment) works on
these numpy arrays; there are no per-node Python objects in hot paths. Coordinates are
micrometres, node positions are centres, pin offsets are relative to the owner's centre
in the N orientation.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - imported lazily by the methods that need it
    import networkx as nx


class NodeKind(enum.IntEnum):
    """What a node is. Stored as ``int8`` in :attr:`Netlist.node_kind`."""

    HARD_MACRO = 0
    SOFT_MACRO = 1  # a std-cell cluster, named ``Grp_*`` in Circuit Training netlists
    STD_CELL = 2
    PORT = 3


class Orientation(enum.IntEnum):
    """The eight LEF/DEF orientations. Stored as ``int8`` in :attr:`Placement.orientation`."""

    N = 0
    FN = 1
    S = 2
    FS = 3
    E = 4
    FE = 5
    W = 6
    FW = 7


ORIENTATION_CODES = {o.name: o.value for o in Orientation}
"""Orientation name (``"N"``, ``"FS"``, ...) to its ``int8`` code."""

# Pin offset transform per orientation, as (a, b, c, d) with (dx', dy') = (a*dx + b*dy, c*dx + d*dy).
ORIENTATION_MATRICES = np.array(
    [
        [1, 0, 0, 1],  # N
        [-1, 0, 0, 1],  # FN
        [-1, 0, 0, -1],  # S
        [1, 0, 0, -1],  # FS
        [0, 1, -1, 0],  # E
        [0, -1, -1, 0],  # FE
        [0, -1, 1, 0],  # W
        [0, 1, 1, 0],  # FW
    ],
    dtype=np.float64,
)


def _frozen(array: np.ndarray, dtype: Any) -> np.ndarray:
    out = np.array(array, dtype=dtype, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, eq=False)
class Netlist:
    """A placement netlist as flat, read-only numpy arrays (DREAMPlace PlaceDB style).

    Nodes are hard macros, soft macros (std-cell clusters), std cells and ports. Pins
    belong to nodes; a port or std cell is its own single pin at offset (0, 0). A net is
    a driver pin followed by its sink pins, stored in CSR form: the pins of net ``n`` are
    ``net_pins[net_start[n]:net_start[n + 1]]`` and the first of them is the driver. A pin
    may sit on several nets (it drives one and is a sink of others).

    Attributes:
        name: Design name.
        node_names: Unique node names, index = node id.
        node_kind: ``int8`` :class:`NodeKind` per node.
        node_width: Width in µm (N orientation); 0 for Circuit Training ports.
        node_height: Height in µm (N orientation); 0 for Circuit Training ports.
        node_ref: Library cell (``ref_name``) per node, ``""`` when unknown.
        node_side: Boundary side of a port (``LEFT``/``RIGHT``/``TOP``/``BOTTOM``), ``""`` otherwise.
        node_file_index: Position of the node among the entries of its source file; this is
            the node index that ``.plc`` files use (Circuit Training counts pins too).
        pin_names: Pin names (a port's or std cell's pin carries the node's name).
        pin_node: ``int32`` owner node per pin.
        pin_dx: x offset from the owner's centre in N orientation (µm).
        pin_dy: y offset from the owner's centre in N orientation (µm).
        pin_file_index: Entry position of a macro pin in its source file, ``-1`` for the
            implicit pin of a port or std cell.
        net_start: ``int64`` CSR offsets, length ``n_nets + 1``.
        net_pins: ``int32`` pin ids; the first pin of each net is its driver.
        net_weight: Weight of each net (Circuit Training: the driver pin's ``weight``).
        metadata: Design-level attributes (e.g. ``soft_macro_area_bloating_ratio``).
    """

    name: str
    node_names: tuple[str, ...]
    node_kind: np.ndarray
    node_width: np.ndarray
    node_height: np.ndarray
    node_ref: tuple[str, ...]
    node_side: tuple[str, ...]
    node_file_index: np.ndarray
    pin_names: tuple[str, ...]
    pin_node: np.ndarray
    pin_dx: np.ndarray
    pin_dy: np.ndarray
    pin_file_index: np.ndarray
    net_start: np.ndarray
    net_pins: np.ndarray
    net_weight: np.ndarray
    metadata: Mapping[str, float | str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "node_names", tuple(self.node_names))
        put(self, "node_ref", tuple(self.node_ref))
        put(self, "node_side", tuple(self.node_side))
        put(self, "pin_names", tuple(self.pin_names))
        put(self, "metadata", MappingProxyType(dict(self.metadata)))
        for name, dtype in _ARRAY_DTYPES.items():
            put(self, name, _frozen(getattr(self, name), dtype))
        self._check_shapes()

    def _check_shapes(self) -> None:
        n, p = len(self.node_names), len(self.pin_names)
        for name in ("node_kind", "node_width", "node_height", "node_file_index"):
            _expect_len(name, getattr(self, name), n)
        _expect_len("node_ref", self.node_ref, n)
        _expect_len("node_side", self.node_side, n)
        for name in ("pin_node", "pin_dx", "pin_dy", "pin_file_index"):
            _expect_len(name, getattr(self, name), p)
        if len(self.net_start) == 0 or self.net_start[0] != 0:
            raise ValueError("net_start must start with 0")
        if self.net_start[-1] != len(self.net_pins) or np.any(np.diff(self.net_start) < 1):
            raise ValueError("net_start must be non-decreasing CSR offsets ending at len(net_pins)")
        _expect_len("net_weight", self.net_weight, len(self.net_start) - 1)
        if p and (self.pin_node.min() < 0 or self.pin_node.max() >= n):
            raise ValueError("pin_node holds an id outside the node range")
        if len(self.net_pins) and (self.net_pins.min() < 0 or self.net_pins.max() >= p):
            raise ValueError("net_pins holds an id outside the pin range")

    # ----------------------------------------------------------------- sizes
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_names)

    @property
    def n_pins(self) -> int:
        """Number of pins (implicit port / std-cell pins included)."""
        return len(self.pin_names)

    @property
    def n_nets(self) -> int:
        """Number of nets."""
        return len(self.net_start) - 1

    @property
    def weighted_net_count(self) -> float:
        """Sum of net weights: the normaliser of Circuit Training's wirelength cost."""
        return float(self.net_weight.sum())

    @cached_property
    def net_degree(self) -> np.ndarray:
        """Pins per net (driver included)."""
        return np.diff(self.net_start)

    @cached_property
    def pin_net(self) -> np.ndarray:
        """Net id of every entry of :attr:`net_pins` (the CSR row index)."""
        return np.repeat(np.arange(self.n_nets, dtype=np.int32), self.net_degree)

    def count(self, kind: NodeKind) -> int:
        """Number of nodes of one kind."""
        return int(np.count_nonzero(self.node_kind == kind))

    def nodes_of(self, *kinds: NodeKind) -> np.ndarray:
        """Ids of the nodes of the given kinds, in id order."""
        return np.flatnonzero(np.isin(self.node_kind, np.array(kinds, dtype=np.int8)))

    @cached_property
    def node_area(self) -> np.ndarray:
        """Width times height per node."""
        return self.node_width * self.node_height

    @property
    def macro_area(self) -> float:
        """Total area of hard and soft macros (µm²)."""
        macros = self.nodes_of(NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO)
        return float(self.node_area[macros].sum())

    @cached_property
    def _node_ids(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.node_names)}

    def node_id(self, name: str) -> int:
        """Node id of a node name; raises ``KeyError`` for an unknown name."""
        return self._node_ids[name]

    # ------------------------------------------------------------ graph views
    def to_networkx(self) -> nx.Graph:
        """The hypergraph as a bipartite networkx graph; see :func:`netlists.graph.bipartite_graph`."""
        from netlists.graph import bipartite_graph

        return bipartite_graph(self)

    def macro_graph(self, placement: Placement | None = None, floorplan: Floorplan | None = None) -> nx.Graph:
        """Weighted macro and port-cluster adjacency; see :func:`netlists.graph.macro_adjacency_graph`."""
        from netlists.graph import macro_adjacency_graph

        return macro_adjacency_graph(self, placement, floorplan)


_ARRAY_DTYPES = {
    "node_kind": np.int8,
    "node_width": np.float64,
    "node_height": np.float64,
    "node_file_index": np.int64,
    "pin_node": np.int32,
    "pin_dx": np.float64,
    "pin_dy": np.float64,
    "pin_file_index": np.int64,
    "net_start": np.int64,
    "net_pins": np.int32,
    "net_weight": np.float64,
}


def _expect_len(name: str, values: Any, length: int) -> None:
    if len(values) != length:
        raise ValueError(f"{name} has {len(values)} entries, expected {length}")


def netlist_differences(a: Netlist, b: Netlist) -> list[str]:
    """Names of the fields in which two netlists differ (empty when equal, name ignored)."""
    diffs = [name for name in _ARRAY_DTYPES if not np.array_equal(getattr(a, name), getattr(b, name))]
    for name in ("node_names", "node_ref", "node_side", "pin_names"):
        if getattr(a, name) != getattr(b, name):
            diffs.append(name)
    if dict(a.metadata) != dict(b.metadata):
        diffs.append("metadata")
    return diffs


@dataclass(eq=False)
class Placement:
    """Where every node is: centre coordinates, orientation and a fixed flag.

    Mutable and cheap to copy. A node with no known location has ``x = y = NaN``.

    Attributes:
        x: Centre x per node (µm).
        y: Centre y per node (µm).
        orientation: ``int8`` :class:`Orientation` per node.
        fixed: Whether the node may not be moved.
    """

    x: np.ndarray
    y: np.ndarray
    orientation: np.ndarray
    fixed: np.ndarray

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=np.float64)
        self.y = np.asarray(self.y, dtype=np.float64)
        self.orientation = np.asarray(self.orientation, dtype=np.int8)
        self.fixed = np.asarray(self.fixed, dtype=bool)
        n = len(self.x)
        for name in ("y", "orientation", "fixed"):
            _expect_len(name, getattr(self, name), n)

    @classmethod
    def unplaced(cls, n_nodes: int) -> Placement:
        """A placement where no node has a location yet."""
        return cls(
            x=np.full(n_nodes, np.nan),
            y=np.full(n_nodes, np.nan),
            orientation=np.zeros(n_nodes, dtype=np.int8),
            fixed=np.zeros(n_nodes, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.x)

    @property
    def is_placed(self) -> np.ndarray:
        """Boolean mask of nodes that have a location."""
        return ~(np.isnan(self.x) | np.isnan(self.y))

    def copy(self) -> Placement:
        """An independent copy."""
        return Placement(self.x.copy(), self.y.copy(), self.orientation.copy(), self.fixed.copy())

    def equals(self, other: Placement) -> bool:
        """Exact equality of all arrays (NaN equals NaN)."""
        return (
            np.array_equal(self.x, other.x, equal_nan=True)
            and np.array_equal(self.y, other.y, equal_nan=True)
            and np.array_equal(self.orientation, other.orientation)
            and np.array_equal(self.fixed, other.fixed)
        )

    def pin_offsets(self, netlist: Netlist) -> tuple[np.ndarray, np.ndarray]:
        """x, y offset of every pin from its owner's centre, in the owner's orientation."""
        m = ORIENTATION_MATRICES[self.orientation[netlist.pin_node]]
        dx, dy = netlist.pin_dx, netlist.pin_dy
        return m[:, 0] * dx + m[:, 1] * dy, m[:, 2] * dx + m[:, 3] * dy

    def pin_positions(self, netlist: Netlist) -> tuple[np.ndarray, np.ndarray]:
        """Absolute x, y of every pin: owner centre plus the orientation-transformed offset."""
        ox, oy = self.pin_offsets(netlist)
        return self.x[netlist.pin_node] + ox, self.y[netlist.pin_node] + oy


@dataclass(frozen=True)
class Blockage:
    """A rectangle of the canvas where macros may not go (``rate`` = blocked fraction)."""

    x_min: float
    y_min: float
    x_max: float
    y_max: float
    rate: float = 1.0


@dataclass(frozen=True)
class CoreRow:
    """A placement row of std-cell sites, as in a Bookshelf ``.scl`` file or a DEF ``ROW``."""

    y: float
    height: float
    x: float
    num_sites: int
    site_width: float = 1.0
    site_spacing: float = 1.0
    orientation: str = "N"
    symmetry: str = "Y"

    @property
    def x_max(self) -> float:
        """Right end of the row (µm)."""
        return self.x + self.num_sites * self.site_spacing


# Circuit Training's defaults (placement_util.create_placement_cost), used when a .plc gives none.
DEFAULT_HROUTES_PER_MICRON = 70.33
DEFAULT_VROUTES_PER_MICRON = 74.51
DEFAULT_MACRO_ROUTING_ALLOCATION = 51.79
DEFAULT_SMOOTHING_RANGE = 2.0  # the legacy (placement-grid congestion) default
DEFAULT_OVERLAP_THRESHOLD = 0.004
DEFAULT_GRID = 10
DEFAULT_UTILIZATION = 0.6  # canvas side = sqrt(macro area / utilisation) when nothing is given


MAX_MAGNITUDE = 1e12  # the largest length, coordinate or weight the readers take
"""A die is under 1e5 microns across; numbers far beyond it are corrupt, and the cost's sums and
products of them could overflow to a score that is not finite."""
MIN_CANVAS = 1e-3  # microns: a nanometre, below any real cell (smaller sizes make the costs overflow)
MAX_GRID_CELLS = 1 << 22
"""The most cells a placement or congestion grid may have (2048 x 2048; Circuit Training's are 128 x 128 at most)."""


@dataclass(frozen=True)
class Floorplan:
    """The canvas, its placement grid and the routing model of the proxy cost.

    Attributes:
        width: Canvas width (µm); the canvas is ``[0, width] x [0, height]``.
        height: Canvas height (µm).
        cols: Placement grid columns.
        rows: Placement grid rows.
        hroutes_per_micron: Horizontal routing tracks per µm.
        vroutes_per_micron: Vertical routing tracks per µm.
        hrouting_alloc: Horizontal tracks per µm used by a hard macro over a cell.
        vrouting_alloc: Vertical tracks per µm used by a hard macro over a cell.
        smoothing_range: Congestion smoothing range (cells).
        overlap_threshold: Overlap tolerated between macros (µm²), as recorded in ``.plc`` files.
        blockages: Blocked rectangles.
        congestion_cols: Columns of a separate congestion grid, ``None`` for the legacy
            model where congestion uses the placement grid.
        congestion_rows: Rows of the separate congestion grid, or ``None``.
        core_rows: Std-cell rows, when the source format gives them (Bookshelf ``.scl``).
    """

    width: float
    height: float
    cols: int = DEFAULT_GRID
    rows: int = DEFAULT_GRID
    hroutes_per_micron: float = DEFAULT_HROUTES_PER_MICRON
    vroutes_per_micron: float = DEFAULT_VROUTES_PER_MICRON
    hrouting_alloc: float = DEFAULT_MACRO_ROUTING_ALLOCATION
    vrouting_alloc: float = DEFAULT_MACRO_ROUTING_ALLOCATION
    smoothing_range: float = DEFAULT_SMOOTHING_RANGE
    overlap_threshold: float = DEFAULT_OVERLAP_THRESHOLD
    blockages: tuple[Blockage, ...] = ()
    congestion_cols: int | None = None
    congestion_rows: int | None = None
    core_rows: tuple[CoreRow, ...] = ()

    def __post_init__(self) -> None:
        if not (MIN_CANVAS <= self.width <= MAX_MAGNITUDE and MIN_CANVAS <= self.height <= MAX_MAGNITUDE):
            raise ValueError(
                f"canvas must be {MIN_CANVAS:g} to {MAX_MAGNITUDE:g} microns on each side, "
                f"got {self.width} x {self.height}"
            )
        if self.cols < 1 or self.rows < 1:
            raise ValueError(f"grid must have at least one cell, got {self.cols} x {self.rows}")
        for what, cols, rows in (("grid", self.cols, self.rows), ("congestion grid", self.congestion_cols,
                                                                  self.congestion_rows)):  # fmt: skip
            if cols is not None and rows is not None and cols * rows > MAX_GRID_CELLS:
                raise ValueError(f"{what} {cols} x {rows} has more than {MAX_GRID_CELLS:,} cells, "
                                 "the most the cost model allocates maps for")  # fmt: skip
        object.__setattr__(self, "blockages", tuple(self.blockages))
        object.__setattr__(self, "core_rows", tuple(self.core_rows))

    @property
    def cell_width(self) -> float:
        """Width of one grid cell (µm)."""
        return self.width / self.cols

    @property
    def cell_height(self) -> float:
        """Height of one grid cell (µm)."""
        return self.height / self.rows

    @classmethod
    def default_for(cls, netlist: Netlist) -> Floorplan:
        """Circuit Training's fallback: a square canvas at 60 % utilisation, 10 x 10 grid.

        The utilised area is the macros' (Circuit Training's rule, for clustered netlists) and,
        in a flat netlist, the std cells' too.
        """
        cells = netlist.nodes_of(NodeKind.STD_CELL)
        area = netlist.macro_area + float(netlist.node_area[cells].sum())
        if area <= 0:
            raise ValueError(f"{netlist.name}: no macro area to size a default canvas; give a floorplan")
        side = float(np.sqrt(area / DEFAULT_UTILIZATION))
        return cls(width=side, height=side)


@dataclass(eq=False)
class Design:
    """A netlist with its floorplan and a placement, as loaded from files.

    Attributes:
        netlist: The netlist.
        floorplan: Canvas, grid and routing model.
        placement: Node locations (from the netlist file, then the ``.plc`` / ``.pl`` file).
        recorded_costs: Costs written in a ``.plc`` header at save time (``wirelength``,
            ``wirelength_cost``, ``congestion_cost``, ``density_cost``), empty when none.
        source: The netlist file the design came from.
        plc_source: The ``.plc`` file applied to it, ``""`` when none.
        grid_stated: Whether a file gave the placement grid (a ``.plc`` header or the
            netlist's own); when not, the grid is Circuit Training's 10 x 10 default and
            placers choose one (:func:`placer.gridding.gridded`).
    """

    netlist: Netlist
    floorplan: Floorplan
    placement: Placement
    recorded_costs: dict[str, float] = field(default_factory=dict)
    source: str = ""
    plc_source: str = ""
    grid_stated: bool = True
