"""Flat-netlist placement benchmark: every std cell placed analytically around the fixed macros.

    python benchmarks/bench_flat.py [--netlist ../shared/data/flat/ariane133_ng45/ariane.pb.txt.gz]

Hard macros and ports stay where the synthesis tool put them; all std cells start at the die
centre and are placed by ``placer.analytic.place_analytic`` (global placement, stopped at 10 %
density overflow, not legalised). Prints the time on one core (target < 60 s) and the HPWL of
every net beside the HPWL of the synthesis tool's own (legal, timing-driven) cell positions.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import netlists
from netlists import NodeKind
from placer.analytic import hpwl, place_analytic

TARGET_SECONDS = 60.0
DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "flat" / "ariane133_ng45" / "ariane.pb.txt.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--netlist", default=str(DEFAULT))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    design = netlists.load(args.netlist)
    nl = design.netlist
    cells = nl.nodes_of(NodeKind.STD_CELL)
    start = time.perf_counter()
    result = place_analytic(
        nl, design.placement, design.floorplan, cells,
        progress=lambda step, overflow, wl: print(f"  step {step}: overflow {overflow:.3f}, HPWL {wl:,.0f} um",
                                                  flush=True),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    synthesis = hpwl(nl, design.placement)
    print(f"\nDesign {nl.name}: {cells.size:,} std cells, {nl.count(NodeKind.HARD_MACRO)} macros fixed, "
          f"{nl.n_nets:,} nets, die {design.floorplan.width:g} x {design.floorplan.height:g} um\n")  # fmt: skip
    print("| cell positions | HPWL (um) | density overflow |")
    print("|---|---:|---:|")
    print(f"| synthesis tool (in the file) | {synthesis:,.0f} | - |")
    print(f"| analytic placement, {result.iterations} steps | {result.hpwl:,.0f} | {result.overflow:.3f} |")
    print(f"\nHPWL ratio analytic / synthesis: {result.hpwl / synthesis:.3f}")
    verdict = "yes" if seconds < TARGET_SECONDS else "NO"
    print(f"Time on one core: {seconds:.1f} s (target < {TARGET_SECONDS:.0f} s: {verdict}); "
          "a first run in a fresh install also compiles the kernels")  # fmt: skip


if __name__ == "__main__":
    main()
