"""Numba kernels of the proxy cost: pin positions, net bounding boxes, grid routing, footprints.

Every kernel works on flat arrays, grouped by concern into three tuples, one argument each:
:data:`Graph` (what the netlist fixes: connectivity, pin offsets, node sizes), :data:`Grid`
(the canvas and grids' numbers) and :data:`State` (what a placement sets: positions, pins,
nets' half-perimeters, the density and congestion maps and their scratch space). A new cost
term adds its arrays to the group it belongs to, and the kernels' signatures stay as they
are. Callers pass the groups as plain tuples (numba types a plain tuple of arrays on its
fast path, a named one about three times slower, which a move's two calls would feel); each
kernel names their fields on entry, at no cost. Kernels take a ``sign`` where they accumulate, so
that the incremental evaluator can take a node's contribution out (-1) and put it back (+1)
with the same code that builds the maps from scratch. Grid cells are numbered
``row * cols + col``.

Pin cell codes: ``>= 0`` a congestion-grid cell, ``UNPLACED`` for a pin of an unplaced
node, ``OUTSIDE`` for a pin outside the canvas (its net then adds no routing demand,
which is what reproduces Circuit Training's recorded congestion on placements with
macros off the canvas).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

UNPLACED = -1
OUTSIDE = -2
EMPTY_DENSITY = 1e-12  # a cell this sparsely covered counts as empty
EDGE_TOLERANCE = 1e-5  # µm; an edge row or column covered less than this short of a full cell is "full"

# Float parameters, packed into one array to keep kernel signatures short.
P_WIDTH, P_HEIGHT, P_CELL_W, P_CELL_H, P_CONG_W, P_CONG_H, P_H_ROUTES, P_V_ROUTES, P_H_ALLOC, P_V_ALLOC = range(10)
# Integer parameters.
I_COLS, I_ROWS, I_CONG_COLS, I_CONG_ROWS, I_SMOOTH = range(5)

Graph = namedtuple("Graph", (
    "pin_node", "pin_dx", "pin_dy",  # per pin: its node, its offset from the node's centre (orientation N)
    "node_pin_start", "node_pins", "node_net_start", "node_nets",  # per node, CSR: its pins, the nets it is on
    "net_start", "net_pins", "net_weight", "route_weight",  # per net, CSR: its pins (driver first), weights
    "node_w", "node_h", "is_area", "is_hard",  # per node: size, whether it covers area, whether a hard macro
    "matrices",  # per orientation code: the 2 x 2 pin-offset transform, flattened
))  # fmt: skip
"""What the netlist fixes; read-only in the kernels."""

Grid = namedtuple("Grid", ("fp", "ip", "cell_area"))
"""The float parameters (``P_*``), the integer ones (``I_*``) and the placement-grid cell area (µm²)."""

State = namedtuple("State", (
    "x", "y", "orientation",  # per node: centre (NaN: unplaced) and orientation code
    "pin_x", "pin_y", "pin_row", "pin_col", "pin_cell",  # per pin: position and congestion cell (or a code)
    "net_hpwl",  # per net: half-perimeter
    "occupancy",  # per placement-grid cell: the area covered
    "h_diff", "v_diff",  # net routing demand, as difference arrays along rows / columns
    "hm_raw", "vm_raw",  # per congestion cell: routing taken by hard macros
    "h_total", "v_total", "both",  # per congestion cell: the congestion maps, and both end to end
    "top_hints", "top_scratch",  # density's and congestion's hints for top_mean, and its scratch space
    "stamp", "firsts",  # update_nets' scratch space: the visit stamp per cell, the first pin per new cell
))  # fmt: skip
"""What a placement sets; the kernels update it in place."""


@njit(cache=True, nogil=True)
def _grid_index(value: float, size: float, count: int) -> int:
    """Cell index of a coordinate along one axis, clamped to ``[0, count - 1]``."""
    index = np.floor(value / size)
    if index < 0.0:
        return 0
    if index > count - 1:
        return count - 1
    return int(index)


@njit(cache=True, nogil=True)
def _pin_grid_index(value: float, size: float, inverse: float, count: int) -> int:
    """:func:`_grid_index` for a point inside the canvas, multiplying by the inverse cell size.

    Division is slow on some CPUs; the product is only trusted away from cell borders,
    where it cannot round to a different cell than the division does.
    """
    t = value * inverse
    index = np.floor(t)
    if t - index < 1e-9 or index + 1.0 - t < 1e-9:
        index = np.floor(value / size)
    return int(min(index, count - 1))


@njit(cache=True, nogil=True)
def update_pins(pins, graph, grid, state):
    """Absolute position and congestion cell (row, col and ``row * cols + col``) of the given pins."""
    g, grid, s = Graph(*graph), Grid(*grid), State(*state)
    fp, ip, matrices = grid.fp, grid.ip, g.matrices
    pin_x, pin_y, pin_row, pin_col, pin_cell = s.pin_x, s.pin_y, s.pin_row, s.pin_col, s.pin_cell
    width, height = fp[P_WIDTH], fp[P_HEIGHT]
    cw, ch = fp[P_CONG_W], fp[P_CONG_H]
    inv_cw, inv_ch = 1.0 / cw, 1.0 / ch
    cols, rows = ip[I_CONG_COLS], ip[I_CONG_ROWS]
    for i in range(pins.size):
        pin = pins[i]
        node = g.pin_node[pin]
        o = s.orientation[node]
        dx, dy = g.pin_dx[pin], g.pin_dy[pin]
        px = s.x[node] + matrices[o, 0] * dx + matrices[o, 1] * dy
        py = s.y[node] + matrices[o, 2] * dx + matrices[o, 3] * dy
        pin_x[pin] = px
        pin_y[pin] = py
        if np.isnan(px) or np.isnan(py):
            pin_cell[pin] = UNPLACED
        elif px < 0.0 or px > width or py < 0.0 or py > height:
            pin_cell[pin] = OUTSIDE
        else:
            row, col = _pin_grid_index(py, ch, inv_ch, rows), _pin_grid_index(px, cw, inv_cw, cols)
            pin_row[pin], pin_col[pin] = row, col
            pin_cell[pin] = row * cols + col


@njit(cache=True, nogil=True)
def _route_h(h_diff, cols, row, col_a, col_b, w):
    """A horizontal wire in ``row`` crossing the right edges of columns min..max-1.

    Demand is kept as a difference array along each row (``cols + 1`` entries per row):
    a wire of any length is two updates, and :func:`congestion_totals` integrates.
    """
    lo, hi = min(col_a, col_b), max(col_a, col_b)
    if lo < hi:
        h_diff[row * (cols + 1) + lo] += w
        h_diff[row * (cols + 1) + hi] -= w


@njit(cache=True, nogil=True)
def _route_v(v_diff, cols, col, row_a, row_b, w):
    """A vertical wire in ``col`` crossing the top edges of rows min..max-1 (difference array along columns)."""
    lo, hi = min(row_a, row_b), max(row_a, row_b)
    if lo < hi:
        v_diff[lo * cols + col] += w
        v_diff[hi * cols + col] -= w


@njit(cache=True, nogil=True)
def _route_two(h, v, cols, r1, c1, r2, c2, w):
    _route_h(h, cols, r1, c1, c2, w)  # horizontal leg in the source row
    _route_v(v, cols, c2, r1, r2, w)  # vertical leg in the sink column


@njit(cache=True, nogil=True)
def _less(a1, b1, a2, b2):
    return a1 < a2 or (a1 == a2 and b1 < b2)


@njit(cache=True, nogil=True)
def _sort3(a1, a2, a3, b1, b2, b3):
    """Sort three (a, b) pairs by (a, b); returns a1, b1, a2, b2, a3, b3 in order."""
    if _less(a2, b2, a1, b1):
        a1, b1, a2, b2 = a2, b2, a1, b1
    if _less(a3, b3, a2, b2):
        a2, b2, a3, b3 = a3, b3, a2, b2
    if _less(a2, b2, a1, b1):
        a1, b1, a2, b2 = a2, b2, a1, b1
    return a1, b1, a2, b2, a3, b3


@njit(cache=True, nogil=True)
def _route_three(h, v, cols, r1, r2, r3, c1, c2, c3, w):
    """Circuit Training's L / T routing of a net spanning exactly three cells."""
    c1, r1, c2, r2, c3, r3 = _sort3(c1, c2, c3, r1, r2, r3)  # by (col, row)
    if c1 < c2 < c3 and min(r1, r3) < r2 < max(r1, r3):
        _route_h(h, cols, r1, c1, c2, w)
        _route_h(h, cols, r2, c2, c3, w)
        _route_v(v, cols, c2, r1, r2, w)
        _route_v(v, cols, c3, r2, r3, w)
    elif c2 == c3 and c1 < c2 and r1 < min(r2, r3):
        _route_h(h, cols, r1, c1, c2, w)
        _route_v(v, cols, c2, r1, max(r2, r3), w)
    elif r2 == r3:
        _route_h(h, cols, r1, c1, c2, w)
        _route_h(h, cols, r2, c2, c3, w)
        _route_v(v, cols, c2, r1, r2, w)
    else:
        r1, c1, r2, c2, r3, c3 = _sort3(r1, r2, r3, c1, c2, c3)  # by (row, col)
        _route_h(h, cols, r2, min(c1, min(c2, c3)), max(c1, max(c2, c3)), w)
        _route_v(v, cols, c1, r1, r2, w)
        _route_v(v, cols, c3, r2, r3, w)


@njit(cache=True, nogil=True)
def update_nets(nets, sign, recompute_hpwl, graph, grid, state):
    """Add (``sign`` +1) or remove (-1) the grid routing of nets; returns the wirelength change.

    With ``recompute_hpwl`` the nets' half-perimeters are recomputed on the way. A net is
    routed over the distinct cells of its placed pins, source (first placed pin) first:
    nothing for one cell, an L for two, Circuit Training's L/T cases for three, a star
    from the source for more. A net with a pin outside the canvas is not routed.

    Distinct cells are found without branches: ``stamp[cell]`` holds the visit number of
    the last net that touched the cell (``stamp[-1]`` is the running visit counter), and
    ``firsts`` collects the first pin seen in each new cell.
    """
    g, grid, s = Graph(*graph), Grid(*grid), State(*state)
    net_start, net_pins, net_weight, route_weight = g.net_start, g.net_pins, g.net_weight, g.route_weight
    pin_x, pin_y, pin_row, pin_col, pin_cell = s.pin_x, s.pin_y, s.pin_row, s.pin_col, s.pin_cell
    net_hpwl, h_diff, v_diff, stamp, firsts = s.net_hpwl, s.h_diff, s.v_diff, s.stamp, s.firsts
    cols = grid.ip[I_CONG_COLS]
    visit = stamp[-1]
    delta = 0.0
    for i in range(nets.size):
        net = nets[i]
        visit += 1
        count = placed = 0
        dropped = False
        x_min = y_min = np.inf
        x_max = y_max = -np.inf
        for j in range(net_start[net], net_start[net + 1]):
            pin = net_pins[j]
            cell = pin_cell[pin]
            if cell < 0:
                if cell == UNPLACED:
                    continue
                dropped = True
            placed += 1
            if recompute_hpwl:
                x, y = pin_x[pin], pin_y[pin]
                x_min, x_max = min(x_min, x), max(x_max, x)
                y_min, y_max = min(y_min, y), max(y_max, y)
            if not dropped:
                new = stamp[cell] != visit
                stamp[cell] = visit
                firsts[count] = pin
                count += new
        if recompute_hpwl:
            hpwl = (x_max - x_min) + (y_max - y_min) if placed > 1 else 0.0
            delta += net_weight[net] * (hpwl - net_hpwl[net])
            net_hpwl[net] = hpwl
        if dropped or count < 2:
            continue
        w = sign * route_weight[net]
        if count == 3:
            a, b, c = firsts[0], firsts[1], firsts[2]
            _route_three(
                h_diff, v_diff, cols, pin_row[a], pin_row[b], pin_row[c], pin_col[a], pin_col[b], pin_col[c], w
            )
        else:  # two cells, or a star from the source cell to every other one
            source = firsts[0]
            for f in range(1, count):
                sink = firsts[f]
                _route_two(h_diff, v_diff, cols, pin_row[source], pin_col[source], pin_row[sink], pin_col[sink], w)
    stamp[-1] = visit
    return delta


@njit(cache=True, nogil=True)
def _footprint(node, node_x, node_y, node_w, node_h):
    """Left, bottom, right and top edges of a node's box around its centre."""
    x, y = node_x[node], node_y[node]
    return x - node_w[node] / 2, y - node_h[node] / 2, x + node_w[node] / 2, y + node_h[node] / 2


@njit(cache=True, nogil=True)
def add_density(nodes, sign, graph, grid, state):
    """Add (or remove) the area each node's footprint covers in every placement-grid cell."""
    g, grid, s = Graph(*graph), Grid(*grid), State(*state)
    node_x, node_y, node_w, node_h, occupancy = s.x, s.y, g.node_w, g.node_h, s.occupancy
    gw, gh = grid.fp[P_CELL_W], grid.fp[P_CELL_H]
    cols, rows = grid.ip[I_COLS], grid.ip[I_ROWS]
    for node in nodes:
        if np.isnan(node_x[node]) or np.isnan(node_y[node]):
            continue
        x0, y0, x1, y1 = _footprint(node, node_x, node_y, node_w, node_h)
        for r in range(_grid_index(y0, gh, rows), _grid_index(y1, gh, rows) + 1):
            oy = min(y1, (r + 1) * gh) - max(y0, r * gh)
            if oy < 0.0:
                continue
            for c in range(_grid_index(x0, gw, cols), _grid_index(x1, gw, cols) + 1):
                ox = min(x1, (c + 1) * gw) - max(x0, c * gw)
                if ox >= 0.0:
                    occupancy[r * cols + c] += sign * ox * oy


@njit(cache=True, nogil=True)
def _overlap_lengths(x0, y0, x1, y1, r, c, gw, gh):
    ox = min(x1, (c + 1) * gw) - max(x0, c * gw)
    oy = min(y1, (r + 1) * gh) - max(y0, r * gh)
    if ox > 0.0 and oy > 0.0:
        return ox, oy
    return 0.0, 0.0


@njit(cache=True, nogil=True)
def add_macro_blockage(nodes, sign, graph, grid, state):
    """Add (or remove) the routing tracks hard macros take over congestion cells.

    Per cell: overlap width x vertical allocation, overlap height x horizontal allocation.
    Circuit Training's partial-overlap correction: when the macro's bottom or top row is
    only partly covered, the top row's vertical share is taken back; when its left or
    right column is, the right column's horizontal share is taken back.
    """
    g, grid, s = Graph(*graph), Grid(*grid), State(*state)
    node_x, node_y, node_w, node_h, hm, vm = s.x, s.y, g.node_w, g.node_h, s.hm_raw, s.vm_raw
    fp, ip = grid.fp, grid.ip
    gw, gh = fp[P_CONG_W], fp[P_CONG_H]
    h_alloc, v_alloc = fp[P_H_ALLOC], fp[P_V_ALLOC]
    cols, rows = ip[I_CONG_COLS], ip[I_CONG_ROWS]
    for node in nodes:
        if np.isnan(node_x[node]) or np.isnan(node_y[node]):
            continue
        x0, y0, x1, y1 = _footprint(node, node_x, node_y, node_w, node_h)
        top_f, right_f = np.floor(y1 / gh), np.floor(x1 / gw)
        if top_f < 0.0 or right_f < 0.0:
            continue  # entirely below or left of the canvas
        bottom, left = _grid_index(y0, gh, rows), _grid_index(x0, gw, cols)
        top, right = _grid_index(y1, gh, rows), _grid_index(x1, gw, cols)
        partial_rows = partial_cols = False
        for r in range(bottom, top + 1):
            for c in range(left, right + 1):
                ox, oy = _overlap_lengths(x0, y0, x1, y1, r, c, gw, gh)
                if top != bottom and (r == bottom or r == top) and abs(oy - gh) > EDGE_TOLERANCE:
                    partial_rows = True
                if right != left and (c == left or c == right) and abs(ox - gw) > EDGE_TOLERANCE:
                    partial_cols = True
                vm[r * cols + c] += sign * ox * v_alloc
                hm[r * cols + c] += sign * oy * h_alloc
        if partial_rows:
            for c in range(left, right + 1):
                vm[top * cols + c] -= sign * _overlap_lengths(x0, y0, x1, y1, top, c, gw, gh)[0] * v_alloc
        if partial_cols:
            for r in range(bottom, top + 1):
                hm[r * cols + right] -= sign * _overlap_lengths(x0, y0, x1, y1, r, right, gw, gh)[1] * h_alloc


@njit(cache=True, nogil=True)
def congestion_totals(grid, state):
    """Smoothed net demand plus macro blockage, normalised, per congestion cell: ``s.h_total`` and ``s.v_total``.

    The net demand is first integrated from its difference arrays. V demand is then spread
    along its row and H demand along its column over +-k cells (clipped to the grid,
    split equally over the cells actually covered).
    """
    grid, s = Grid(*grid), State(*state)
    fp, ip = grid.fp, grid.ip
    h_diff, v_diff, hm_raw, vm_raw, h_out, v_out = s.h_diff, s.v_diff, s.hm_raw, s.vm_raw, s.h_total, s.v_total
    cols, rows, k = ip[I_CONG_COLS], ip[I_CONG_ROWS], ip[I_SMOOTH]
    h_cap = fp[P_CONG_H] * fp[P_H_ROUTES]
    v_cap = fp[P_CONG_W] * fp[P_V_ROUTES]
    h_out[:] = 0.0
    v_out[:] = 0.0
    v_column = np.zeros(cols)
    for r in range(rows):
        h_row = 0.0
        for c in range(cols):
            h_row += h_diff[r * (cols + 1) + c]
            v_column[c] += v_diff[r * cols + c]
            lo, hi = max(c - k, 0), min(c + k, cols - 1)
            share = v_column[c] / v_cap / (hi - lo + 1)
            for cc in range(lo, hi + 1):
                v_out[r * cols + cc] += share
            lo, hi = max(r - k, 0), min(r + k, rows - 1)
            share = h_row / h_cap / (hi - lo + 1)
            for rr in range(lo, hi + 1):
                h_out[rr * cols + c] += share
    for i in range(rows * cols):
        h_out[i] += hm_raw[i] / h_cap
        v_out[i] += vm_raw[i] / v_cap


@njit(cache=True, nogil=True)
def top_mean(values, fraction, hint, scratch):
    """Mean of the ``floor(fraction * n)`` largest values (the largest value when that is 0).

    ``hint[0]`` is a value believed to lie below the ``k``-th largest; only the values at or
    above it are selected among (``scratch`` holds them), which on a slowly changing map is
    a small fraction of all. When too few values pass, every value is used. The hint is then
    reset to the ``1.25 k``-th largest value, leaving room for the map to change before the
    next call. The result does not depend on the hint beyond rounding of the sum.
    """
    n = values.size
    k = int(np.floor(fraction * n))
    if k == 0:
        return values.max()
    wide = min(n, k + k // 4 + 1)
    threshold = hint[0]
    m = 0
    for i in range(n):
        if values[i] >= threshold:
            scratch[m] = values[i]
            m += 1
    if m < wide:  # the hint was too high: all the wide top might not have passed
        scratch[:n] = values
        m = n
    top_wide = np.partition(scratch[:m], m - wide)[m - wide :]
    hint[0] = top_wide.min()
    return np.partition(top_wide, wide - k)[wide - k :].sum() / k


@njit(cache=True, nogil=True)
def density_cost(grid, state):
    """Circuit Training's density cost: half the mean of the top 10 % cell densities.

    With fewer than 10 cells the mean is over the occupied cells instead (density above
    ``EMPTY_DENSITY``, so that rounding left by incremental updates reads as empty).
    """
    grid, s = Grid(*grid), State(*state)
    density = s.occupancy / grid.cell_area
    if density.size >= 10:
        return 0.5 * top_mean(density, 0.1, s.top_hints[0:1], s.top_scratch)
    occupied = density[density > EMPTY_DENSITY]
    return 0.5 * occupied.mean() if occupied.size else 0.0


@njit(cache=True, nogil=True)
def congestion_cost(grid, state):
    """Mean of the top 5 % of the concatenated V and H congestion maps."""
    congestion_totals(grid, state)
    s = State(*state)
    n = s.v_total.size
    s.both[:n] = s.v_total
    s.both[n:] = s.h_total
    return top_mean(s.both, 0.05, s.top_hints[1:2], s.top_scratch)


@njit(cache=True, nogil=True)
def hard_macro_overlap(nodes, graph, grid, state):
    """Area shared by pairs of placed nodes, and their area outside the canvas."""
    g, grid, s = Graph(*graph), Grid(*grid), State(*state)
    node_x, node_y, node_w, node_h = s.x, s.y, g.node_w, g.node_h
    width, height = grid.fp[P_WIDTH], grid.fp[P_HEIGHT]
    placed = nodes[~(np.isnan(node_x[nodes]) | np.isnan(node_y[nodes]))]
    x0 = node_x[placed] - node_w[placed] / 2
    x1 = node_x[placed] + node_w[placed] / 2
    y0 = node_y[placed] - node_h[placed] / 2
    y1 = node_y[placed] + node_h[placed] / 2
    outside = 0.0
    for i in range(placed.size):
        inside_w = max(min(x1[i], width) - max(x0[i], 0.0), 0.0)
        inside_h = max(min(y1[i], height) - max(y0[i], 0.0), 0.0)
        outside += (x1[i] - x0[i]) * (y1[i] - y0[i]) - inside_w * inside_h
    order = np.argsort(x0)  # sweep over boxes sorted by left edge
    total = 0.0
    for a in range(order.size):
        i = order[a]
        for b in range(a + 1, order.size):
            j = order[b]
            if x0[j] >= x1[i]:
                break
            ox = min(x1[i], x1[j]) - x0[j]
            oy = min(y1[i], y1[j]) - max(y0[i], y0[j])
            if ox > 0.0 and oy > 0.0:
                total += ox * oy
    return total, outside


@njit(cache=True, nogil=True)
def move_nodes(nodes, new_x, new_y, new_orient, graph, grid, state):
    """Move nodes one after another, updating every map; returns the wirelength change.

    For each node: take out its nets' routing and its footprint, move it, recompute its
    pins and its nets' bounding boxes, put the routing and the footprint back.
    """
    g, s = Graph(*graph), State(*state)  # the calls below get the plain tuples: one compiled version each
    delta = 0.0
    for i in range(nodes.size):
        node = nodes[i]
        nets = g.node_nets[g.node_net_start[node] : g.node_net_start[node + 1]]
        one = nodes[i : i + 1]
        update_nets(nets, -1.0, False, graph, grid, state)
        if g.is_area[node]:
            add_density(one, -1.0, graph, grid, state)
        if g.is_hard[node]:
            add_macro_blockage(one, -1.0, graph, grid, state)
        s.x[node], s.y[node], s.orientation[node] = new_x[i], new_y[i], new_orient[i]
        update_pins(g.node_pins[g.node_pin_start[node] : g.node_pin_start[node + 1]], graph, grid, state)
        delta += update_nets(nets, 1.0, True, graph, grid, state)
        if g.is_area[node]:
            add_density(one, 1.0, graph, grid, state)
        if g.is_hard[node]:
            add_macro_blockage(one, 1.0, graph, grid, state)
    return delta


@njit(cache=True, nogil=True)
def wirelength_increments(node, orient, xs, ys, graph, state, out_x, out_y):
    """Weighted wirelength change when ``node`` goes to ``(xs[i], ys[j])``: ``out_x[i] + out_y[j]``.

    Every other pin stays where it is; the node's own pins move with it (orientation
    ``orient``). A net's half-perimeter is ``span_x + span_y`` and each span depends on one
    coordinate only, so the whole grid of changes is two vectors.
    """
    g, s = Graph(*graph), State(*state)
    net_start, net_pins, pin_node, pin_dx, pin_dy = g.net_start, g.net_pins, g.pin_node, g.pin_dx, g.pin_dy
    pin_x, pin_y, pin_cell = s.pin_x, s.pin_y, s.pin_cell
    out_x[:] = 0.0
    out_y[:] = 0.0
    matrices = g.matrices
    a, b, c, d = matrices[orient, 0], matrices[orient, 1], matrices[orient, 2], matrices[orient, 3]
    current = 0.0
    for k in range(g.node_net_start[node], g.node_net_start[node + 1]):
        net = g.node_nets[k]
        x_lo = y_lo = ox_lo = oy_lo = np.inf
        x_hi = y_hi = ox_hi = oy_hi = -np.inf
        others = own = 0
        for j in range(net_start[net], net_start[net + 1]):
            pin = net_pins[j]
            if pin_node[pin] == node:
                dx, dy = pin_dx[pin], pin_dy[pin]
                ox, oy = a * dx + b * dy, c * dx + d * dy
                ox_lo, ox_hi = min(ox_lo, ox), max(ox_hi, ox)
                oy_lo, oy_hi = min(oy_lo, oy), max(oy_hi, oy)
                own += 1
            elif pin_cell[pin] != UNPLACED:
                x, y = pin_x[pin], pin_y[pin]
                x_lo, x_hi = min(x_lo, x), max(x_hi, x)
                y_lo, y_hi = min(y_lo, y), max(y_hi, y)
                others += 1
        w = g.net_weight[net]
        current += w * s.net_hpwl[net]
        if others == 0:  # only the node's own pins: their spread, wherever the node goes
            if own > 1:
                out_x += w * ((ox_hi - ox_lo) + (oy_hi - oy_lo))
            continue
        for i in range(xs.size):
            out_x[i] += w * (max(x_hi, xs[i] + ox_hi) - min(x_lo, xs[i] + ox_lo))
        for i in range(ys.size):
            out_y[i] += w * (max(y_hi, ys[i] + oy_hi) - min(y_lo, ys[i] + oy_lo))
    out_x -= current


@njit(cache=True, nogil=True)
def move_nodes_scored(nodes, new_x, new_y, new_orient, graph, grid, state):
    """:func:`move_nodes`, then the density and congestion costs: one call per change.

    Returns ``(wirelength change, density cost, congestion cost)``.
    """
    delta = move_nodes(nodes, new_x, new_y, new_orient, graph, grid, state)
    return delta, density_cost(grid, state), congestion_cost(grid, state)
