"""Proxy-cost benchmark: prints a Markdown table of evaluation times against the targets.

    python benchmarks/bench_cost.py [--repeat 300] [--moves 3000] [--design ariane133]

Times, on one core (the process is pinned to one CPU where the OS allows), on the same
placement: the plain reference implementation in tests/reference_cost.py, the fast full
evaluation (``CostModel.evaluate``: all terms, maps and overlap), and one incremental
hard-macro move with the updated total (``IncrementalCost.move``). Numba compilation
happens before the clock starts. The speed-up is reference / fast, measured in this run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
from pathlib import Path

import numpy as np

import netlists
from netlists import NodeKind
from placer.cost import CostModel, IncrementalCost

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference_cost.py"
TARGET_FULL_S = 2e-3
TARGET_MOVE_S = 100e-6


def load_reference():
    """The reference implementation lives with the tests; load it by path (tests/ is no package)."""
    spec = importlib.util.spec_from_file_location("reference_cost", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def duration(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


def row(label: str, times: list[float], target: float | None) -> None:
    median = statistics.median(times)
    verdict = "-" if target is None else ("yes" if median < target else "NO")
    limit = "-" if target is None else f"< {duration(target)}"
    print(f"| {label} | {duration(median)} | {duration(min(times))} | {limit} | {verdict} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="ariane133", help="design to load (default: bundled ariane133)")
    parser.add_argument("--repeat", type=int, default=300, help="full evaluations to time")
    parser.add_argument("--moves", type=int, default=3000, help="incremental moves to time")
    parser.add_argument("--reference-repeat", type=int, default=3, help="reference evaluations to time")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    reference = load_reference()
    design = netlists.load(args.design)
    nl, placement, floorplan = design.netlist, design.placement, design.floorplan
    model = CostModel(nl, floorplan)
    fast = model.evaluate(placement)  # compiles the kernels
    slow_times = timed(lambda: reference.proxy_cost(nl, placement, floorplan), args.reference_repeat)
    slow = reference.proxy_cost(nl, placement, floorplan)
    full_times = timed(lambda: model.evaluate(placement), args.repeat)

    inc = IncrementalCost(model, placement)
    rng = np.random.default_rng(0)
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    nodes = rng.choice(hard, args.moves)
    xs = rng.uniform(0.0, floorplan.width, args.moves)
    ys = rng.uniform(0.0, floorplan.height, args.moves)
    inc.move(int(nodes[0]), float(xs[0]), float(ys[0]))  # compiles the move kernel
    move_times = []
    for node, x, y in zip(nodes.tolist(), xs.tolist(), ys.tolist(), strict=True):
        start = time.perf_counter()
        inc.move(node, x, y)
        move_times.append(time.perf_counter() - start)
    drift = abs(inc.proxy_cost - model.evaluate(inc.placement()).proxy_cost)

    print(f"Design {nl.name}: {nl.n_nodes:,} nodes, {nl.n_pins:,} pins, {nl.n_nets:,} nets, grid {floorplan.cols}x"
          f"{floorplan.rows}; proxy cost {fast.proxy_cost:.9f} (reference {slow['proxy_cost']:.9f}).\n")  # fmt: skip
    print("| what | median | min | target | meets target |")
    print("|---|---:|---:|---:|---|")
    row("reference implementation, full evaluation", slow_times, None)
    row("fast full evaluation (all terms, maps, overlap)", full_times, TARGET_FULL_S)
    row("incremental hard-macro move with new total", move_times, TARGET_MOVE_S)
    slow_median, full_median = statistics.median(slow_times), statistics.median(full_times)
    print(f"\nSpeed-up of the full evaluation over the reference: {slow_median / full_median:,.0f}x (medians).")
    print(f"Incremental total after {args.moves} moves differs from a full evaluation by {drift:.1e}.")


if __name__ == "__main__":
    main()
