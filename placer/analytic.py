"""Analytic global placement: smooth wirelength plus an electrostatic density penalty (ePlace style).

Places many movable nodes (every std cell of a flat netlist, or std-cell clusters, with or
without the hard macros: mixed-size placement) around the fixed nodes and ports. The objective is

    f(x, y) = WA(x, y) + lambda * N(x, y)

* ``WA`` is the weighted-average wirelength (Hsu et al.), a smooth upper estimate of HPWL
  whose smoothing ``gamma`` shrinks as the placement spreads;
* ``N`` is the electrostatic energy of the nodes seen as charges (their area) on a bin grid;
  the potential solves Poisson's equation with Neumann boundaries through a DCT, so the
  density force reaches every node whatever the distance to free space (ePlace, Lu et al.
  2015). Nodes smaller than a bin are smeared over ``sqrt(2)`` bins to keep the field smooth.
  Movable hard macros are charged at the target density, grown by a halo (ePlace-MS, Lu et
  al. 2016): a bin a macro covers whole is then exactly full, not an overflow to thin out.

Nesterov's accelerated gradient with a Lipschitz step estimate minimises ``f`` while
``lambda`` grows, until the density overflow falls below ``target_overflow``. Work per step is
linear in pins plus an FFT of the bin grid; nothing is pairwise, so a 100k-cell netlist
takes seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from netlists import Floorplan, Netlist, NodeKind, Placement
from placer.electrostatics import PoissonSolver, blocked_area, gather_field, scatter_density, smeared

MAX_BACKTRACKS = 10  # gradient evaluations per step at most


@dataclass(frozen=True)
class AnalyticSettings:
    """Knobs of analytic global placement.

    Attributes:
        target_density: Fraction of each bin's free area that movable nodes may fill.
        target_overflow: Stop once the overflow (movable area above the target, over all
            bins, as a fraction of the movable area) is below this.
        max_iterations: Stop after this many gradient steps in any case.
        bins: Bins per side of the density grid; 0 picks a power of two near
            ``sqrt(movable nodes)`` (at least 16, at most 1024).
        max_net_degree: Nets with more pins are left out of the wirelength gradient (clock
            and reset nets would pull everything to one point); HPWL still counts them.
        initial_density_weight: ``lambda`` at the start relative to the ratio of the two
            gradients' norms.
        density_weight_growth: Largest factor on ``lambda`` per step. The factor is
            ``growth ** (1 - dHPWL / (hpwl_step * HPWL))``, kept within ``[1 / growth, growth]``
            (RePlAce's rule): ``lambda`` grows fast while spreading is cheap and slows down, or
            shrinks, when a step costs more than ``hpwl_step`` of the wirelength.
        hpwl_step: See ``density_weight_growth``.
        seed: Seeds the small random spread of the starting points around the centre.
        macro_halo: Clearance (µm) added on every side of each movable hard macro in the
            density, so that macros keep apart the legaliser's spacing.
    """

    target_density: float = 1.0
    target_overflow: float = 0.1
    max_iterations: int = 2000
    bins: int = 0
    max_net_degree: int = 1000
    initial_density_weight: float = 1e-3
    density_weight_growth: float = 1.05
    hpwl_step: float = 1e-3
    seed: int = 0
    macro_halo: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.target_density <= 1.0:
            raise ValueError(f"target_density must be in (0, 1], got {self.target_density}")
        if self.bins < 0 or self.max_iterations < 0 or self.max_net_degree < 2:
            raise ValueError("bins and max_iterations must be >= 0 and max_net_degree >= 2")
        if self.density_weight_growth < 1.0 or self.initial_density_weight <= 0.0:
            raise ValueError("density_weight_growth must be >= 1 and initial_density_weight > 0")
        if not 0.0 <= self.macro_halo < math.inf or not 0.0 < self.hpwl_step < math.inf:
            raise ValueError("macro_halo must be finite and >= 0, hpwl_step finite and > 0")


@dataclass(frozen=True)
class AnalyticResult:
    """What a run of :func:`place_analytic` returns.

    Attributes:
        placement: The new placement (movable nodes moved, the rest as given).
        iterations: Gradient steps taken.
        overflow: Density overflow at the end.
        hpwl: Half-perimeter wirelength of every net at the end (µm, net weights applied).
    """

    placement: Placement
    iterations: int
    overflow: float
    hpwl: float


# ------------------------------------------------------------------------------------ kernels
@njit(cache=True, nogil=True, fastmath=True)
def _wa_axis(net_start, net_pins, weight, pos, gamma, grad):
    """Weighted-average wirelength along one axis; adds its gradient per pin to ``grad``.

    Every pin of the nets must be placed: fastmath assumes no NaN, so the NaN tests below
    may be compiled away (:func:`_placed_pins` takes the others out first). Exponents are
    shifted by the net's extremes, so no gamma overflows.
    """
    total = 0.0
    e_pos = np.empty(np.max(np.diff(net_start)))
    e_neg = np.empty_like(e_pos)
    for net in range(net_start.size - 1):
        lo, hi = net_start[net], net_start[net + 1]
        if weight[net] == 0.0:
            continue
        p_max, p_min = -np.inf, np.inf
        for j in range(lo, hi):
            p = pos[net_pins[j]]
            if p == p:
                p_max, p_min = max(p_max, p), min(p_min, p)
        if p_max <= p_min:
            continue
        s_pos = s_neg = ps_pos = ps_neg = 0.0
        for j in range(lo, hi):
            p = pos[net_pins[j]]
            if p == p:
                e_pos[j - lo] = math.exp((p - p_max) / gamma)
                e_neg[j - lo] = math.exp((p_min - p) / gamma)
                s_pos += e_pos[j - lo]
                s_neg += e_neg[j - lo]
                ps_pos += p * e_pos[j - lo]
                ps_neg += p * e_neg[j - lo]
        wa_pos, wa_neg = ps_pos / s_pos, ps_neg / s_neg
        total += weight[net] * (wa_pos - wa_neg)
        for j in range(lo, hi):
            pin = net_pins[j]
            p = pos[pin]
            if p == p:
                d_pos = e_pos[j - lo] / s_pos * (1.0 + (p - wa_pos) / gamma)
                d_neg = e_neg[j - lo] / s_neg * (1.0 - (p - wa_neg) / gamma)
                grad[pin] += weight[net] * (d_pos - d_neg)
    return total


@njit(cache=True, nogil=True)
def _hpwl(net_start, net_pins, weight, pin_x, pin_y):
    total = 0.0
    for net in range(net_start.size - 1):
        x0 = y0 = np.inf
        x1 = y1 = -np.inf
        for j in range(net_start[net], net_start[net + 1]):
            pin = net_pins[j]
            if not np.isnan(pin_x[pin] + pin_y[pin]):
                x0, x1 = min(x0, pin_x[pin]), max(x1, pin_x[pin])
                y0, y1 = min(y0, pin_y[pin]), max(y1, pin_y[pin])
        if x1 > x0 or y1 > y0:
            total += weight[net] * (x1 - x0 + y1 - y0)
    return total


def _placed_pins(net_start: np.ndarray, net_pins: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The nets (CSR) with only the entries whose pin ``keep`` says."""
    kept = keep[net_pins]
    net_of_entry = np.repeat(np.arange(net_start.size - 1), np.diff(net_start))
    counts = np.bincount(net_of_entry[kept], minlength=net_start.size - 1)
    return np.concatenate([[0], np.cumsum(counts)]).astype(net_start.dtype), net_pins[kept]


# ------------------------------------------------------------------------------- the placer
def default_bins(n_movable: int) -> int:
    """A power of two near ``sqrt(n_movable)``, between 16 and 1024."""
    return int(min(1024, max(16, 2 ** round(math.log2(max(n_movable, 1)) / 2))))


def hpwl(netlist: Netlist, placement: Placement) -> float:
    """Half-perimeter wirelength of every net with two or more pins (µm, net weights applied)."""
    pin_x, pin_y = placement.pin_positions(netlist)
    return float(_hpwl(netlist.net_start, netlist.net_pins, netlist.net_weight, pin_x, pin_y))


def place_analytic(
    netlist: Netlist,
    placement: Placement,
    floorplan: Floorplan,
    movable: np.ndarray,
    settings: AnalyticSettings | None = None,
    *,
    use_current_loc: bool = False,
    progress: Callable[[int, float, float], None] | None = None,
) -> AnalyticResult:
    """Global placement of ``movable`` nodes; every other placed node is fixed.

    Args:
        netlist: The netlist.
        placement: Positions of the fixed nodes (and of the movable ones if
            ``use_current_loc``). Fixed nodes that are unplaced are left out.
        floorplan: The canvas.
        movable: Ids of the nodes to place (std cells, soft macros, hard macros).
        settings: Knobs; defaults suit a flat netlist.
        use_current_loc: Start from the movable nodes' positions instead of the centre.
        progress: Called every 50 steps with (step, overflow, hpwl).

    Returns:
        The placement with the movable nodes inside the canvas, and run statistics.
    """
    settings = settings or AnalyticSettings()
    movable = np.unique(np.asarray(movable, dtype=np.int64))
    out = placement.copy()
    width, height = float(floorplan.width), float(floorplan.height)
    if movable.size == 0:
        return AnalyticResult(out, 0, 0.0, hpwl(netlist, out))
    nbins = settings.bins or default_bins(movable.size)
    bin_w, bin_h = width / nbins, height / nbins
    solver = PoissonSolver(nbins, nbins, bin_w, bin_h)
    is_fixed = np.ones(netlist.n_nodes, dtype=bool)
    is_fixed[movable] = False
    fixed = np.flatnonzero(is_fixed & out.is_placed & (netlist.node_kind != NodeKind.PORT))
    fixed_map = blocked_area(out.x[fixed], out.y[fixed], netlist.node_width[fixed] / 2, netlist.node_height[fixed] / 2,
                             nbins, nbins, bin_w, bin_h)  # fmt: skip
    capacity = settings.target_density * (bin_w * bin_h - fixed_map)
    # Fixed area is charged at the target density so that free space is what attracts nodes.
    fixed_charge = fixed_map * settings.target_density

    n_mov = movable.size
    mov_area = float((netlist.node_area[movable]).sum())
    macros = netlist.node_kind[movable] == NodeKind.HARD_MACRO
    halo = np.where(macros, settings.macro_halo, 0.0)
    mov_w, mov_h = netlist.node_width[movable] / 2 + halo, netlist.node_height[movable] / 2 + halo
    mov_charge = np.where(macros, settings.target_density, 1.0)
    # Fillers (ePlace): bin-sized dummy nodes that take up the free area the movable nodes
    # leave at the target density. Without them empty corners pull nodes far from their nets.
    n_fill = max(int((capacity.sum() - float((4 * mov_w * mov_h * mov_charge).sum())) / (bin_w * bin_h)), 0)
    rng = np.random.default_rng(settings.seed)
    half_w = np.concatenate([mov_w, np.full(n_fill, bin_w / 2)])
    half_h = np.concatenate([mov_h, np.full(n_fill, bin_h / 2)])
    if use_current_loc:
        if not out.is_placed[movable].all():
            raise ValueError("use_current_loc needs every movable node placed")
        x, y = out.x[movable].astype(float), out.y[movable].astype(float)
    else:
        x = width / 2 + rng.normal(0.0, 1e-3 * width, n_mov)
        y = height / 2 + rng.normal(0.0, 1e-3 * height, n_mov)
    x = np.concatenate([x, rng.uniform(0.0, width, n_fill)])
    y = np.concatenate([y, rng.uniform(0.0, height, n_fill)])

    smear_w, smear_h, charge_scale = smeared(half_w, half_h, bin_w, bin_h)
    charge_scale[:n_mov] *= mov_charge
    area = 4 * half_w * half_h

    # Nets for the wirelength gradient: pins on movable nodes move, the rest are constants.
    degree = np.diff(netlist.net_start)
    wl_weight = np.where(degree <= settings.max_net_degree, netlist.net_weight, 0.0)
    node_slot = np.full(netlist.n_nodes, -1, dtype=np.int64)
    node_slot[movable] = np.arange(movable.size)
    pin_slot = node_slot[netlist.pin_node]
    pin_ox, pin_oy = out.pin_offsets(netlist)
    base_x, base_y = out.pin_positions(netlist)
    moving_pins = np.flatnonzero(pin_slot >= 0)
    entry_slot = pin_slot[netlist.net_pins]
    nets_per_node = np.bincount(entry_slot[entry_slot >= 0], minlength=n_mov + n_fill).astype(float)
    # Pins of unplaced fixed nodes are left out of the wirelength gradient (no NaN reaches the kernel).
    net_start, net_pins = _placed_pins(
        netlist.net_start, netlist.net_pins, (pin_slot >= 0) | ~np.isnan(base_x + base_y)
    )

    def pin_positions(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pin_x, pin_y = base_x.copy(), base_y.copy()
        slots = pin_slot[moving_pins]
        pin_x[moving_pins] = px[slots] + pin_ox[moving_pins]
        pin_y[moving_pins] = py[slots] + pin_oy[moving_pins]
        return pin_x, pin_y

    def density(px: np.ndarray, py: np.ndarray, objects: slice) -> np.ndarray:
        rho = np.zeros((nbins, nbins))
        scatter_density(px[objects], py[objects], smear_w[objects], smear_h[objects], charge_scale[objects], bin_w,
                         bin_h, rho)  # fmt: skip
        return rho

    cells, fillers = slice(0, n_mov), slice(n_mov, None)

    def gradients(px: np.ndarray, py: np.ndarray, gamma: float) -> tuple[np.ndarray, ...]:
        pin_x, pin_y = pin_positions(px, py)
        grad_px, grad_py = np.zeros(netlist.n_pins), np.zeros(netlist.n_pins)
        _wa_axis(net_start, net_pins, wl_weight, pin_x, gamma, grad_px)
        _wa_axis(net_start, net_pins, wl_weight, pin_y, gamma, grad_py)
        slots = pin_slot[moving_pins]
        wl_gx = np.bincount(slots, grad_px[moving_pins], minlength=px.size)
        wl_gy = np.bincount(slots, grad_py[moving_pins], minlength=px.size)
        rho = density(px, py, cells)
        _, field_x, field_y = solver.solve((rho + density(px, py, fillers) + fixed_charge) / (bin_w * bin_h))
        d_gx, d_gy = np.empty(px.size), np.empty(px.size)
        gather_field(px, py, smear_w, smear_h, charge_scale, bin_w, bin_h, field_x, field_y, d_gx, d_gy)
        return wl_gx, wl_gy, d_gx, d_gy, rho

    def overflow_of(rho: np.ndarray) -> float:
        return float(np.maximum(rho - capacity, 0.0).sum() / mov_area)

    inside_w, inside_h = (
        half_w - np.pad(halo, (0, n_fill)),
        half_h - np.pad(halo, (0, n_fill)),
    )  # the node, not its halo

    def clamp(px: np.ndarray, py: np.ndarray) -> None:
        np.clip(px, inside_w, width - inside_w, out=px)
        np.clip(py, inside_h, height - inside_h, out=py)

    def placed_hpwl(px: np.ndarray, py: np.ndarray) -> float:
        return float(_hpwl(net_start, net_pins, netlist.net_weight, *pin_positions(px, py)))

    clamp(x, y)
    last_hpwl = placed_hpwl(x, y)
    base_gamma = 4.0 * (bin_w + bin_h) / 2

    def gamma_for(overflow: float) -> float:  # DREAMPlace's schedule: 10x base at overflow 1, 0.1x at 0.1
        return base_gamma * 10 ** (20 / 9 * overflow - 11 / 9)

    wl_gx, wl_gy, d_gx, d_gy, rho = gradients(x, y, gamma_for(1.0))
    overflow = overflow_of(rho)
    wl_norm = np.abs(wl_gx).sum() + np.abs(wl_gy).sum()
    d_norm = np.abs(d_gx).sum() + np.abs(d_gy).sum()
    lam = settings.initial_density_weight * (wl_norm / d_norm if d_norm > 0 else 1.0)

    def step_direction(wl_gx, wl_gy, d_gx, d_gy) -> tuple[np.ndarray, np.ndarray]:
        precondition = np.maximum(nets_per_node + lam * area * charge_scale, 1.0)
        return (wl_gx + lam * d_gx) / precondition, (wl_gy + lam * d_gy) / precondition

    # Nesterov's method with ePlace's backtracking: u is the main sequence, v the look-ahead
    # point where gradients are taken; the step is the inverse of a local Lipschitz estimate.
    ux, uy, vx, vy = x.copy(), y.copy(), x.copy(), y.copy()
    gx, gy = step_direction(wl_gx, wl_gy, d_gx, d_gy)
    step = 0.1 * (bin_w + bin_h) / 2 / max(np.abs(gx).max(), np.abs(gy).max(), 1e-30)
    a = 1.0
    iteration = 0
    while iteration < settings.max_iterations and overflow > settings.target_overflow:
        iteration += 1
        new_a = (1 + math.sqrt(4 * a * a + 1)) / 2
        momentum = (a - 1) / new_a
        gamma = gamma_for(overflow)
        for _ in range(MAX_BACKTRACKS):
            new_ux, new_uy = vx - step * gx, vy - step * gy
            clamp(new_ux, new_uy)
            new_vx, new_vy = new_ux + momentum * (new_ux - ux), new_uy + momentum * (new_uy - uy)
            clamp(new_vx, new_vy)
            wl_gx, wl_gy, d_gx, d_gy, rho = gradients(new_vx, new_vy, gamma)
            new_gx, new_gy = step_direction(wl_gx, wl_gy, d_gx, d_gy)
            moved = math.sqrt(((new_vx - vx) ** 2).sum() + ((new_vy - vy) ** 2).sum())
            changed = math.sqrt(((new_gx - gx) ** 2).sum() + ((new_gy - gy) ** 2).sum())
            new_step = moved / changed if changed > 0 and moved > 0 else step
            if new_step >= 0.95 * step:
                break
            step = new_step
        step = new_step
        overflow = overflow_of(rho)
        new_hpwl = placed_hpwl(new_ux, new_uy)
        exponent = np.clip(1.0 - (new_hpwl - last_hpwl) / (settings.hpwl_step * max(last_hpwl, 1e-30)), -1.0, 1.0)
        lam *= settings.density_weight_growth**exponent
        last_hpwl = new_hpwl
        ux, uy, vx, vy, gx, gy, a = new_ux, new_uy, new_vx, new_vy, new_gx, new_gy, new_a
        if progress is not None and iteration % 50 == 0:
            progress(iteration, overflow, last_hpwl)
    # The look-ahead point is where the last gradient, and so the stopping overflow, was taken.
    out.x[movable], out.y[movable] = vx[cells], vy[cells]
    return AnalyticResult(out, iteration, overflow, hpwl(netlist, out))
