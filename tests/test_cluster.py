"""Clustering of flat netlists: areas, connections, file round trip, determinism."""

from __future__ import annotations

import numpy as np
import pytest

import netlists
from netlists import NodeKind
from placer.cluster import BLOAT_KEY, ClusterSettings, cluster_netlist, default_cluster_count
from tests.random_designs import flat_design


@pytest.fixture(scope="module")
def flat():
    return flat_design(np.random.default_rng(7), n_cells=600, n_nets=900)


def endpoint_connections(netlist, endpoint_of_pin):
    """Set of (driver endpoint, frozenset of sink endpoints) over nets joining two or more endpoints."""
    out = {}
    for net in range(netlist.n_nets):
        pins = netlist.net_pins[netlist.net_start[net] : netlist.net_start[net + 1]]
        driver = endpoint_of_pin(int(pins[0]))
        sinks = frozenset(endpoint_of_pin(int(p)) for p in pins[1:]) - {driver}
        if sinks:
            out[(driver, sinks)] = out.get((driver, sinks), 0.0) + float(netlist.net_weight[net])
    return out


@pytest.mark.parametrize("use_coordinates", [True, False])
def test_clustering_keeps_area_and_every_connection(flat, use_coordinates):
    nl, pl, _ = flat
    settings = ClusterSettings(target_clusters=40, bloat=1.5, use_coordinates=use_coordinates)
    result = cluster_netlist(nl, pl, settings)
    cl = result.netlist
    soft = cl.nodes_of(NodeKind.SOFT_MACRO)
    assert 40 <= soft.size <= 60
    assert cl.count(NodeKind.STD_CELL) == 0
    assert cl.count(NodeKind.HARD_MACRO) == nl.count(NodeKind.HARD_MACRO)
    assert cl.count(NodeKind.PORT) == nl.count(NodeKind.PORT)
    assert cl.metadata[BLOAT_KEY] == 1.5
    cells = nl.nodes_of(NodeKind.STD_CELL)
    assert cl.node_area[soft].sum() == pytest.approx(1.5 * nl.node_area[cells].sum(), rel=1e-12)
    # each cluster's area is 1.5 x its own cells' area
    per_cluster = np.bincount(result.cell_cluster[cells], nl.node_area[cells], soft.size)
    np.testing.assert_allclose(cl.node_area[soft], 1.5 * per_cluster, rtol=1e-12)
    assert set(np.unique(result.cell_cluster[cells])) == set(range(soft.size))

    # Flat connections mapped through the clustering equal the clustered netlist's nets.
    def flat_endpoint(pin):
        node = int(nl.pin_node[pin])
        if result.cell_cluster[node] >= 0:
            return f"Grp_{result.cell_cluster[node]}"
        return nl.pin_names[pin]

    def clustered_endpoint(pin):
        node = int(cl.pin_node[pin])
        return cl.node_names[node] if cl.node_kind[node] == NodeKind.SOFT_MACRO else cl.pin_names[pin]

    assert endpoint_connections(nl, flat_endpoint) == endpoint_connections(cl, clustered_endpoint)
    assert cl.n_nets == len(endpoint_connections(cl, clustered_endpoint))  # merged nets are not repeated


def test_clustered_netlist_round_trips_through_a_file(flat, tmp_path):
    nl, pl, _ = flat
    result = cluster_netlist(nl, pl, ClusterSettings(target_clusters=30))
    path = tmp_path / "clustered.pb.txt.gz"
    netlists.write_pb(result.netlist, result.placement, path)
    back = netlists.load(path)
    assert netlists.netlist_differences(result.netlist, back.netlist) == []
    for field in ("x", "y", "orientation"):  # a .pb.txt does not record the fixed flag
        np.testing.assert_array_equal(getattr(back.placement, field), getattr(result.placement, field))


def test_cluster_locations_and_kept_nodes(flat):
    nl, pl, _ = flat
    result = cluster_netlist(nl, pl, ClusterSettings(target_clusters=30))
    kept = np.flatnonzero(result.node_map >= 0)
    np.testing.assert_array_equal(result.placement.x[result.node_map[kept]], pl.x[kept])
    cells = nl.nodes_of(NodeKind.STD_CELL)
    first = result.cell_cluster[cells] == 0
    weights = nl.node_area[cells][first]
    expected_x = (weights * pl.x[cells][first]).sum() / weights.sum()
    grp0 = result.netlist.node_id("Grp_0")
    assert result.placement.x[grp0] == pytest.approx(expected_x)
    unplaced = cluster_netlist(nl, None, ClusterSettings(target_clusters=30))
    assert np.isnan(unplaced.placement.x[unplaced.netlist.nodes_of(NodeKind.SOFT_MACRO)]).all()


def test_balance_limits_cluster_area(flat):
    nl, pl, _ = flat
    settings = ClusterSettings(target_clusters=20, balance=1.5, use_coordinates=False)
    result = cluster_netlist(nl, pl, settings)
    soft = result.netlist.nodes_of(NodeKind.SOFT_MACRO)
    cells = nl.nodes_of(NodeKind.STD_CELL)
    limit = 1.5 * nl.node_area[cells].sum() / 20 * settings.bloat
    assert result.netlist.node_area[soft].max() <= limit * (1 + 1e-9)


def test_clustering_is_deterministic_for_a_seed(flat):
    nl, pl, _ = flat
    a = cluster_netlist(nl, pl, ClusterSettings(target_clusters=30, seed=3)).cell_cluster
    b = cluster_netlist(nl, pl, ClusterSettings(target_clusters=30, seed=3)).cell_cluster
    c = cluster_netlist(nl, pl, ClusterSettings(target_clusters=30, seed=4)).cell_cluster
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_default_cluster_count():
    assert default_cluster_count(88_411) == 804
    assert default_cluster_count(1_000_000) == 1000
    assert default_cluster_count(5_000) == 200
    assert default_cluster_count(50) == 50


def test_settings_are_checked():
    with pytest.raises(ValueError):
        ClusterSettings(balance=0.5)
