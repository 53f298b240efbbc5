"""Force-directed placement benchmark: quality and time of FD on the clustered Ariane133.

    python benchmarks/bench_fd.py [--repeat 5] [--design ariane133]

Hard macros and ports stay where the design's .plc puts them; the std-cell clusters are
placed by ``placer.fd.place_soft_macros`` from the canvas centre, with Circuit Training's
schedule (attraction, then pairwise repulsion) and with the electrostatic schedule
(Circuit Training's attraction stage, then spreading by the ePlace density field). Prints
the proxy cost (1.0 / 0.5 / 0.5) with the clusters where the .plc has them and after each
schedule, and each one's time on one core (the process is pinned to one CPU where the OS
allows) against the 0.74 s that Circuit Training's closed binary takes per FD call on this
design. For comparison it also prints the analytic engine (``placer.analytic``), which is
slower.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import netlists
from placer.analytic import place_analytic
from placer.cost import CostModel, CostWeights
from placer.fd import FDSchedule, place_soft_macros

CT_FD_SECONDS = 0.74
TARGET_RATIO = 1.10
TARGET_SECONDS = 0.2
WEIGHTS = CostWeights(1.0, 0.5, 0.5)


def timed(run, repeat: int):
    """The result of ``run()`` and the median time of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="ariane133")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    design = netlists.load(args.design)
    nl, fp, start = design.netlist, design.floorplan, design.placement
    model = CostModel(nl, fp)
    soft = nl.nodes_of(netlists.NodeKind.SOFT_MACRO)
    schedules = {
        "Circuit Training's schedule": FDSchedule.circuit_training(),
        "electrostatic schedule": FDSchedule.electrostatic(),
    }
    for schedule in schedules.values():
        place_soft_macros(nl, start, fp, schedule)  # compiles the kernels
    reference = model.evaluate(start, WEIGHTS)
    rows = [("as in the .plc", reference, None)]
    for name, schedule in schedules.items():
        placed, seconds = timed(lambda s=schedule: place_soft_macros(nl, start, fp, s), args.repeat)
        rows.append((f"FD, {name}", model.evaluate(placed, WEIGHTS), seconds))
    analytic, seconds = timed(lambda: place_analytic(nl, start, fp, soft).placement, 1)
    rows.append(("analytic engine (not FD)", model.evaluate(analytic, WEIGHTS), seconds))

    print(f"Design {nl.name}: {soft.size} clusters placed from the canvas centre, hard macros fixed, one core.\n")
    print("| placement of the clusters | proxy | wirelength | density | congestion | ratio to .plc | time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r, seconds in rows:
        ratio = r.proxy_cost / reference.proxy_cost
        terms = (r.proxy_cost, r.wirelength_cost, r.density_cost, r.congestion_cost, ratio)
        when = "-" if seconds is None else f"{seconds:.3f}"
        print(f"| {label} | " + " | ".join(f"{t:.4f}" for t in terms) + f" | {when} |")
    print(f"\nTimes are medians of {args.repeat} runs (analytic: one run). Targets: ratio <= {TARGET_RATIO:.2f}, "
          f"time < {TARGET_SECONDS} s; Circuit Training's binary takes {CT_FD_SECONDS} s per FD call.")  # fmt: skip
    for label, r, seconds in rows[1:3]:
        ratio = r.proxy_cost / reference.proxy_cost
        print(f"{label}: ratio {ratio:.3f} ({'meets' if ratio <= TARGET_RATIO else 'MISSES'} the ratio), "
              f"{seconds:.3f} s ({'meets' if seconds < TARGET_SECONDS else 'MISSES'} the time), "
              f"{CT_FD_SECONDS / seconds:.1f}x faster than Circuit Training's binary")  # fmt: skip


if __name__ == "__main__":
    main()
