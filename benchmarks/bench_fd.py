"""Force-directed placement benchmark: quality and time of FD on the clustered Ariane133.

    python benchmarks/bench_fd.py [--repeat 5] [--design ariane133]

Hard macros and ports stay where the design's .plc puts them; the std-cell clusters are
placed by ``placer.fd.place_soft_macros`` with Circuit Training's schedule. Prints the proxy
cost (1.0 / 0.5 / 0.5) with the clusters where the .plc has them and after FD, and the FD
time on one core (the process is pinned to one CPU where the OS allows) against the
0.74 s that Circuit Training's closed binary takes per FD call on this design. For comparison
it also prints the clusters placed by the analytic engine (``placer.analytic``), which is not
Circuit Training's FD and is slower.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import netlists
from placer.analytic import place_analytic
from placer.cost import CostModel
from placer.fd import place_soft_macros

CT_FD_SECONDS = 0.74
TARGET_RATIO = 1.10
TARGET_SECONDS = 0.2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="ariane133")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    design = netlists.load(args.design)
    nl, fp = design.netlist, design.floorplan
    model = CostModel(nl, fp)
    place_soft_macros(nl, design.placement, fp)  # compiles the kernels
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        placed = place_soft_macros(nl, design.placement, fp)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    soft = nl.nodes_of(netlists.NodeKind.SOFT_MACRO)
    analytic = place_analytic(nl, design.placement, fp, soft).placement
    analytic_seconds = time.perf_counter() - start
    before, after = model.evaluate(design.placement), model.evaluate(placed)
    ratio = after.proxy_cost / before.proxy_cost
    median = statistics.median(times)
    print(f"Design {nl.name}: {nl.count(netlists.NodeKind.SOFT_MACRO)} clusters placed by FD, hard macros fixed.\n")
    print("| placement of the clusters | proxy | wirelength | density | congestion |")
    print("|---|---:|---:|---:|---:|")
    rows = (("as in the .plc", before), ("after FD", after), ("analytic engine (not FD)", model.evaluate(analytic)))
    for label, r in rows:
        terms = (r.proxy_cost, r.wirelength_cost, r.density_cost, r.congestion_cost)
        print(f"| {label} | " + " | ".join(f"{t:.4f}" for t in terms) + " |")
    print(f"\nProxy after FD / proxy of the .plc: {ratio:.3f} (target <= {TARGET_RATIO:.2f}: "
          f"{'yes' if ratio <= TARGET_RATIO else 'NO'})")  # fmt: skip
    print(f"FD time, median of {args.repeat}: {median:.3f} s (target < {TARGET_SECONDS} s: "
          f"{'yes' if median < TARGET_SECONDS else 'NO'}); {CT_FD_SECONDS / median:.1f}x faster than the "
          f"{CT_FD_SECONDS} s of Circuit Training's binary")  # fmt: skip
    print(f"Analytic engine: proxy ratio {rows[2][1].proxy_cost / before.proxy_cost:.3f}, {analytic_seconds:.2f} s")


if __name__ == "__main__":
    main()
