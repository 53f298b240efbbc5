"""networkx views: the bipartite hypergraph and the weighted macro adjacency."""

from __future__ import annotations

import netlists
from netlists import NodeKind
from tests.test_protobuf import SMALL


def test_bipartite_graph_of_small_example(tmp_path):
    (tmp_path / "n.pb.txt").write_text(SMALL)
    nl = netlists.load(tmp_path / "n.pb.txt").netlist
    graph = nl.to_networkx()
    assert graph.number_of_nodes() == nl.n_nodes + nl.n_nets == 6
    nets = [n for n, d in graph.nodes(data=True) if d["bipartite"] == 1]
    assert [graph.nodes[n]["name"] for n in nets] == ["P0", "M0/B", "Grp_0/Poutput_single_0"]
    # Net 2 (Grp_0 -> M0/A, weight 3) touches Grp_0 and M0, one pin each.
    assert graph.nodes[nets[2]]["weight"] == 3
    assert sorted(graph.neighbors(nets[2])) == [1, 2]
    assert graph.edges[1, nets[0]]["pins"] == 1


def test_macro_adjacency_of_small_example(tmp_path):
    (tmp_path / "n.pb.txt").write_text(SMALL)
    design = netlists.load(tmp_path / "n.pb.txt")
    graph = design.netlist.macro_graph()
    # P0 -> M0 (weight 1); M0 -> Grp_0 (1) and Grp_0 -> M0 (3) add up to 4.
    edges = {tuple(sorted(edge)): data["weight"] for edge, data in graph.edges.items()}
    assert edges == {("Grp_0", "M0"): 4.0, ("M0", "P0"): 1.0}
    clustered = design.netlist.macro_graph(design.placement, design.floorplan)
    assert "ports@4,0" in clustered  # P0 at (0, 40) on a 200 x 100 canvas, 10 x 10 grid


def test_macro_adjacency_of_ariane133():
    design = netlists.load("ariane133")
    graph = design.netlist.macro_graph(design.placement, design.floorplan)
    kinds = [d["kind"] for _, d in graph.nodes(data=True)]
    assert kinds.count("HARD_MACRO") == 133 and kinds.count("SOFT_MACRO") == 782
    assert 0 < kinds.count("PORT_CLUSTER") <= 495
    # Every weighted connection between two different groups is counted once per sink.
    total = sum(w for _, _, w in graph.edges(data="weight"))
    nl = design.netlist
    assert total <= float((nl.net_weight * (nl.net_degree - 1)).sum())
    assert nl.count(NodeKind.PORT) == 495
