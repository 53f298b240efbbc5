"""networkx views of a netlist, for analysis (built from the arrays; never used in hot paths)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from netlists.model import Floorplan, Netlist, NodeKind, Placement

if TYPE_CHECKING:  # pragma: no cover
    import networkx as nx


def bipartite_graph(netlist: Netlist) -> nx.Graph:
    """The netlist hypergraph as a bipartite node-net graph.

    Graph nodes ``0 .. n_nodes-1`` are the netlist's nodes (attributes ``name``, ``kind``
    (a :class:`NodeKind` name), ``width``, ``height``, ``bipartite=0``); graph nodes
    ``n_nodes + k`` are its nets (``name`` = driver pin name, ``weight``, ``bipartite=1``).
    An edge joins a node to every net it has a pin on; ``pins`` counts those pins.
    """
    import networkx as nx

    graph = nx.Graph(name=netlist.name)
    kinds = [NodeKind(k).name for k in netlist.node_kind]
    graph.add_nodes_from(
        (i, {"name": name, "kind": kinds[i], "width": w, "height": h, "bipartite": 0})
        for i, (name, w, h) in enumerate(
            zip(netlist.node_names, netlist.node_width.tolist(), netlist.node_height.tolist(), strict=True)
        )
    )
    drivers = netlist.net_pins[netlist.net_start[:-1]]
    graph.add_nodes_from(
        (netlist.n_nodes + k, {"name": netlist.pin_names[d], "weight": w, "bipartite": 1})
        for k, (d, w) in enumerate(zip(drivers.tolist(), netlist.net_weight.tolist(), strict=True))
    )
    pairs = np.stack([netlist.pin_node[netlist.net_pins], netlist.n_nodes + netlist.pin_net], axis=1)
    unique, counts = np.unique(pairs, axis=0, return_counts=True)
    graph.add_edges_from((int(a), int(b), {"pins": int(c)}) for (a, b), c in zip(unique, counts, strict=True))
    return graph


def macro_adjacency_graph(
    netlist: Netlist,
    placement: Placement | None = None,
    floorplan: Floorplan | None = None,
) -> nx.Graph:
    """Weighted adjacency of macros and port clusters, as Circuit Training's policy sees it.

    Graph nodes are hard and soft macros (keyed by name) and port clusters. Every net adds
    its weight to the edge between its driver's group and each sink's group (self-loops
    and std cells are skipped), so an edge weight counts weighted connections. With a
    placement and floorplan, ports in the same grid cell form one cluster
    ``ports@<row>,<col>``; without them each port is its own cluster.
    """
    import networkx as nx

    group = np.full(netlist.n_nodes, -1, dtype=np.int64)
    macros = netlist.nodes_of(NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO)
    group[macros] = np.arange(len(macros))
    labels = [netlist.node_names[i] for i in macros]
    kinds = [NodeKind(netlist.node_kind[i]).name for i in macros]
    ports = netlist.nodes_of(NodeKind.PORT)
    if placement is not None and floorplan is not None and len(ports):
        col = np.clip((placement.x[ports] // floorplan.cell_width), 0, floorplan.cols - 1).astype(np.int64)
        row = np.clip((placement.y[ports] // floorplan.cell_height), 0, floorplan.rows - 1).astype(np.int64)
        cells, cluster = np.unique(row * floorplan.cols + col, return_inverse=True)
        labels += [f"ports@{c // floorplan.cols},{c % floorplan.cols}" for c in cells.tolist()]
    else:
        cells, cluster = ports, np.arange(len(ports))
        labels += [netlist.node_names[i] for i in ports]
    group[ports] = len(macros) + cluster
    kinds += ["PORT_CLUSTER"] * len(cells)

    pin_group = group[netlist.pin_node[netlist.net_pins]]
    driver_group = pin_group[netlist.net_start[:-1]][netlist.pin_net]
    weight = netlist.net_weight[netlist.pin_net]
    keep = (pin_group >= 0) & (driver_group >= 0) & (pin_group != driver_group)
    a = np.minimum(pin_group[keep], driver_group[keep])
    b = np.maximum(pin_group[keep], driver_group[keep])
    pairs, inverse = np.unique(np.stack([a, b], axis=1), axis=0, return_inverse=True)
    totals = np.bincount(inverse.ravel(), weights=weight[keep], minlength=len(pairs))

    graph = nx.Graph(name=netlist.name)
    graph.add_nodes_from((label, {"kind": kind}) for label, kind in zip(labels, kinds, strict=True))
    graph.add_weighted_edges_from(
        (labels[i], labels[j], float(w)) for (i, j), w in zip(pairs.tolist(), totals.tolist(), strict=True)
    )
    return graph
