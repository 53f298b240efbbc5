"""Zero-shot placement with the policy's network on torch and on ONNX Runtime, one thread each.

    python benchmarks/bench_runtime.py [--repeats 3] [--large] [--out benchmarks/results/runtime]

For each design (the clustered Ariane133; with ``--large`` also the generated 400 macros and
1,000 clusters on a 128 x 128 grid of ``bench_designs_in.py``) and each runtime, runs the
bundled policy's zero-shot placement (8 episodes) in a fresh process on one thread: torch
with the bundled ``pretrained.zip``, ONNX Runtime with its export ``pretrained.onnx``. Prints,
and writes to ``OUT/results.md``, the median over ``--repeats`` runs (the two runtimes in turn) of the placement's own
time and of the whole process (Python, imports, the design loaded), and each runtime's proxy
cost (the same placement is expected: the greedy episode picks the same cells, the sampled
ones share their noise).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNTIMES = ("torch", "onnx")


def one(design_name: str, runtime: str) -> dict:
    """One zero-shot placement in this process, on one thread."""
    import torch

    import netlists
    from placer.agent.placing import bundled_checkpoint, bundled_network, policy_place

    torch.set_num_threads(1)
    if design_name == "large":
        from bench_designs_in import large

        design = large()
    else:
        design = netlists.load(design_name)
    checkpoint = bundled_network() if runtime == "onnx" else bundled_checkpoint()
    result = policy_place(design, checkpoint)
    return {"placement_s": result.runtime_s, "proxy_cost": result.report.proxy_cost}


def run_once(design: str, runtime: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--one", design, runtime], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return {**json.loads(done.stdout.splitlines()[-1]), "process_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--large", action="store_true", help="also 400 macros, 1,000 clusters, 128 x 128")
    parser.add_argument("--out", default="benchmarks/results/runtime")
    parser.add_argument("--one", nargs=2, metavar=("DESIGN", "RUNTIME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    designs = ["ariane133", *(["large"] if args.large else [])]
    header = "| design | runtime | placement s | process s | proxy cost |"
    lines = [f"Zero-shot placement (bundled policy, 8 episodes), one thread, median of {args.repeats} fresh processes.",
             "", header, "|---|---|---:|---:|---:|"]  # fmt: skip
    print(header)
    for design in designs:
        done = {runtime: [] for runtime in RUNTIMES}
        for _ in range(args.repeats):  # the runtimes in turn, so that a drifting machine load hits both alike
            for runtime in RUNTIMES:
                done[runtime].append(run_once(design, runtime))
        for runtime, runs in done.items():
            placing = statistics.median(r["placement_s"] for r in runs)
            process = statistics.median(r["process_s"] for r in runs)
            costs = sorted({round(r["proxy_cost"], 12) for r in runs})
            name = "400 macros, 1,000 clusters, 128 x 128" if design == "large" else design
            line = f"| {name} | {runtime} | {placing:.2f} | {process:.2f} | {', '.join(f'{c:.6f}' for c in costs)} |"
            lines.append(line)
            print(line, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'results.md'}")


if __name__ == "__main__":
    main()
