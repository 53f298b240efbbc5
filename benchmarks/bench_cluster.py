"""Clustering benchmark: every flat netlist clustered, then its clusters placed around the synthesis macros.

    python benchmarks/bench_cluster.py [--data ../shared/data]

For each flat netlist in ``DATA/flat/``: the clustering time on one core (target < 60 s), the
counts, a write / read-back check, and the proxy cost (1.0 / 0.5 / 0.5) with the hard macros
where the synthesis tool put them and the clusters (a) at their cells' centre, (b) after
force-directed placement with Circuit Training's schedule, (c) after force-directed placement
with the electrostatic schedule, (d) after analytic placement. The
floorplan is the die from the file's ``FP bbox`` with the routing model of Circuit Training's
Ariane133 flow (57.031 / 56.818 routes per µm, macro allocation 39.583 / 30.303, smoothing 0)
and grid cells of the same size as that flow's (59.7 x 68.3 µm). The first row is the clustered
Ariane133 of Circuit Training's own grouping on its own floorplan, for comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time
from pathlib import Path

import netlists
from netlists import NodeKind
from placer.analytic import place_analytic
from placer.cluster import cluster_netlist
from placer.cost import CostModel
from placer.fd import FDSchedule, place_soft_macros

TARGET_SECONDS = 60.0


def proxies(netlist, placement, floorplan) -> list[float]:
    model = CostModel(netlist, floorplan)
    soft = netlist.nodes_of(NodeKind.SOFT_MACRO)
    fd = place_soft_macros(netlist, placement, floorplan)
    electrostatic = place_soft_macros(netlist, placement, floorplan, FDSchedule.electrostatic())
    analytic = place_analytic(netlist, placement, floorplan, soft).placement
    return [model.evaluate(p).proxy_cost for p in (placement, fd, electrostatic, analytic)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reference = netlists.load("ariane133")
    print("| design | std cells | clusters | nets (weighted) | cluster time | read back | proxy: clusters "
          "as given | after FD | after FD, electrostatic | after analytic |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    nl = reference.netlist
    p = proxies(nl, reference.placement, reference.floorplan)
    print(f"| ariane133, Circuit Training's grouping | 88,411 (source) | {nl.count(NodeKind.SOFT_MACRO)} | "
          f"{nl.n_nets:,} ({nl.weighted_net_count:,.0f}) | - | - | {p[0]:.4f} (legalized.plc) | {p[1]:.4f} | "
          f"{p[2]:.4f} | {p[3]:.4f} |")  # fmt: skip
    cell_w, cell_h = reference.floorplan.cell_width, reference.floorplan.cell_height
    slow = []
    for path in sorted((Path(args.data) / "flat").glob("*/*.pb.txt*")):
        flat = netlists.load(path)
        start = time.perf_counter()
        clustering = cluster_netlist(flat.netlist, flat.placement)
        seconds = time.perf_counter() - start
        cl = clustering.netlist
        with tempfile.TemporaryDirectory() as folder:
            out = Path(folder) / "clustered.pb.txt.gz"
            netlists.write_pb(cl, clustering.placement, out)
            same = not netlists.netlist_differences(cl, netlists.load(out).netlist)
        fp = dataclasses.replace(
            reference.floorplan,
            width=flat.floorplan.width,
            height=flat.floorplan.height,
            cols=max(1, round(flat.floorplan.width / cell_w)),
            rows=max(1, round(flat.floorplan.height / cell_h)),
        )
        p = proxies(cl, clustering.placement, fp)
        if seconds >= TARGET_SECONDS:
            slow.append(path.parent.name)
        counts = f"{flat.netlist.count(NodeKind.STD_CELL):,} | {cl.count(NodeKind.SOFT_MACRO)}"
        nets = f"{cl.n_nets:,} ({cl.weighted_net_count:,.0f})"
        check = "identical" if same else "DIFFERS"
        print(f"| {path.parent.name} | {counts} | {nets} | {seconds:.1f} s | {check} | {p[0]:.4f} (cell centres) | "
              f"{p[1]:.4f} | {p[2]:.4f} | {p[3]:.4f} |")  # fmt: skip
    verdict = "NO: " + ", ".join(slow) if slow else "yes"
    print(f"\nClustering under {TARGET_SECONDS:.0f} s on one core for every design: {verdict}")


if __name__ == "__main__":
    main()
