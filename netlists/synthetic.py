"""Seeded generator of realistic clustered designs for training and benchmarks.

A design has hard macros of a few repeated types (as SRAM arrays are), std-cell clusters
(soft macros ``Grp_*``) of log-normal areas, ports in buses on the canvas boundary, and
nets built with Rent's-rule locality: every node gets a hidden spot in the unit square
(ports at their real spot on the boundary), and each sink of a net is the node nearest to
a point at distance ``l`` from the driver, with ``l`` drawn from Donath's wire-length
distribution ``p(l) ~ l^(2 r - 4)`` for Rent exponent ``r``. Net degrees follow a power
law (half the nets have two pins, as in clustered Ariane133) and net weights mostly 1 with
a power-law tail (merged parallel nets). The canvas is sized for the asked utilisation,
the grid so that a macro spans one to a few cells, and routing resources are those of
Circuit Training's NanGate45 Ariane133 flow.

>>> from netlists.synthetic import SyntheticSpec, generate
>>> design = generate(SyntheticSpec(hard_macros=20, soft_macros=100, ports=40, seed=1))
>>> design.netlist.count(0), design.floorplan.cols >= 16
(20, True)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from netlists.model import Design, Floorplan, Netlist, NodeKind, Placement
from netlists.protobuf import file_order, in_file_order

# Routing model of Circuit Training's NanGate45 Ariane133 .plc.
ROUTING = {"hroutes_per_micron": 57.031, "vroutes_per_micron": 56.818, "hrouting_alloc": 39.583,
           "vrouting_alloc": 30.303, "smoothing_range": 0.0}  # fmt: skip
MAX_HARD_UTILISATION = 0.45  # hard-macro area over canvas area, so that macros can be packed on the grid
HARD_INPUT_PINS = 48  # input pins per hard macro, spread over its boundary
MAX_DEGREE = 24
SIDES = ("BOTTOM", "RIGHT", "TOP", "LEFT")


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate.

    Attributes:
        hard_macros: Hard macros (10-400 in :meth:`sample`).
        macro_types: Distinct macro shapes among them.
        soft_macros: Std-cell clusters.
        ports: Ports on the boundary.
        utilisation: Hard plus soft macro area over canvas area.
        hard_share: Share of that area in hard macros (capped so hard macros cover at most
            45 % of the canvas).
        aspect: Canvas width over height.
        cells_per_macro: Grid cells along a typical macro's width (sets the grid; each side
            is kept within 16-128 cells).
        rent: Rent exponent of the netlist's locality (0.5-0.75 is typical of logic).
        nets_per_node: Nets per macro or cluster.
        max_grid: Largest grid side (16-128); a finer grid is coarsened to it.
        seed: Seed of everything random.
    """

    hard_macros: int = 60
    macro_types: int = 3
    soft_macros: int = 400
    ports: int = 150
    utilisation: float = 0.6
    hard_share: float = 0.5
    aspect: float = 1.0
    cells_per_macro: float = 1.5
    rent: float = 0.65
    nets_per_node: float = 10.0
    max_grid: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.hard_macros < 1 or self.soft_macros < 0 or self.ports < 0 or self.macro_types < 1:
            raise ValueError("need hard_macros >= 1, macro_types >= 1, soft_macros >= 0 and ports >= 0")
        if not 0.05 <= self.utilisation <= 0.95 or not 0.0 < self.hard_share <= 1.0:
            raise ValueError("need 0.05 <= utilisation <= 0.95 and 0 < hard_share <= 1")
        if not 0.25 <= self.aspect <= 4.0 or self.cells_per_macro <= 0 or not 0.3 <= self.rent <= 0.95:
            raise ValueError("need 0.25 <= aspect <= 4, cells_per_macro > 0 and 0.3 <= rent <= 0.95")
        if not 16 <= self.max_grid <= 128:
            raise ValueError("need 16 <= max_grid <= 128")

    @classmethod
    def sample(cls, rng: np.random.Generator, seed: int | None = None, max_grid: int = 128) -> SyntheticSpec:
        """A spec drawn from the ranges of real blocks (10-400 hard macros, utilisation 0.3-0.8)."""
        hard = int(round(math.exp(rng.uniform(math.log(10), math.log(400)))))
        return cls(
            hard_macros=hard,
            macro_types=int(rng.integers(1, 7)),
            soft_macros=int(rng.integers(100, 1000)),
            ports=int(rng.integers(20, 600)),
            utilisation=float(rng.uniform(0.3, 0.8)),
            hard_share=float(rng.uniform(0.25, 0.7)),
            aspect=float(math.exp(rng.uniform(math.log(0.6), math.log(1.6)))),
            cells_per_macro=float(rng.uniform(0.8, 2.5)),
            rent=float(rng.uniform(0.55, 0.75)),
            nets_per_node=float(rng.uniform(6.0, 14.0)),
            max_grid=max_grid,
            seed=int(rng.integers(2**31)) if seed is None else seed,
        )


def generate(spec: SyntheticSpec) -> Design:
    """A design for ``spec``: ports placed and fixed, macros and clusters unplaced."""
    return generate_with_layout(spec)[0]


PREFIX = "synthetic:"
"""Designs named ``synthetic:N`` are the spec drawn with seed ``N``; ``synthetic:N@G`` caps its grid at ``G``."""
CAP = "@"
LARGEST_GRID = 128  # the grid cap of a name that states none


def is_name(name: object) -> bool:
    """Whether ``name`` is a ``synthetic:N`` (or ``synthetic:N@G``) name."""
    return isinstance(name, str) and name.startswith(PREFIX)


def parse(name: str) -> tuple[int, int]:
    """The seed ``N`` and grid cap ``G`` of ``synthetic:N@G`` (``synthetic:N``: the cap is 128).

    Raises:
        ValueError: ``name`` is not such a name, or ``G`` is not a whole number from 16 to 128.
    """
    seed, at, cap = (name.removeprefix(PREFIX) if is_name(name) else "").partition(CAP)
    if not seed.isdigit() or at and not cap.isdigit():
        raise ValueError(f"{name!r} is not a generated design's name (synthetic:N or synthetic:N@G, whole numbers)")
    grid = int(cap) if at else LARGEST_GRID
    if not 16 <= grid <= LARGEST_GRID:
        raise ValueError(f"{name!r}: the grid cap G of synthetic:N@G is from 16 to {LARGEST_GRID}")
    return int(seed), grid


def name_of(seed: int, max_grid: int = LARGEST_GRID) -> str:
    """The name of the design of ``seed`` with its grid at most ``max_grid``: ``synthetic:N`` or ``synthetic:N@G``."""
    return f"{PREFIX}{seed}" if max_grid == LARGEST_GRID else f"{PREFIX}{seed}{CAP}{max_grid}"


def capped(name: str, max_grid: int) -> str:
    """``name`` with the grid cap ``max_grid`` when it states none (a name that states one is kept).

    What a command with a ``--max-grid`` option does to the generated designs it is given, so
    that the names it records say which designs it used.
    """
    if not is_name(name) or CAP in name:
        return name
    return name_of(parse(name)[0], max(16, min(max_grid, LARGEST_GRID)))


def by_name(name: str) -> Design:
    """The design ``synthetic:N@G``: :meth:`SyntheticSpec.sample` with seed ``N``, its grid at most ``G``.

    One name, one design: ``synthetic:N`` is ``synthetic:N@128``.

    Raises:
        ValueError: ``name`` is not a generated design's name (see :func:`parse`).
    """
    seed, max_grid = parse(name)
    return generate(SyntheticSpec.sample(np.random.default_rng(seed), max_grid=max_grid))


def seed_of(name: str) -> int:
    """The ``N`` of ``synthetic:N`` or ``synthetic:N@G``.

    Raises:
        ValueError: ``name`` is not a generated design's name (see :func:`parse`).
    """
    return parse(name)[0]


def equal_macros(count: int, fill: float, seed: int = 0, ports: int = 40) -> Design:
    """``count`` hard macros of one shape covering ``fill`` of the canvas, with ports and nets, no clusters.

    A crowded family for legality: no grid is stated (``grid_stated`` is false), so placers
    choose one (:func:`placer.gridding.gridded`).
    """
    spec = SyntheticSpec(hard_macros=count, macro_types=1, soft_macros=0, ports=ports, utilisation=fill,
                         hard_share=1.0, seed=seed)  # fmt: skip
    design = generate(spec)
    design.grid_stated = False
    return design


def generate_with_layout(spec: SyntheticSpec) -> tuple[Design, Placement]:
    """The design, and the hidden layout its nets were drawn from scaled to the canvas.

    The layout is where the generator imagined every node (overlapping, not legal): a
    placement whose wirelength shows the locality the nets were built with.
    """
    rng = np.random.default_rng(spec.seed)
    hard_w, hard_h, hard_type = _hard_macros(spec, rng)
    hard_area = float((hard_w * hard_h).sum())
    share = min(spec.hard_share, MAX_HARD_UTILISATION / spec.utilisation)
    soft_area = hard_area * (1.0 - share) / share if spec.soft_macros else 0.0
    canvas_area = (hard_area + soft_area) / spec.utilisation
    width = math.sqrt(canvas_area * spec.aspect)
    height = canvas_area / width
    grow = max(1.0, 2.0 * hard_w.max() / width, 2.0 * hard_h.max() / height)  # every macro fits twice per side
    width, height = width * grow, height * grow
    soft_w, soft_h = _soft_macros(spec, soft_area, rng)
    port_x, port_y, port_side = _ports(spec.ports, width, height, rng)
    floorplan = _floorplan(spec, width, height, float(np.median(hard_w)))

    n_hard, n_soft, n_port = spec.hard_macros, spec.soft_macros, spec.ports
    kind = np.concatenate([np.full(n_hard, NodeKind.HARD_MACRO), np.full(n_soft, NodeKind.SOFT_MACRO),
                           np.full(n_port, NodeKind.PORT)]).astype(np.int8)  # fmt: skip
    node_w = np.concatenate([hard_w, soft_w, np.zeros(n_port)])
    node_h = np.concatenate([hard_h, soft_h, np.zeros(n_port)])
    hidden = np.concatenate([rng.random((n_hard + n_soft, 2)), np.column_stack([port_x / width, port_y / height])])
    nets = _nets(spec, kind, hidden, rng)
    netlist = _assemble(spec, kind, node_w, node_h, hard_type, port_side, nets, rng)

    n = kind.size
    placement = Placement.unplaced(n)
    ports = np.arange(n_hard + n_soft, n)
    placement.x[ports], placement.y[ports] = port_x, port_y
    placement.fixed[ports] = True
    layout = placement.copy()
    inner = np.arange(n_hard + n_soft)
    layout.x[inner] = np.clip(hidden[inner, 0] * width, node_w[inner] / 2, width - node_w[inner] / 2)
    layout.y[inner] = np.clip(hidden[inner, 1] * height, node_h[inner] / 2, height - node_h[inner] / 2)
    source = f"synthetic:{spec.seed}"
    return Design(netlist, floorplan, placement, {}, source), layout


def _hard_macros(spec: SyntheticSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    types = min(spec.macro_types, spec.hard_macros)
    area = np.exp(rng.normal(math.log(6000.0), 0.8, types))  # µm², SRAM-like
    ratio = np.exp(rng.uniform(math.log(1 / 3), math.log(3), types))
    shares = rng.dirichlet(np.ones(types))
    counts = np.maximum(1, np.round(shares * spec.hard_macros).astype(int))
    while counts.sum() != spec.hard_macros:  # fix rounding, keeping one macro of each type
        i = int(np.argmax(counts)) if counts.sum() > spec.hard_macros else int(rng.integers(types))
        counts[i] += 1 if counts.sum() < spec.hard_macros else -1
    hard_type = np.repeat(np.arange(types), counts)
    return np.sqrt(area * ratio)[hard_type], np.sqrt(area / ratio)[hard_type], hard_type


def _soft_macros(spec: SyntheticSpec, soft_area: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if spec.soft_macros == 0:
        return np.zeros(0), np.zeros(0)
    area = np.exp(rng.normal(0.0, 0.9, spec.soft_macros))
    area *= soft_area / area.sum()
    ratio = np.exp(rng.uniform(0.0, math.log(6.0), spec.soft_macros))  # clusters are wide rows of cells
    return np.sqrt(area * ratio), np.sqrt(area / ratio)


def _ports(count: int, width: float, height: float, rng: np.random.Generator):
    """Ports in buses: runs of neighbours at a random spot of the boundary."""
    perimeter = 2 * (width + height)
    spots = []
    while len(spots) < count:
        bus = min(int(rng.integers(1, 33)), count - len(spots))
        start, pitch = rng.uniform(0, perimeter), rng.uniform(0.2, 2.0)
        spots.extend((start + pitch * np.arange(bus)) % perimeter)
    spots = np.sort(np.array(spots))
    x, y, side = np.empty(count), np.empty(count), []
    for i, s in enumerate(spots):  # walk the boundary: bottom, right, top, left
        if s < width:
            x[i], y[i], name = s, 0.0, "BOTTOM"
        elif s < width + height:
            x[i], y[i], name = width, s - width, "RIGHT"
        elif s < 2 * width + height:
            x[i], y[i], name = 2 * width + height - s, height, "TOP"
        else:
            x[i], y[i], name = 0.0, perimeter - s, "LEFT"
        side.append(name)
    return x, y, side


def _floorplan(spec: SyntheticSpec, width: float, height: float, macro_width: float) -> Floorplan:
    cell = macro_width / spec.cells_per_macro
    cols = int(np.clip(round(width / cell), 16, spec.max_grid))
    rows = int(np.clip(round(height / cell), 16, spec.max_grid))
    return Floorplan(width, height, cols, rows, **ROUTING)


def _power_law(rng: np.random.Generator, exponent: float, low: int, high: int, size: int) -> np.ndarray:
    values = np.arange(low, high + 1)
    p = values.astype(float) ** -exponent
    return rng.choice(values, size, p=p / p.sum())


def _nets(spec: SyntheticSpec, kind: np.ndarray, hidden: np.ndarray, rng: np.random.Generator):
    """Nets as ``(driver node, sink nodes, weight)``; every macro and cluster is on at least one."""
    inner = np.flatnonzero(kind != NodeKind.PORT)
    ports = np.flatnonzero(kind == NodeKind.PORT)
    inputs = ports[rng.random(ports.size) < 0.5]  # these ports drive one net each; the rest only listen
    n_nets = max(1, int(spec.nets_per_node * inner.size))
    drivers = np.concatenate([inputs, rng.choice(inner, max(n_nets - inputs.size, 0))])
    degree = _power_law(rng, 2.4, 2, MAX_DEGREE, drivers.size)
    weight = np.where(rng.random(drivers.size) < 0.8, 1, _power_law(rng, 1.8, 2, 54, drivers.size)).astype(float)
    # Donath: a connection has length l with density ~ l^(2r - 4) on [l_min, sqrt 2].
    l_min, l_max, a = 0.5 / math.sqrt(kind.size), math.sqrt(2.0), 2.0 * spec.rent - 3.0
    sinks = int((degree - 1).sum())
    u = rng.random(sinks)
    length = (l_min**a + u * (l_max**a - l_min**a)) ** (1.0 / a)
    angle = rng.uniform(0, 2 * math.pi, sinks)
    owner = np.repeat(np.arange(drivers.size), degree - 1)
    target = np.clip(hidden[drivers[owner]] + length[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), 0, 1)
    _, near = cKDTree(hidden).query(target, k=4)
    nets, k = [], 0
    for net, driver in enumerate(drivers):
        members = [int(driver)]
        for _ in range(degree[net] - 1):
            pick = next((int(c) for c in near[k] if int(c) not in members), None)
            k += 1
            if pick is not None:
                members.append(pick)
        if len(members) > 1:
            nets.append((members[0], members[1:], weight[net]))
    on_a_net = np.zeros(kind.size, dtype=bool)
    for driver, sink_nodes, _ in nets:
        on_a_net[driver] = True
        on_a_net[sink_nodes] = True
    lonely = inner[~on_a_net[inner]]
    if lonely.size:  # every macro and cluster drives at least one net, to its nearest neighbour
        _, near = cKDTree(hidden).query(hidden[lonely], k=2)
        nets.extend((int(node), [int(near[i, 1])], 1.0) for i, node in enumerate(lonely))
    return nets


def _assemble(spec, kind, node_w, node_h, hard_type, port_side, nets, rng) -> Netlist:
    """Pins (one output pin per driven net, shared input pins) and the file order of Circuit Training."""
    n = kind.size
    names = ([f"macro_{i}" for i in range(spec.hard_macros)] + [f"Grp_{i}" for i in range(spec.soft_macros)]
             + [f"port_{i}" for i in range(spec.ports)])  # fmt: skip
    pin_node: list[int] = []
    pin_dx: list[float] = []
    pin_dy: list[float] = []
    pin_names: list[str] = []
    node_pins: list[list[int]] = [[] for _ in range(n)]

    def new_pin(node: int, name: str, dx: float, dy: float) -> int:
        pin_node.append(node)
        pin_dx.append(dx)
        pin_dy.append(dy)
        pin_names.append(name)
        node_pins[node].append(len(pin_names) - 1)
        return len(pin_names) - 1

    def boundary_offset(node: int) -> tuple[float, float]:
        w, h = node_w[node] / 2, node_h[node] / 2
        t = rng.uniform(-1, 1)
        return [(t * w, -h), (t * w, h), (-w, t * h), (w, t * h)][int(rng.integers(4))]

    inputs: dict[int, list[int]] = {}
    for node in range(n):
        if kind[node] == NodeKind.PORT:
            new_pin(node, names[node], 0.0, 0.0)
        elif kind[node] == NodeKind.HARD_MACRO:
            inputs[node] = [
                new_pin(node, f"{names[node]}/I{k}", *boundary_offset(node)) for k in range(HARD_INPUT_PINS)
            ]
        else:
            inputs[node] = [new_pin(node, f"{names[node]}/I", 0.0, 0.0)]
    net_pins, net_start, net_weight = [], [0], []
    for index, (driver, sinks, weight) in enumerate(nets):
        if kind[driver] == NodeKind.PORT:
            out = node_pins[driver][0]
        elif kind[driver] == NodeKind.HARD_MACRO:
            out = new_pin(driver, f"{names[driver]}/O{index}", *boundary_offset(driver))
        else:
            out = new_pin(driver, f"{names[driver]}/O{index}", 0.0, 0.0)
        pins = [out]
        for sink in sinks:
            pins.append(node_pins[sink][0] if kind[sink] == NodeKind.PORT
                        else inputs[sink][int(rng.integers(len(inputs[sink])))])  # fmt: skip
        net_pins.extend(pins)
        net_start.append(len(net_pins))
        net_weight.append(weight)
    pin_node_arr = np.array(pin_node, dtype=np.int64)
    node_file_index, pin_file_index = file_order(n, pin_node_arr, kind[pin_node_arr] != NodeKind.PORT)
    order, (net_start_arr, net_pins_arr, net_weight_arr) = in_file_order(
        node_file_index, pin_file_index, pin_node_arr, np.array(net_start), np.array(net_pins), net_weight
    )
    refs = [f"SRAM_T{hard_type[i]}" if i < spec.hard_macros else "" for i in range(n)]
    sides = [""] * (spec.hard_macros + spec.soft_macros) + list(port_side)
    return Netlist(
        name=f"synthetic_{spec.seed}",
        node_names=names,
        node_kind=kind,
        node_width=node_w,
        node_height=node_h,
        node_ref=refs,
        node_side=sides,
        node_file_index=node_file_index,
        pin_names=[pin_names[i] for i in order],
        pin_node=pin_node_arr[order],
        pin_dx=np.array(pin_dx)[order],
        pin_dy=np.array(pin_dy)[order],
        pin_file_index=pin_file_index[order],
        net_start=net_start_arr,
        net_pins=net_pins_arr,
        net_weight=net_weight_arr,
        metadata={key: float(value) for key, value in dataclasses.asdict(spec).items()},
    )
