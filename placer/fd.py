"""Force-directed placement of std-cell clusters (soft macros), Circuit Training's schedule.

Hard macros and ports stay where they are; the movable soft macros start at the canvas
centre and move in steps. Per step every movable node gets

* attraction: each net is split into driver-to-sink springs; a spring pulls both its
  ends towards each other with force ``weight * attract * distance`` (times ``io_factor``
  when one end is a port);
* repulsion: each pair of overlapping macros (hard or soft) pushes apart with force
  ``repel * max_move`` along the line between their centres (along (-1, -1) from the
  lower node id when the centres coincide);

then forces are normalised per axis by the largest one over the movable nodes, so the
node pushed hardest moves exactly ``max_move`` along that axis, and a move that would take
a node's box off the canvas is cancelled. A stage computes attraction only when
``repel == 0 or attract / repel > 1e-4`` and repulsion only when
``attract == 0 or repel / attract > 1e-4``, so with the default schedule the first stage
gathers clusters near what they connect to and the next two spread them.

Sources: Circuit Training's ``placement_util.fd_placement_schedule`` (the schedule) and the
TILOS MacroPlacement open FD re-implementation (the force model), as summarised in the
project's proxy-cost notes. There is no randomness unless a ``seed`` asks for jittered
starting points, so results are repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from netlists import Floorplan, Netlist, NodeKind, Placement

GATE_RATIO = 1e-4  # a force type is skipped when it is this much weaker than the other


@dataclass(frozen=True)
class FDSchedule:
    """Stages of force-directed placement (Circuit Training's defaults).

    Attributes:
        num_steps: Steps per stage.
        attract: Spring constant per stage.
        repel: Repulsion factor per stage.
        move_distance_factors: Per stage, the largest move per step as a multiple of
            ``max(W, H) / num_steps``.
        io_factor: Extra spring factor for springs with a port at one end.
    """

    num_steps: tuple[int, ...] = (100, 100, 100)
    attract: tuple[float, ...] = (100.0, 1.0e-3, 1.0e-5)
    repel: tuple[float, ...] = (0.0, 1.0e6, 1.0e7)
    move_distance_factors: tuple[float, ...] = (1.0, 1.0, 1.0)
    io_factor: float = 1.0

    def __post_init__(self) -> None:
        lengths = {len(self.num_steps), len(self.attract), len(self.repel), len(self.move_distance_factors)}
        if len(lengths) != 1:
            raise ValueError("num_steps, attract, repel and move_distance_factors need one entry per stage")
        if any(n < 0 for n in self.num_steps) or any(f < 0 for f in (*self.attract, *self.repel)):
            raise ValueError("steps and force factors must not be negative")


@njit(cache=True)
def _pin_positions(node_x, node_y, pin_node, pin_ox, pin_oy, pin_x, pin_y):
    for pin in range(pin_node.size):
        pin_x[pin] = node_x[pin_node[pin]] + pin_ox[pin]
        pin_y[pin] = node_y[pin_node[pin]] + pin_oy[pin]


@njit(cache=True)
def _attract(net_start, net_pins, net_weight, pin_node, pin_is_port, pin_x, pin_y, movable, k, io_factor, fx, fy):
    """Spring forces along every driver-to-sink pair, on the movable ends."""
    for net in range(net_start.size - 1):
        src = net_pins[net_start[net]]
        a = pin_node[src]
        for j in range(net_start[net] + 1, net_start[net + 1]):
            dst = net_pins[j]
            dx, dy = pin_x[dst] - pin_x[src], pin_y[dst] - pin_y[src]
            if (dx == 0.0 and dy == 0.0) or np.isnan(dx + dy):
                continue
            spring = net_weight[net] * k
            if pin_is_port[src] or pin_is_port[dst]:
                spring *= io_factor
            b = pin_node[dst]
            if movable[a]:
                fx[a] += spring * dx
                fy[a] += spring * dy
            if movable[b]:
                fx[b] -= spring * dx
                fy[b] -= spring * dy


@njit(cache=True)
def _repel(objects, node_x, node_y, half_w, half_h, magnitude, fx, fy):
    """Push apart every pair of overlapping objects (sweep over boxes sorted by left edge)."""
    left = node_x[objects] - half_w[objects]
    order = objects[np.argsort(left)]
    for i in range(order.size):
        a0 = order[i]
        a_right = node_x[a0] + half_w[a0]
        for j in range(i + 1, order.size):
            b0 = order[j]
            if node_x[b0] - half_w[b0] >= a_right:
                break
            a, b = (a0, b0) if a0 < b0 else (b0, a0)  # forces are oriented from the lower id
            gap_x, gap_y = node_x[a] - node_x[b], node_y[a] - node_y[b]
            if abs(gap_x) >= half_w[a] + half_w[b] or abs(gap_y) >= half_h[a] + half_h[b]:
                continue
            if gap_x == 0.0 and gap_y == 0.0:
                dir_x = dir_y = -1.0
            else:
                dist = np.sqrt(gap_x * gap_x + gap_y * gap_y)
                dir_x, dir_y = gap_x / dist, gap_y / dist
            fx[a] += magnitude * dir_x
            fy[a] += magnitude * dir_y
            fx[b] -= magnitude * dir_x
            fy[b] -= magnitude * dir_y


@njit(cache=True)
def _move(movers, node_x, node_y, half_w, half_h, width, height, max_move, fx, fy):
    """Move by the per-axis normalised forces; cancel moves that leave the canvas."""
    max_fx = max_fy = 0.0
    for node in movers:
        max_fx = max(max_fx, abs(fx[node]))
        max_fy = max(max_fy, abs(fy[node]))
    for node in movers:
        x = node_x[node] + (fx[node] / max_fx * max_move if max_fx > 0.0 else 0.0)
        y = node_y[node] + (fy[node] / max_fy * max_move if max_fy > 0.0 else 0.0)
        if x - half_w[node] >= 0.0 and y - half_h[node] >= 0.0 and x + half_w[node] <= width:
            if y + half_h[node] <= height:
                node_x[node], node_y[node] = x, y


@njit(cache=True)
def _run_stage(steps, attract_on, repel_on, k, io_factor, repel, max_move, movers, objects, movable, node_x,
               node_y, half_w, half_h, width, height, net_start, net_pins, net_weight, pin_node, pin_is_port,
               pin_ox, pin_oy, pin_x, pin_y, fx, fy):  # fmt: skip
    for _ in range(steps):
        fx[:] = 0.0
        fy[:] = 0.0
        if attract_on:
            _pin_positions(node_x, node_y, pin_node, pin_ox, pin_oy, pin_x, pin_y)
            _attract(
                net_start, net_pins, net_weight, pin_node, pin_is_port, pin_x, pin_y, movable, k, io_factor, fx, fy
            )
        if repel_on:
            _repel(objects, node_x, node_y, half_w, half_h, repel * max_move, fx, fy)
        _move(movers, node_x, node_y, half_w, half_h, width, height, max_move, fx, fy)


def movable_soft_macros(netlist: Netlist, placement: Placement) -> np.ndarray:
    """Ids of the soft macros that are not fixed: what force-directed placement moves."""
    soft = netlist.nodes_of(NodeKind.SOFT_MACRO)
    return soft[~placement.fixed[soft]]


def place_soft_macros(
    netlist: Netlist,
    placement: Placement,
    floorplan: Floorplan,
    schedule: FDSchedule | None = None,
    *,
    use_current_loc: bool = False,
    square: bool = True,
    seed: int | None = None,
) -> Placement:
    """Force-directed placement of the movable soft macros; returns a new placement.

    Args:
        netlist: The netlist.
        placement: Where hard macros and ports are (they do not move); unplaced hard
            macros are ignored.
        floorplan: The canvas.
        schedule: Stages of the force model (Circuit Training's by default).
        use_current_loc: Start the soft macros where they are (they must be placed)
            instead of at the canvas centre.
        square: Treat soft macros as squares of the same area while placing them, as
            Circuit Training does (``make_soft_macros_square``); the netlist is unchanged.
        seed: When given, jitter the starting points by up to 0.1 % of the canvas,
            repeatably for the seed (Circuit Training uses no jitter).
    """
    schedule = schedule or FDSchedule()
    out = placement.copy()
    movers = movable_soft_macros(netlist, placement).astype(np.int64)
    if movers.size == 0:
        return out
    width, height = floorplan.width, floorplan.height
    if not use_current_loc:
        out.x[movers], out.y[movers] = width / 2, height / 2
    elif np.isnan(out.x[movers]).any() or np.isnan(out.y[movers]).any():
        raise ValueError("use_current_loc needs every movable soft macro placed")
    if seed is not None:
        jitter = np.random.default_rng(seed).uniform(-5e-4, 5e-4, (2, movers.size))
        out.x[movers] += jitter[0] * width
        out.y[movers] += jitter[1] * height
    movable = np.zeros(netlist.n_nodes, dtype=np.bool_)
    movable[movers] = True
    macros = netlist.nodes_of(NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO)
    objects = macros[~np.isnan(out.x[macros] + out.y[macros])].astype(np.int64)
    pin_ox, pin_oy = out.pin_offsets(netlist)  # orientations do not change during FD
    pin_is_port = netlist.node_kind[netlist.pin_node] == NodeKind.PORT
    half_w, half_h = netlist.node_width / 2, netlist.node_height / 2
    if square:
        soft = netlist.nodes_of(NodeKind.SOFT_MACRO)
        half_w[soft] = half_h[soft] = np.sqrt(netlist.node_area[soft]) / 2
    arrays = dict(
        movers=movers,
        objects=objects,
        movable=movable,
        node_x=out.x,
        node_y=out.y,
        half_w=half_w,
        half_h=half_h,
        width=float(width),
        height=float(height),
        net_start=netlist.net_start.astype(np.int64),
        net_pins=netlist.net_pins.astype(np.int64),
        net_weight=netlist.net_weight,
        pin_node=netlist.pin_node.astype(np.int64),
        pin_is_port=pin_is_port,
        pin_ox=pin_ox,
        pin_oy=pin_oy,
        pin_x=np.empty(netlist.n_pins),
        pin_y=np.empty(netlist.n_pins),
        fx=np.zeros(netlist.n_nodes),
        fy=np.zeros(netlist.n_nodes),
    )
    canvas = max(width, height)
    stages = zip(schedule.num_steps, schedule.attract, schedule.repel, schedule.move_distance_factors, strict=True)
    for steps, attract, repel, factor in stages:
        if steps == 0 or (attract == 0.0 and repel == 0.0):
            continue
        attract_on = repel == 0.0 or attract / repel > GATE_RATIO
        repel_on = attract == 0.0 or repel / attract > GATE_RATIO
        max_move = factor * canvas / steps
        _run_stage(steps, attract_on, repel_on, attract, schedule.io_factor, repel, max_move, **arrays)
    return out
