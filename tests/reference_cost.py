"""A plain, slow reference implementation of Circuit Training's proxy cost.

Written straight from the definitions (``docs/proxy_cost.md`` section 1) with Python loops,
sets and lists, no numpy tricks, so that it is easy to check by eye. The fast engine in
``placer.cost`` is compared against it on random netlists and placements.

Conventions shared with the fast engine (they only matter for unusual placements):
pins of unplaced nodes (NaN centre) are left out of every net, and the first placed pin
of a net stands in for its driver; a pin on the canvas edge counts in the edge cell; a
net with a pin outside the canvas adds no routing demand (it still counts in the
wirelength); a macro footprint is its width x height whatever its orientation (orientation
moves pins only, as in Circuit Training).
"""

from __future__ import annotations

import math

from netlists import Floorplan, Netlist, NodeKind, Placement

# (a, b, c, d): (dx', dy') = (a*dx + b*dy, c*dx + d*dy) for N, FN, S, FS, E, FE, W, FW.
_TRANSFORMS = [
    (1, 0, 0, 1),
    (-1, 0, 0, 1),
    (-1, 0, 0, -1),
    (1, 0, 0, -1),
    (0, 1, -1, 0),
    (0, -1, -1, 0),
    (0, -1, 1, 0),
    (0, 1, 1, 0),
]


def pin_location(netlist: Netlist, placement: Placement, pin: int) -> tuple[float, float] | None:
    node = int(netlist.pin_node[pin])
    x, y = float(placement.x[node]), float(placement.y[node])
    if math.isnan(x) or math.isnan(y):
        return None
    a, b, c, d = _TRANSFORMS[int(placement.orientation[node])]
    dx, dy = float(netlist.pin_dx[pin]), float(netlist.pin_dy[pin])
    return x + a * dx + b * dy, y + c * dx + d * dy


def net_points(netlist: Netlist, placement: Placement, net: int) -> list[tuple[float, float]]:
    """Locations of the placed pins of a net, driver first."""
    start, end = int(netlist.net_start[net]), int(netlist.net_start[net + 1])
    points = [pin_location(netlist, placement, int(p)) for p in netlist.net_pins[start:end]]
    return [p for p in points if p is not None]


def wirelength(netlist: Netlist, placement: Placement) -> float:
    total = 0.0
    for net in range(netlist.n_nets):
        points = net_points(netlist, placement, net)
        if len(points) < 2:
            continue
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        total += float(netlist.net_weight[net]) * ((max(xs) - min(xs)) + (max(ys) - min(ys)))
    return total


def wirelength_cost(netlist: Netlist, placement: Placement, floorplan: Floorplan) -> float:
    weighted_nets = sum(float(w) for w in netlist.net_weight)
    return wirelength(netlist, placement) / ((floorplan.width + floorplan.height) * weighted_nets)


def _placed(placement: Placement, node: int) -> bool:
    return not (math.isnan(placement.x[node]) or math.isnan(placement.y[node]))


def _box(netlist: Netlist, placement: Placement, node: int) -> tuple[float, float, float, float]:
    x, y = float(placement.x[node]), float(placement.y[node])
    w, h = float(netlist.node_width[node]), float(netlist.node_height[node])
    return x - w / 2, y - h / 2, x + w / 2, y + h / 2


def density_map(netlist: Netlist, placement: Placement, floorplan: Floorplan) -> list[list[float]]:
    """Macro area over each grid cell divided by the cell area, as rows of columns."""
    cols, rows = floorplan.cols, floorplan.rows
    gw, gh = floorplan.width / cols, floorplan.height / rows
    grid = [[0.0] * cols for _ in range(rows)]
    for node in range(netlist.n_nodes):
        if netlist.node_kind[node] == NodeKind.PORT or not _placed(placement, node):
            continue
        x0, y0, x1, y1 = _box(netlist, placement, node)
        for r in range(rows):
            for c in range(cols):
                ox = min(x1, (c + 1) * gw) - max(x0, c * gw)
                oy = min(y1, (r + 1) * gh) - max(y0, r * gh)
                if ox >= 0 and oy >= 0:
                    grid[r][c] += ox * oy
    return [[value / (gw * gh) for value in row] for row in grid]


def density_cost(netlist: Netlist, placement: Placement, floorplan: Floorplan) -> float:
    values = sorted((v for row in density_map(netlist, placement, floorplan) for v in row), reverse=True)
    k = math.floor(0.1 * len(values))
    if k == 0:  # fewer than 10 cells: the mean over the occupied cells (density above 1e-12)
        occupied = [v for v in values if v > 1e-12]
        return 0.5 * sum(occupied) / len(occupied) if occupied else 0.0
    return 0.5 * sum(values[:k]) / k


def _cell(x: float, y: float, gw: float, gh: float, cols: int, rows: int) -> tuple[int, int]:
    """(row, col) of a point, clamped to the grid."""
    row = min(max(math.floor(y / gh), 0), rows - 1)
    col = min(max(math.floor(x / gw), 0), cols - 1)
    return row, col


def congestion_grid(floorplan: Floorplan) -> tuple[int, int]:
    if floorplan.congestion_cols is None:
        return floorplan.cols, floorplan.rows
    return floorplan.congestion_cols, floorplan.congestion_rows


def _add_h(h: list[list[float]], row: int, col_a: int, col_b: int, weight: float) -> None:
    """Horizontal wire in ``row`` crossing the right edges of columns min..max-1."""
    for col in range(min(col_a, col_b), max(col_a, col_b)):
        h[row][col] += weight


def _add_v(v: list[list[float]], col: int, row_a: int, row_b: int, weight: float) -> None:
    """Vertical wire in ``col`` crossing the top edges of rows min..max-1."""
    for row in range(min(row_a, row_b), max(row_a, row_b)):
        v[row][col] += weight


def _route_two(h, v, source: tuple[int, int], sink: tuple[int, int], weight: float) -> None:
    (r1, c1), (r2, c2) = source, sink
    _add_h(h, r1, c1, c2, weight)  # in the source row
    _add_v(v, c2, r1, r2, weight)  # in the sink column


def _route_three(h, v, cells: list[tuple[int, int]], weight: float) -> None:
    (r1, c1), (r2, c2), (r3, c3) = sorted(cells, key=lambda rc: (rc[1], rc[0]))
    if c1 < c2 < c3 and min(r1, r3) < r2 < max(r1, r3):
        _add_h(h, r1, c1, c2, weight)
        _add_h(h, r2, c2, c3, weight)
        _add_v(v, c2, r1, r2, weight)
        _add_v(v, c3, r2, r3, weight)
    elif c2 == c3 and c1 < c2 and r1 < min(r2, r3):
        _add_h(h, r1, c1, c2, weight)
        _add_v(v, c2, r1, max(r2, r3), weight)
    elif r2 == r3:
        _add_h(h, r1, c1, c2, weight)
        _add_h(h, r2, c2, c3, weight)
        _add_v(v, c2, r1, r2, weight)
    else:
        (r1, c1), (r2, c2), (r3, c3) = sorted(cells)
        _add_h(h, r2, min(c1, c2, c3), max(c1, c2, c3), weight)
        _add_v(v, c1, r1, r2, weight)
        _add_v(v, c3, r2, r3, weight)


def routing_weight(netlist: Netlist, net: int) -> float:
    """Port-driven nets count once; other weights below 1 count as 1."""
    driver = int(netlist.net_pins[netlist.net_start[net]])
    if netlist.node_kind[netlist.pin_node[driver]] == NodeKind.PORT:
        return 1.0
    return max(float(netlist.net_weight[net]), 1.0)


def net_demand(netlist: Netlist, placement: Placement, floorplan: Floorplan):
    """Raw (unnormalised, unsmoothed) H and V routing demand of the nets."""
    cols, rows = congestion_grid(floorplan)
    gw, gh = floorplan.width / cols, floorplan.height / rows
    h = [[0.0] * cols for _ in range(rows)]
    v = [[0.0] * cols for _ in range(rows)]
    for net in range(netlist.n_nets):
        points = net_points(netlist, placement, net)
        if any(not (0 <= x <= floorplan.width and 0 <= y <= floorplan.height) for x, y in points):
            continue
        cells: list[tuple[int, int]] = []
        for x, y in points:
            cell = _cell(x, y, gw, gh, cols, rows)
            if cell not in cells:
                cells.append(cell)
        weight = routing_weight(netlist, net)
        if len(cells) == 2:
            _route_two(h, v, cells[0], cells[1], weight)
        elif len(cells) == 3:
            _route_three(h, v, cells, weight)
        elif len(cells) > 3:
            for sink in cells[1:]:
                _route_two(h, v, cells[0], sink, weight)
    return h, v


def smooth(h, v, k: int):
    """V spread along its row, H along its column, over +-k cells clipped to the grid."""
    rows, cols = len(h), len(h[0])
    hs = [[0.0] * cols for _ in range(rows)]
    vs = [[0.0] * cols for _ in range(rows)]
    for r in range(rows):
        for c in range(cols):
            lo, hi = max(c - k, 0), min(c + k, cols - 1)
            for cc in range(lo, hi + 1):
                vs[r][cc] += v[r][c] / (hi - lo + 1)
            lo, hi = max(r - k, 0), min(r + k, rows - 1)
            for rr in range(lo, hi + 1):
                hs[rr][c] += h[r][c] / (hi - lo + 1)
    return hs, vs


def macro_blockage(netlist: Netlist, placement: Placement, floorplan: Floorplan):
    """Raw H and V routing taken by hard macros, with the partial-overlap correction."""
    cols, rows = congestion_grid(floorplan)
    gw, gh = floorplan.width / cols, floorplan.height / rows
    hm = [[0.0] * cols for _ in range(rows)]
    vm = [[0.0] * cols for _ in range(rows)]

    def overlap(box, r, c):
        ox = min(box[2], (c + 1) * gw) - max(box[0], c * gw)
        oy = min(box[3], (r + 1) * gh) - max(box[1], r * gh)
        return (ox, oy) if ox > 0 and oy > 0 else (0.0, 0.0)

    for node in range(netlist.n_nodes):
        if netlist.node_kind[node] != NodeKind.HARD_MACRO or not _placed(placement, node):
            continue
        box = _box(netlist, placement, node)
        bottom, left = math.floor(box[1] / gh), math.floor(box[0] / gw)
        top, right = math.floor(box[3] / gh), math.floor(box[2] / gw)
        if top < 0 or right < 0:
            continue  # entirely left of or below the canvas
        bottom, left = max(bottom, 0), max(left, 0)
        top, right = min(top, rows - 1), min(right, cols - 1)
        partial_rows = partial_cols = False
        for r in range(bottom, top + 1):
            for c in range(left, right + 1):
                ox, oy = overlap(box, r, c)
                if top != bottom and r in (bottom, top) and abs(oy - gh) > 1e-5:
                    partial_rows = True
                if right != left and c in (left, right) and abs(ox - gw) > 1e-5:
                    partial_cols = True
                vm[r][c] += ox * floorplan.vrouting_alloc
                hm[r][c] += oy * floorplan.hrouting_alloc
        if partial_rows:
            for c in range(left, right + 1):
                vm[top][c] -= overlap(box, top, c)[0] * floorplan.vrouting_alloc
        if partial_cols:
            for r in range(bottom, top + 1):
                hm[r][right] -= overlap(box, r, right)[1] * floorplan.hrouting_alloc
    return hm, vm


def congestion_maps(netlist: Netlist, placement: Placement, floorplan: Floorplan):
    """Total (H, V) congestion per cell: smoothed net demand plus macro blockage, normalised."""
    cols, rows = congestion_grid(floorplan)
    h_capacity = floorplan.height / rows * floorplan.hroutes_per_micron
    v_capacity = floorplan.width / cols * floorplan.vroutes_per_micron
    h, v = net_demand(netlist, placement, floorplan)
    h = [[value / h_capacity for value in row] for row in h]
    v = [[value / v_capacity for value in row] for row in v]
    hs, vs = smooth(h, v, math.floor(floorplan.smoothing_range))
    hm, vm = macro_blockage(netlist, placement, floorplan)
    h_total = [[hs[r][c] + hm[r][c] / h_capacity for c in range(cols)] for r in range(rows)]
    v_total = [[vs[r][c] + vm[r][c] / v_capacity for c in range(cols)] for r in range(rows)]
    return h_total, v_total


def congestion_cost(netlist: Netlist, placement: Placement, floorplan: Floorplan) -> float:
    h, v = congestion_maps(netlist, placement, floorplan)
    values = sorted([x for row in v for x in row] + [x for row in h for x in row], reverse=True)
    k = math.floor(0.05 * len(values))
    if k == 0:
        return values[0]
    return sum(values[:k]) / k


def overlap_area(netlist: Netlist, placement: Placement) -> float:
    """Total area shared by pairs of placed hard macros."""
    hard = [n for n in range(netlist.n_nodes) if netlist.node_kind[n] == NodeKind.HARD_MACRO and _placed(placement, n)]
    total = 0.0
    for i, a in enumerate(hard):
        box_a = _box(netlist, placement, a)
        for b in hard[i + 1 :]:
            box_b = _box(netlist, placement, b)
            ox = min(box_a[2], box_b[2]) - max(box_a[0], box_b[0])
            oy = min(box_a[3], box_b[3]) - max(box_a[1], box_b[1])
            if ox > 0 and oy > 0:
                total += ox * oy
    return total


def proxy_cost(netlist, placement, floorplan, weights=(1.0, 0.5, 0.5)) -> dict[str, float]:
    terms = {
        "wirelength": wirelength(netlist, placement),
        "wirelength_cost": wirelength_cost(netlist, placement, floorplan),
        "density_cost": density_cost(netlist, placement, floorplan),
        "congestion_cost": congestion_cost(netlist, placement, floorplan),
    }
    w_wl, w_d, w_c = weights
    terms["proxy_cost"] = w_wl * terms["wirelength_cost"] + w_d * terms["density_cost"] + w_c * terms["congestion_cost"]
    return terms
