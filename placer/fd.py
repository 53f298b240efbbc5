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

Pairwise repulsion only separates clusters that touch: it never sends them into free space
further away, so clusters stay piled on macros and around the centre. An optional final
*density stage* (``FDSchedule.electrostatic()``; not part of Circuit Training's schedule)
spreads them instead with the electrostatic field of ePlace: springs (``weight * distance``,
as in attraction) plus ``lambda`` times the field of all charges on a bin grid, each cluster
moving by its force over its total spring constant (at most ``max_move``), ``lambda`` growing
each step until the clusters' area above the target density falls under the target overflow.

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
from placer.electrostatics import PoissonSolver, blocked_area, gather_field, scatter_density, smeared

GATE_RATIO = 1e-4  # a force type is skipped when it is this much weaker than the other


@dataclass(frozen=True)
class DensityStage:
    """Electrostatic spreading after the force-directed stages (see the module docstring).

    Attributes:
        max_steps: Steps at most.
        bins: Bins per side of the density grid.
        target_density: Fraction of each bin's free area (outside fixed macros) that clusters may fill.
        target_overflow: Stop once the cluster area above the target density, over all bins,
            is below this fraction of the clusters' area.
        initial_weight: ``lambda`` at the first step relative to the ratio of the total spring
            force to the total density force.
        weight_growth: Factor on ``lambda`` per step.
        move_distance_factor: The largest move per step as a multiple of ``max(W, H) / 100``.
    """

    max_steps: int = 300
    bins: int = 64
    target_density: float = 0.7
    target_overflow: float = 0.1
    initial_weight: float = 0.01
    weight_growth: float = 1.1
    move_distance_factor: float = 1.0

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.bins < 2:
            raise ValueError("max_steps must be >= 0 and bins >= 2")
        if not 0.0 < self.target_density <= 1.0 or self.initial_weight <= 0.0 or self.weight_growth < 1.0:
            raise ValueError("need 0 < target_density <= 1, initial_weight > 0 and weight_growth >= 1")


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
        density: A final electrostatic spreading stage, or None (Circuit Training has none).
    """

    num_steps: tuple[int, ...] = (100, 100, 100)
    attract: tuple[float, ...] = (100.0, 1.0e-3, 1.0e-5)
    repel: tuple[float, ...] = (0.0, 1.0e6, 1.0e7)
    move_distance_factors: tuple[float, ...] = (1.0, 1.0, 1.0)
    io_factor: float = 1.0
    density: DensityStage | None = None

    @classmethod
    def circuit_training(cls) -> FDSchedule:
        """Circuit Training's schedule: attraction, then two stages of pairwise repulsion (the default)."""
        return cls()

    @classmethod
    def electrostatic(cls) -> FDSchedule:
        """Circuit Training's attraction stage, then electrostatic spreading instead of pairwise repulsion."""
        stage_one = {"num_steps": (100,), "attract": (100.0,), "repel": (0.0,), "move_distance_factors": (1.0,)}
        return cls(**stage_one, density=DensityStage())

    def __post_init__(self) -> None:
        lengths = {len(self.num_steps), len(self.attract), len(self.repel), len(self.move_distance_factors)}
        if len(lengths) != 1:
            raise ValueError("num_steps, attract, repel and move_distance_factors need one entry per stage")
        if any(n < 0 for n in self.num_steps) or any(f < 0 for f in (*self.attract, *self.repel)):
            raise ValueError("steps and force factors must not be negative")


@njit(cache=True, nogil=True)
def _pin_positions(node_x, node_y, pin_node, pin_ox, pin_oy, pin_x, pin_y):
    for pin in range(pin_node.size):
        pin_x[pin] = node_x[pin_node[pin]] + pin_ox[pin]
        pin_y[pin] = node_y[pin_node[pin]] + pin_oy[pin]


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def _jacobi_move(movers, node_x, node_y, half_w, half_h, width, height, max_move, fx, fy, dfx, dfy, weight, stiffness):
    """Move each node by (spring + weight * density force) / its spring constant, at most ``max_move``, kept inside."""
    for i in range(movers.size):
        node = movers[i]
        dx = (fx[node] + weight * dfx[i]) / stiffness[i]
        dy = (fy[node] + weight * dfy[i]) / stiffness[i]
        length = np.sqrt(dx * dx + dy * dy)
        if length > max_move:
            dx, dy = dx * max_move / length, dy * max_move / length
        node_x[node] = min(max(node_x[node] + dx, half_w[node]), width - half_w[node])
        node_y[node] = min(max(node_y[node] + dy, half_h[node]), height - half_h[node])


def _spring_stiffness(netlist: Netlist, pin_x: np.ndarray, pin_y: np.ndarray, io_factor: float) -> np.ndarray:
    """Per node, the sum of the spring constants (per unit ``attract``) of its placed driver-to-sink springs."""
    degree = np.diff(netlist.net_start)
    net_of_entry = np.repeat(np.arange(netlist.n_nets), degree)
    is_sink = np.ones(netlist.net_pins.size, dtype=bool)
    is_sink[netlist.net_start[:-1][degree > 0]] = False
    sink_entries = np.flatnonzero(is_sink)
    drivers = netlist.net_pins[netlist.net_start[net_of_entry[sink_entries]]]
    sinks = netlist.net_pins[sink_entries]
    is_port = netlist.node_kind[netlist.pin_node] == NodeKind.PORT
    k = netlist.net_weight[net_of_entry[sink_entries]] * np.where(is_port[drivers] | is_port[sinks], io_factor, 1.0)
    k[np.isnan(pin_x[drivers] + pin_y[drivers] + pin_x[sinks] + pin_y[sinks])] = 0.0
    return np.bincount(netlist.pin_node[drivers], k, netlist.n_nodes) + np.bincount(
        netlist.pin_node[sinks], k, netlist.n_nodes
    )


def _density_stage(stage: DensityStage, netlist: Netlist, fixed: np.ndarray, io_factor: float, arrays: dict) -> None:
    """Electrostatic spreading of ``arrays["movers"]`` in place (see the module docstring)."""
    movers, node_x, node_y = arrays["movers"], arrays["node_x"], arrays["node_y"]
    half_w, half_h, width, height = arrays["half_w"], arrays["half_h"], arrays["width"], arrays["height"]
    pin_x, pin_y, fx, fy = arrays["pin_x"], arrays["pin_y"], arrays["fx"], arrays["fy"]
    nb = stage.bins
    bin_w, bin_h = width / nb, height / nb
    solver = PoissonSolver(nb, nb, bin_w, bin_h)
    blocked = blocked_area(node_x[fixed], node_y[fixed], half_w[fixed], half_h[fixed], nb, nb, bin_w, bin_h)
    capacity = stage.target_density * (bin_w * bin_h - blocked)
    mover_area = float((4 * half_w[movers] * half_h[movers]).sum())
    # Fixed macros and the free space the clusters leave (ePlace's fillers, as a smooth charge)
    # both count, so clusters see where space is free, not merely where the canvas is empty.
    background = blocked + max(1.0 - mover_area / max((bin_w * bin_h - blocked).sum(), 1e-30), 0.0) * (
        bin_w * bin_h - blocked
    )
    smear_w, smear_h, charge = smeared(half_w[movers], half_h[movers], bin_w, bin_h)
    _pin_positions(node_x, node_y, arrays["pin_node"], arrays["pin_ox"], arrays["pin_oy"], pin_x, pin_y)
    stiffness = _spring_stiffness(netlist, pin_x, pin_y, io_factor)[movers]
    stiffness = np.maximum(stiffness, 1e-12 * max(stiffness.max(), 1.0))
    max_move = stage.move_distance_factor * max(width, height) / 100
    dfx, dfy = np.empty(movers.size), np.empty(movers.size)
    weight = 0.0
    for step in range(stage.max_steps):
        fx[:] = 0.0
        fy[:] = 0.0
        _pin_positions(node_x, node_y, arrays["pin_node"], arrays["pin_ox"], arrays["pin_oy"], pin_x, pin_y)
        _attract(arrays["net_start"], arrays["net_pins"], arrays["net_weight"], arrays["pin_node"],
                 arrays["pin_is_port"], pin_x, pin_y, arrays["movable"], 1.0, io_factor, fx, fy)  # fmt: skip
        rho = np.zeros((nb, nb))
        xs, ys = node_x[movers], node_y[movers]
        scatter_density(xs, ys, smear_w, smear_h, charge, bin_w, bin_h, rho)
        if np.maximum(rho - capacity, 0.0).sum() < stage.target_overflow * mover_area:
            break
        _, field_x, field_y = solver.solve((rho + background) / (bin_w * bin_h))
        gather_field(xs, ys, smear_w, smear_h, charge, bin_w, bin_h, field_x, field_y, dfx, dfy)
        np.negative(dfx, out=dfx)  # gather_field gives the energy's gradient; the force is its opposite
        np.negative(dfy, out=dfy)
        if step == 0:
            spring_total = np.abs(fx[movers]).sum() + np.abs(fy[movers]).sum()
            field_total = np.abs(dfx).sum() + np.abs(dfy).sum()
            weight = stage.initial_weight * (spring_total / field_total if field_total > 0 else 1.0)
        _jacobi_move(movers, node_x, node_y, half_w, half_h, width, height, max_move, fx, fy, dfx, dfy, weight,
                     stiffness)  # fmt: skip
        weight *= stage.weight_growth


SCHEDULES = {"electrostatic": FDSchedule.electrostatic, "circuit_training": FDSchedule.circuit_training}
"""The named schedules, as command lines and environments take them."""


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
    if schedule.density is not None:
        fixed = np.setdiff1d(objects, movers)
        _density_stage(schedule.density, netlist, fixed, schedule.io_factor, arrays)
    return out
