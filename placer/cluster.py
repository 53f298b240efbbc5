"""Clustering of flat netlists: std cells grouped into soft macros, in Circuit Training's form.

Std cells are merged bottom-up by first-choice coarsening (the multilevel scheme of hMETIS
and of analytic placers' clustering): in each pass every cluster, in random order, joins the
neighbour it shares the most connection with per unit of merged area, as long as the merged
area stays under a balance limit. Each net of ``k`` clusters adds ``weight / (k - 1)`` to the
connection of each pair it joins. Passes repeat until the target cluster count is reached.
No coordinates are needed; when the cells have them, the score is also divided by
``1 + distance / pitch`` so that clusters stay compact on the die.

The clustered netlist keeps hard macros (with their pins) and ports, turns each cluster into
a soft macro ``Grp_k`` whose area is the cells' area times ``bloat`` (recorded in the metadata
as ``soft_macro_area_bloating_ratio``, as Circuit Training does), with an input pin
``Grp_k/Pinput`` and one output pin ``Grp_k/Poutput_j`` per net it drives. Nets inside one
cluster are dropped; nets with the same driver and the same sinks after clustering merge into
one net whose weight is their total.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from netlists import Netlist, NodeKind, Orientation, Placement
from netlists.protobuf import file_order, in_file_order

BLOAT_KEY = "soft_macro_area_bloating_ratio"


@dataclass(frozen=True)
class ClusterSettings:
    """Knobs of clustering.

    Attributes:
        target_clusters: Clusters to make; 0 means ``n_cells / 110`` within [200, 1000]
            (Circuit Training's grouping made 782 of Ariane133's 88k cells).
        balance: A cluster's area may not exceed ``balance`` times the mean cluster area.
        bloat: Soft macro area over the area of its cells.
        max_net_degree: Nets with more pins do not drive the merging (clock, reset); they
            are still kept in the clustered netlist.
        use_coordinates: Use the cells' locations, when they all have one.
        seed: Seeds the visiting order.
    """

    target_clusters: int = 0
    balance: float = 3.0
    bloat: float = 2.0
    max_net_degree: int = 100
    use_coordinates: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.target_clusters < 0 or self.balance < 1.0 or self.bloat <= 0.0 or self.max_net_degree < 2:
            raise ValueError("need target_clusters >= 0, balance >= 1, bloat > 0 and max_net_degree >= 2")


@dataclass(frozen=True)
class Clustering:
    """A clustered netlist and how it came from the flat one.

    Attributes:
        netlist: The clustered netlist.
        placement: Hard macros and ports where they were; each cluster at the area-weighted
            centre of its cells when they all had a location, else unplaced.
        cell_cluster: For every node of the flat netlist, the index of its cluster
            (0 for ``Grp_0``), ``-1`` for nodes that are not std cells.
        node_map: For every node of the flat netlist that is kept (hard macro or port),
            its id in the clustered netlist, else ``-1``.
    """

    netlist: Netlist
    placement: Placement
    cell_cluster: np.ndarray
    node_map: np.ndarray


def default_cluster_count(n_cells: int) -> int:
    """About 110 cells per cluster, at least 200 and at most 1000 clusters (or one per cell)."""
    return int(min(n_cells, min(1000, max(200, round(n_cells / 110)))))


@njit(cache=True, nogil=True)
def _first_choice_pass(cl_start, cl_nets, net_start, net_members, net_share, area, xs, ys, pitch, max_area, order,
                       merges_wanted):  # fmt: skip
    """One coarsening pass; returns the new group of every cluster and the number of groups."""
    n = area.size
    group = np.full(n, -1, dtype=np.int64)
    group_area = np.zeros(n)
    score = np.zeros(n)
    touched = np.empty(n, dtype=np.int64)
    n_groups = 0
    merges = 0
    for c in order:
        if group[c] >= 0:
            continue
        n_touched = 0
        if merges < merges_wanted:
            for e in range(cl_start[c], cl_start[c + 1]):
                net = cl_nets[e]
                for m in range(net_start[net], net_start[net + 1]):
                    d = net_members[m]
                    if d != c:
                        if score[d] == 0.0:
                            touched[n_touched] = d
                            n_touched += 1
                        score[d] += net_share[net]
        best, best_score = -1, 0.0
        for t in range(n_touched):
            d = touched[t]
            merged = area[c] + (group_area[group[d]] if group[d] >= 0 else area[d])
            if merged <= max_area:
                s = score[d] / max(merged, 1e-12)
                if pitch > 0.0:
                    s /= 1.0 + math.sqrt((xs[c] - xs[d]) ** 2 + (ys[c] - ys[d]) ** 2) / pitch
                if s > best_score:
                    best, best_score = d, s
            score[d] = 0.0
        if best < 0:
            group[c] = n_groups
            group_area[n_groups] = area[c]
            n_groups += 1
            continue
        merges += 1
        if group[best] < 0:
            group[best] = n_groups
            group_area[n_groups] = area[best]
            n_groups += 1
        group[c] = group[best]
        group_area[group[c]] += area[c]
    return group, n_groups


def _hypergraph(netlist: Netlist, node_cluster: np.ndarray, n_clusters: int, max_degree: int):
    """Nets over current clusters (deduplicated, at least two clusters) and each cluster's nets."""
    entry_cluster = node_cluster[netlist.pin_node[netlist.net_pins]]
    entry_net = netlist.pin_net.astype(np.int64)
    keep = (entry_cluster >= 0) & (netlist.net_degree[entry_net] <= max_degree)
    keys = np.unique(entry_net[keep] * n_clusters + entry_cluster[keep])
    nets, members = keys // n_clusters, keys % n_clusters
    size = np.bincount(nets, minlength=netlist.n_nets)
    multi = size[nets] >= 2
    nets, members = nets[multi], members[multi]
    _, net_index = np.unique(nets, return_inverse=True)
    counts = np.bincount(net_index)
    net_start = np.concatenate([[0], np.cumsum(counts)])
    net_share = netlist.net_weight[np.unique(nets)] / np.maximum(counts - 1, 1)
    by_cluster = np.argsort(members, kind="stable")
    cl_start = np.concatenate([[0], np.cumsum(np.bincount(members, minlength=n_clusters))])
    return cl_start, net_index[by_cluster], net_start, members, net_share


def coarsen(
    netlist: Netlist, placement: Placement | None = None, settings: ClusterSettings | None = None
) -> np.ndarray:
    """Cluster index of every std cell (``-1`` for other nodes), by first-choice coarsening."""
    settings = settings or ClusterSettings()
    cells = netlist.nodes_of(NodeKind.STD_CELL)
    node_cluster = np.full(netlist.n_nodes, -1, dtype=np.int64)
    if cells.size == 0:
        return node_cluster
    target = settings.target_clusters or default_cluster_count(cells.size)
    node_cluster[cells] = np.arange(cells.size)
    area = netlist.node_area[cells].astype(float)
    max_area = settings.balance * area.sum() / target
    use_xy = settings.use_coordinates and placement is not None and bool(placement.is_placed[cells].all())
    xs = placement.x[cells].astype(float) if use_xy else np.zeros(cells.size)
    ys = placement.y[cells].astype(float) if use_xy else np.zeros(cells.size)
    pitch = 0.0
    if use_xy:
        span = (xs.max() - xs.min() + 1.0) * (ys.max() - ys.min() + 1.0)
        pitch = math.sqrt(span / target)
    rng = np.random.default_rng(settings.seed)
    n = cells.size
    while n > target:
        hypergraph = _hypergraph(netlist, node_cluster, n, settings.max_net_degree)
        group, n_new = _first_choice_pass(*hypergraph, area, xs, ys, pitch, max_area, rng.permutation(n), n - target)
        if n_new > 0.97 * n:  # nothing left to merge under the balance limit
            break
        weights = np.bincount(group, area, minlength=n_new)
        if use_xy:
            safe = np.maximum(weights, 1e-12)
            xs, ys = np.bincount(group, area * xs, n_new) / safe, np.bincount(group, area * ys, n_new) / safe
        area, n = weights, n_new
        node_cluster[cells] = group[node_cluster[cells]]
    return node_cluster


def cluster_netlist(
    netlist: Netlist, placement: Placement | None = None, settings: ClusterSettings | None = None
) -> Clustering:
    """Cluster the std cells of a flat netlist into soft macros (see the module notes)."""
    settings = settings or ClusterSettings()
    placement = placement if placement is not None else Placement.unplaced(netlist.n_nodes)
    cell_cluster = coarsen(netlist, placement, settings)
    return _build(netlist, placement, cell_cluster, settings.bloat)


def _build(netlist: Netlist, placement: Placement, cell_cluster: np.ndarray, bloat: float) -> Clustering:
    """The clustered netlist for a given assignment of std cells to clusters."""
    kept = netlist.nodes_of(NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO, NodeKind.PORT)
    n_kept = kept.size
    n_clusters = int(cell_cluster.max()) + 1 if (cell_cluster >= 0).any() else 0
    node_map = np.full(netlist.n_nodes, -1, dtype=np.int64)
    node_map[kept] = np.arange(n_kept)

    # Endpoints after clustering: a kept pin stays itself; a std cell's pin becomes its cluster.
    is_cell_pin = cell_cluster[netlist.pin_node] >= 0
    endpoint = np.where(is_cell_pin, -1 - cell_cluster[netlist.pin_node], np.arange(netlist.n_pins))
    merged: dict[tuple[int, tuple[int, ...]], float] = {}
    for net in range(netlist.n_nets):
        pins = netlist.net_pins[netlist.net_start[net] : netlist.net_start[net + 1]]
        driver = int(endpoint[pins[0]])
        sinks = tuple(sorted({int(e) for e in endpoint[pins[1:]]} - {driver}))
        if sinks:
            key = (driver, sinks)
            merged[key] = merged.get(key, 0.0) + float(netlist.net_weight[net])

    # Nodes: kept ones first (their pins follow), then Grp_0 .. Grp_{k-1}.
    cell_area = np.bincount(cell_cluster[cell_cluster >= 0], netlist.node_area[cell_cluster >= 0], n_clusters)
    side = np.sqrt(cell_area * bloat)
    node_names = [netlist.node_names[n] for n in kept] + [f"Grp_{k}" for k in range(n_clusters)]
    node_kind = np.concatenate([netlist.node_kind[kept], np.full(n_clusters, NodeKind.SOFT_MACRO)])
    node_width = np.concatenate([netlist.node_width[kept], side])
    node_height = np.concatenate([netlist.node_height[kept], side])
    node_ref = [netlist.node_ref[n] for n in kept] + [""] * n_clusters
    node_side = [netlist.node_side[n] for n in kept] + [""] * n_clusters

    kept_pins = np.flatnonzero(node_map[netlist.pin_node] >= 0)
    pin_map = np.full(netlist.n_pins, -1, dtype=np.int64)
    pin_map[kept_pins] = np.arange(kept_pins.size)
    pin_names = [netlist.pin_names[p] for p in kept_pins]
    pin_node = list(node_map[netlist.pin_node[kept_pins]])
    pin_dx, pin_dy = list(netlist.pin_dx[kept_pins]), list(netlist.pin_dy[kept_pins])
    is_macro_pin = list(netlist.pin_file_index[kept_pins] >= 0)
    input_pin = np.full(n_clusters, -1, dtype=np.int64)
    outputs = np.zeros(n_clusters, dtype=np.int64)

    def new_pin(cluster: int, name: str) -> int:
        pin_names.append(f"Grp_{cluster}/{name}")
        pin_node.append(n_kept + cluster)
        pin_dx.append(0.0)
        pin_dy.append(0.0)
        is_macro_pin.append(True)
        return len(pin_names) - 1

    def sink_pin(e: int) -> int:
        if e >= 0:
            return int(pin_map[e])
        cluster = -1 - e
        if input_pin[cluster] < 0:
            input_pin[cluster] = new_pin(cluster, "Pinput")
        return int(input_pin[cluster])

    net_pins: list[int] = []
    net_start = [0]
    net_weight = []
    for (driver, sinks), weight in merged.items():
        if driver >= 0:
            net_pins.append(int(pin_map[driver]))
        else:
            cluster = -1 - driver
            net_pins.append(new_pin(cluster, f"Poutput_{outputs[cluster]}"))
            outputs[cluster] += 1
        net_pins.extend(sink_pin(e) for e in sinks)
        net_start.append(len(net_pins))
        net_weight.append(weight)

    pin_node_arr = np.array(pin_node, dtype=np.int64)
    node_file_index, pin_file_index = file_order(len(node_names), pin_node_arr, np.array(is_macro_pin))
    pins, (net_start_arr, net_pins_arr, net_weight_arr) = in_file_order(
        node_file_index, pin_file_index, pin_node_arr, np.array(net_start), np.array(net_pins), net_weight
    )
    metadata = {**dict(netlist.metadata), BLOAT_KEY: float(bloat)}
    clustered = Netlist(
        name=netlist.name,
        node_names=node_names,
        node_kind=node_kind,
        node_width=node_width,
        node_height=node_height,
        node_ref=node_ref,
        node_side=node_side,
        node_file_index=node_file_index,
        pin_names=[pin_names[p] for p in pins],
        pin_node=pin_node_arr[pins],
        pin_dx=np.array(pin_dx)[pins],
        pin_dy=np.array(pin_dy)[pins],
        pin_file_index=pin_file_index[pins],
        net_start=net_start_arr,
        net_pins=net_pins_arr,
        net_weight=net_weight_arr,
        metadata=metadata,
    )
    return Clustering(clustered, _placement(netlist, placement, kept, cell_cluster, n_clusters), cell_cluster,
                      node_map)  # fmt: skip


def _placement(
    netlist: Netlist, placement: Placement, kept: np.ndarray, cell_cluster: np.ndarray, n_clusters: int
) -> Placement:
    """Kept nodes where they were; clusters at their cells' area-weighted centre (if all are placed)."""
    out = Placement.unplaced(kept.size + n_clusters)
    out.x[: kept.size], out.y[: kept.size] = placement.x[kept], placement.y[kept]
    out.orientation[: kept.size] = placement.orientation[kept]
    out.fixed[: kept.size] = placement.fixed[kept]
    out.orientation[kept.size :] = Orientation.N
    cells = np.flatnonzero(cell_cluster >= 0)
    if cells.size and placement.is_placed[cells].all():
        weight = np.maximum(netlist.node_area[cells], 1e-9)
        total = np.bincount(cell_cluster[cells], weight, n_clusters)
        out.x[kept.size :] = np.bincount(cell_cluster[cells], weight * placement.x[cells], n_clusters) / total
        out.y[kept.size :] = np.bincount(cell_cluster[cells], weight * placement.y[cells], n_clusters) / total
    return out
