"""Plotting speed: the layout of the largest flat netlist (every std cell) and of Ariane133.

    python benchmarks/bench_plot.py [--data ../shared/data]

Std cells and soft macros are drawn as one area-density image, not as patches, so a
152k-cell netlist draws in about the time of a small one (target < 10 s, load excluded).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import netlists
from netlists import NodeKind
from placer import plot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    flat = Path(args.data) / "flat" / "mempool_tile_ng45"
    designs = [("ariane133 (clustered)", lambda: netlists.load("ariane133")),
               ("mempool_tile (flat)", lambda: netlists.load(flat))]  # fmt: skip
    print("| design | nodes | std cells | layout + PNG (s) | target |")
    print("|---|---:|---:|---:|---:|")
    for label, load in designs:
        design = load()
        nl = design.netlist
        start = time.perf_counter()
        figure = plot.layout(nl, design.floorplan, design.placement, title=label)
        with tempfile.TemporaryDirectory() as folder:
            plot.save_figure(figure, Path(folder) / "layout.png")
        seconds = time.perf_counter() - start
        print(f"| {label} | {nl.n_nodes:,} | {nl.count(NodeKind.STD_CELL):,} | {seconds:.2f} | < 10 |")


if __name__ == "__main__":
    main()
