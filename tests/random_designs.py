"""Small random netlists, floorplans and placements for property tests of the cost engine."""

from __future__ import annotations

import dataclasses

import numpy as np

from netlists import Design, Floorplan, Netlist, NodeKind, Placement
from placer.legality import TOUCH


def random_netlist(rng: np.random.Generator) -> Netlist:
    """A few hard macros, soft macros and ports with pins, and random weighted nets."""
    kinds = (
        [NodeKind.HARD_MACRO] * int(rng.integers(1, 7))
        + [NodeKind.SOFT_MACRO] * int(rng.integers(0, 5))
        + [NodeKind.PORT] * int(rng.integers(0, 4))
        + [NodeKind.STD_CELL] * int(rng.integers(0, 3))
    )
    width = np.where(np.array(kinds) == NodeKind.PORT, 0.0, rng.uniform(2.0, 40.0, len(kinds)))
    height = np.where(np.array(kinds) == NodeKind.PORT, 0.0, rng.uniform(2.0, 40.0, len(kinds)))
    pin_node, pin_dx, pin_dy = [], [], []
    for node, kind in enumerate(kinds):
        macro = kind in (NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO)
        for _ in range(int(rng.integers(1, 5)) if macro else 1):
            pin_node.append(node)
            offset = kind == NodeKind.HARD_MACRO
            pin_dx.append(rng.uniform(-width[node] / 2, width[node] / 2) if offset else 0.0)
            pin_dy.append(rng.uniform(-height[node] / 2, height[node] / 2) if offset else 0.0)
    n_pins = len(pin_node)
    net_start, net_pins, net_weight = [0], [], []
    for _ in range(int(rng.integers(1, 3 * len(kinds) + 2))):
        degree = int(rng.integers(2, min(n_pins, 8) + 1)) if n_pins > 1 else 1
        net_pins.extend(int(p) for p in rng.choice(n_pins, degree, replace=False))
        net_start.append(len(net_pins))
        net_weight.append(float(rng.choice([1.0, 1.0, 0.5, 2.0, 3.5])))
    return Netlist(
        name="random",
        node_names=[f"n{i}" for i in range(len(kinds))],
        node_kind=np.array(kinds),
        node_width=width,
        node_height=height,
        node_ref=[""] * len(kinds),
        node_side=[""] * len(kinds),
        node_file_index=np.arange(len(kinds)),
        pin_names=[f"p{i}" for i in range(n_pins)],
        pin_node=pin_node,
        pin_dx=pin_dx,
        pin_dy=pin_dy,
        pin_file_index=np.full(n_pins, -1),
        net_start=net_start,
        net_pins=net_pins,
        net_weight=net_weight,
    )


GRIDS = [(1, 1), (1, 7), (9, 1), (2, 3), (5, 5), (10, 10), (12, 4)]


def random_floorplan(rng: np.random.Generator) -> Floorplan:
    """A canvas with a random (sometimes 1x1, tall or wide) grid and routing model."""
    cols, rows = GRIDS[int(rng.integers(len(GRIDS)))]
    floorplan = Floorplan(
        width=float(rng.uniform(50.0, 200.0)),
        height=float(rng.uniform(50.0, 200.0)),
        cols=cols,
        rows=rows,
        hroutes_per_micron=float(rng.uniform(5.0, 80.0)),
        vroutes_per_micron=float(rng.uniform(5.0, 80.0)),
        hrouting_alloc=float(rng.uniform(1.0, 50.0)),
        vrouting_alloc=float(rng.uniform(1.0, 50.0)),
        smoothing_range=float(rng.integers(0, 4)),
    )
    if rng.random() < 0.25:  # a separate congestion grid
        floorplan = dataclasses.replace(
            floorplan, congestion_cols=int(rng.integers(1, 15)), congestion_rows=int(rng.integers(1, 15))
        )
    return floorplan


def random_placement(rng: np.random.Generator, netlist: Netlist, floorplan: Floorplan) -> Placement:
    """Centres anywhere around the canvas, some on grid lines, a few unplaced, any orientation."""
    n = netlist.n_nodes
    x = rng.uniform(-0.2, 1.2, n) * floorplan.width
    y = rng.uniform(-0.2, 1.2, n) * floorplan.height
    on_lines = rng.random(n) < 0.3  # centres (and often edges) exactly on grid lines
    x[on_lines] = rng.integers(0, floorplan.cols + 1, on_lines.sum()) * floorplan.cell_width
    y[on_lines] = rng.integers(0, floorplan.rows + 1, on_lines.sum()) * floorplan.cell_height
    edges = rng.random(n) < 0.2  # bottom-left corners on grid lines
    x[edges] = rng.integers(0, floorplan.cols, edges.sum()) * floorplan.cell_width + netlist.node_width[edges] / 2
    y[edges] = rng.integers(0, floorplan.rows, edges.sum()) * floorplan.cell_height + netlist.node_height[edges] / 2
    unplaced = rng.random(n) < 0.1
    x[unplaced] = y[unplaced] = np.nan
    return Placement(x, y, rng.integers(0, 8, n).astype(np.int8), np.zeros(n, dtype=bool))


def flat_design(
    rng: np.random.Generator, n_cells: int = 300, n_macros: int = 3, n_ports: int = 8, n_nets: int = 400
) -> tuple[Netlist, Placement, Floorplan]:
    """A small flat netlist: std cells (one pin each), hard macros with pins, ports on the edge.

    Nets mostly join cells with nearby ids, so the netlist has structure to cluster. Macros
    sit in fixed, non-overlapping spots; cells are placed at random on the 200 x 200 canvas.
    """
    kinds = [NodeKind.HARD_MACRO] * n_macros + [NodeKind.PORT] * n_ports + [NodeKind.STD_CELL] * n_cells
    n = len(kinds)
    width = np.concatenate([np.full(n_macros, 30.0), np.zeros(n_ports), rng.choice([0.38, 0.76, 1.52], n_cells)])
    height = np.concatenate([np.full(n_macros, 20.0), np.zeros(n_ports), np.full(n_cells, 1.4)])
    pin_node = [m for m in range(n_macros) for _ in range(4)] + list(range(n_macros, n))
    n_macro_pins = 4 * n_macros
    pin_dx = list(rng.uniform(-15, 15, n_macro_pins)) + [0.0] * (n - n_macros)
    pin_dy = list(rng.uniform(-10, 10, n_macro_pins)) + [0.0] * (n - n_macros)
    cell_pin0 = n_macro_pins + n_ports  # pin of the first std cell
    net_start, net_pins = [0], []
    drivers: set[int] = set()
    for _ in range(n_nets):
        centre = int(rng.integers(n_cells))
        degree = int(rng.integers(2, 6))
        members = {cell_pin0 + int(c) % n_cells for c in centre + rng.integers(-8, 9, degree)}
        if rng.random() < 0.1:
            members.add(int(rng.integers(cell_pin0)))  # a macro pin or a port
        members = sorted(members)
        free = [p for p in members if p not in drivers]
        if len(members) < 2 or not free:
            continue
        driver = free[0]
        drivers.add(driver)
        net_pins.extend([driver] + [p for p in members if p != driver])
        net_start.append(len(net_pins))
    file_index = []
    position = 0
    for node in range(n):
        file_index.append(position)
        position += 1 + (4 if node < n_macros else 0)
    pin_file_index = [file_index[m] + 1 + k for m in range(n_macros) for k in range(4)] + [-1] * (n - n_macros)
    netlist = Netlist(
        name="flat",
        node_names=[f"m{i}" for i in range(n_macros)] + [f"port{i}" for i in range(n_ports)]
        + [f"cell{i}" for i in range(n_cells)],
        node_kind=np.array(kinds),
        node_width=width,
        node_height=height,
        node_ref=[""] * n,
        node_side=[""] * n,
        node_file_index=np.array(file_index),
        pin_names=[f"m{m}/p{k}" for m in range(n_macros) for k in range(4)]
        + [f"port{i}" for i in range(n_ports)] + [f"cell{i}" for i in range(n_cells)],
        pin_node=pin_node,
        pin_dx=pin_dx,
        pin_dy=pin_dy,
        pin_file_index=pin_file_index,
        net_start=net_start,
        net_pins=net_pins,
        net_weight=np.ones(len(net_start) - 1),
    )  # fmt: skip
    floorplan = Floorplan(width=200.0, height=200.0, cols=8, rows=8)
    x = np.concatenate([40.0 + 60.0 * np.arange(n_macros), rng.uniform(0, 200, n_ports), rng.uniform(5, 195, n_cells)])
    y = np.concatenate([np.full(n_macros, 150.0), np.zeros(n_ports), rng.uniform(5, 195, n_cells)])
    fixed = np.array([k != NodeKind.STD_CELL for k in kinds])
    return netlist, Placement(x, y, np.zeros(n, dtype=np.int8), fixed), floorplan


def centre_pin_netlist(name: str, names: list[str], kinds: list[NodeKind], widths: list[float],
                       heights: list[float], nets: list[list[int]]) -> Netlist:  # fmt: skip
    """A hand-made netlist: one pin per node at its centre, ``nets`` as node ids (driver first, weight 1)."""
    n = len(names)
    return Netlist(
        name=name,
        node_names=names,
        node_kind=np.array(kinds),
        node_width=widths,
        node_height=heights,
        node_ref=[""] * n,
        node_side=[""] * n,
        node_file_index=np.arange(n),
        pin_names=[f"p{i}" for i in range(n)],
        pin_node=np.arange(n),
        pin_dx=np.zeros(n),
        pin_dy=np.zeros(n),
        pin_file_index=np.full(n, -1),
        net_start=np.concatenate([[0], np.cumsum([len(net) for net in nets], dtype=np.int64)]),
        net_pins=[node for net in nets for node in net],
        net_weight=np.ones(len(nets)),
    )


def hard_macro_violations(design: Design, placement: Placement) -> list[str]:
    """Plain pairwise check: movable hard macros inside the canvas, off each other and off blockages."""
    nl, fp = design.netlist, design.floorplan
    touch = TOUCH * max(fp.width, fp.height) * 10
    hard = [int(n) for n in nl.nodes_of(NodeKind.HARD_MACRO) if placement.is_placed[n]]

    def box(n):
        x, y, w, h = placement.x[n], placement.y[n], nl.node_width[n], nl.node_height[n]
        return x - w / 2, y - h / 2, x + w / 2, y + h / 2

    def overlap(a, b):
        return min(a[2], b[2]) - max(a[0], b[0]) > touch and min(a[3], b[3]) - max(a[1], b[1]) > touch

    problems = []
    for i, a in enumerate(hard):
        if design.placement.fixed[a]:
            continue
        ba = box(a)
        if ba[0] < -touch or ba[1] < -touch or ba[2] > fp.width + touch or ba[3] > fp.height + touch:
            problems.append(f"{nl.node_names[a]} outside the canvas")
        problems += [f"{nl.node_names[a]} overlaps {nl.node_names[b]}" for b in hard[:i] + hard[i + 1 :]
                     if overlap(ba, box(b))]  # fmt: skip
        problems += [f"{nl.node_names[a]} on a blockage" for b in fp.blockages
                     if overlap(ba, (b.x_min, b.y_min, b.x_max, b.y_max))]  # fmt: skip
    return problems
