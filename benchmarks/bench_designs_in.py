"""Designs with no floorplan in: the grid chosen for each, every method legal, zero-shot and budget times.

    python benchmarks/bench_designs_in.py [--counts 50,100,200,400] [--fills 0.4,0.5,0.6] [--flat] [--large]
        [--data ../shared/data] [--budget 60] [--out benchmarks/results/designs_in]

Designs: the crowded family ``netlists.synthetic.equal_macros`` (COUNT equal hard macros covering
FILL of the canvas, no grid stated) and, with ``--flat``, the flat designs of ``DATA/flat``
clustered as ``placer cluster`` does (canvas from the file's die, grid chosen), and with ``--large``
a generated design of 400 hard macros and 1,000 clusters on a 128 x 128 grid. For each it prints
the grid ``placer.gridding`` chose, its waste (across, up) and free cells, the time to choose it;
whether random, greedy and annealing (2,000 moves) place every macro legally (overlap 0, no
back-off to packing), and so do the policy's placements; the zero-shot policy's wall time with 1
episode and with 8 (on the runtime and threads ``placer place`` chooses); and, with
``--budget S``, the wall time of ``--method rl --budget S`` (policy, then learned annealing) run
in this process (target: within 10 % of S). Writes ``OUT/results.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch as th

import netlists
from netlists import Design, NodeKind, synthetic
from netlists.synthetic import SyntheticSpec
from placer.agent.placing import learned_place, policy_place, policy_threads
from placer.baselines import METHODS, place
from placer.cluster import cluster_netlist
from placer.gridding import gridded

FLAT = {"ariane133_ng45": "ariane.pb.txt.gz", "ariane136_ng45": "ariane.pb.txt.gz",
        "mempool_tile_ng45": "mempool_tile_wrap.pb.txt.gz"}  # fmt: skip
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def clustered_flat(name: str, data: Path) -> Design:
    """A flat design clustered with the grid chosen for it, as ``placer cluster`` writes it."""
    flat, _ = gridded(netlists.load(data / "flat" / name / FLAT[name]))
    clustering = cluster_netlist(flat.netlist, flat.placement)
    return Design(clustering.netlist, flat.floorplan, clustering.placement, {}, flat.source, grid_stated=False)


def measure(name: str, design: Design, budget: float) -> dict[str, str]:
    design, choice = gridded(design)
    fp, nl = design.floorplan, design.netlist
    row = {"design": name, "macros": str(nl.count(NodeKind.HARD_MACRO)), "clusters": str(nl.count(NodeKind.SOFT_MACRO)),
           "grid": f"{fp.cols} x {fp.rows}", "waste": "given", "free cells": "-", "choose s": "-"}  # fmt: skip
    if choice is not None:
        row.update({"waste": f"{100 * choice.waste_x:.1f} / {100 * choice.waste_y:.1f} %",
                    "free cells": f"{100 * choice.empty:.0f} %", "choose s": f"{choice.seconds:.2f}"})  # fmt: skip
    legal = []
    for method in METHODS:
        result = place(design, method, moves=2000, seed=0)
        ok = result.report.overlap_area == 0.0 and not result.backed_off
        legal.append(f"{method} {'yes' if ok else 'NO'}")
    th.set_num_threads(policy_threads(design))  # as placer place chooses them
    for samples in (1, 8):
        started = time.perf_counter()
        result = policy_place(design, samples=samples)
        row[f"zero-shot x{samples} s"] = f"{time.perf_counter() - started:.1f}"
        legal.append(f"rl x{samples} {'yes' if result.report.overlap_area == 0.0 and not result.backed_off else 'NO'}")
    if budget:
        started = time.perf_counter()
        result = learned_place(design, seconds=budget)
        row[f"rl --budget {budget:g} s"] = f"{time.perf_counter() - started:.1f}"
        legal.append(f"rl --budget {'yes' if result.report.overlap_area == 0.0 else 'NO'}")
    row["legal"] = ", ".join(legal)
    return row


def large() -> Design:
    """The size the zero-shot target names: 400 hard macros, 1,000 clusters, a 128 x 128 grid."""
    design = synthetic.generate(SyntheticSpec(hard_macros=400, macro_types=3, soft_macros=1000, ports=400, seed=7))
    return dataclasses.replace(design, floorplan=dataclasses.replace(design.floorplan, cols=128, rows=128))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="50,100,200,400")
    parser.add_argument("--fills", default="0.4,0.5,0.6")
    parser.add_argument("--flat", action="store_true", help="also the clustered flat designs of DATA/flat")
    parser.add_argument("--large", action="store_true", help="also 400 macros and 1,000 clusters on a 128 x 128 grid")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--budget", type=float, default=0.0, help="also time --method rl --budget S (0: skip)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/designs_in"))
    args = parser.parse_args()
    designs = [(f"equal {count} @ {fill}", lambda c=int(count), f=float(fill): synthetic.equal_macros(c, f, seed=c))
               for count in args.counts.split(",") for fill in args.fills.split(",")]  # fmt: skip
    if args.flat:
        designs += [(name, lambda n=name: clustered_flat(n, args.data)) for name in FLAT]
    if args.large:
        designs.append(("400 macros, 1,000 clusters, 128 x 128", large))
    rows = []
    for name, make in designs:
        rows.append(measure(name, make(), args.budget))
        print(" | ".join(f"{k} {v}" for k, v in rows[-1].items()), flush=True)
    header = list(rows[0])
    table = "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
                      + ["| " + " | ".join(row[k] for k in header) + " |" for row in rows])  # fmt: skip
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
