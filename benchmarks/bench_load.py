"""Load-time benchmark: prints a Markdown table of median load times against the targets.

    python benchmarks/bench_load.py [--repeat 5] [--data ../shared/data]

Runs on one core (the process is pinned to CPU 0 where the OS allows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import netlists

CASES = [  # (label, path relative to the data folder, target seconds)
    ("clustered Ariane133 (11 MB text)", "ariane133_ng45_clustered/netlist.pb.txt.gz", 1.0),
    ("flat Ariane133 NG45 (88k std cells)", "flat/ariane133_ng45/ariane.pb.txt.gz", None),
    ("flat mempool_tile NG45 (152k std cells)", "flat/mempool_tile_ng45/mempool_tile_wrap.pb.txt.gz", 8.0),
    ("Bookshelf ibm01 (12.7k nodes)", "bookshelf/ibm01/ibm01.aux", None),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    print("| design | nodes | nets | median load (s) | min (s) | target (s) | meets target |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, relative, target in CASES:
        path = args.data / relative
        if not path.exists():
            print(f"| {label} | - | - | missing {path} | | | |")
            continue
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            design = netlists.load(path)
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        verdict = "-" if target is None else ("yes" if median < target else "NO")
        target_text = "-" if target is None else f"{target:.1f}"
        nl = design.netlist
        cells = [label, f"{nl.n_nodes:,}", f"{nl.n_nets:,}", f"{median:.3f}", f"{min(times):.3f}", target_text, verdict]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
