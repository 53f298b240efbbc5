"""Zero-shot placement with the policy's network on torch, on ONNX Runtime and quantized to int8, one thread each.

    python benchmarks/bench_runtime.py [--designs ariane133,large] [--runtimes torch,onnx,int8] [--repeats 3]
        [--out benchmarks/results/runtime]

For each design (``large`` is the generated 400 macros and 1,000 clusters on a 128 x 128 grid
of ``bench_designs_in.py``, ``synthetic:N`` a generated design) and each runtime, runs the
bundled policy's zero-shot placement (8 episodes, ranked after FD, no soft-macro stage) in a
fresh process on one thread: torch with the bundled ``pretrained.zip``, ONNX Runtime with its
export ``pretrained.onnx``, and ``int8`` with its quantized copy ``pretrained.int8.onnx``.
Prints, and writes to ``OUT/results.md``, the median over ``--repeats`` runs (the runtimes in
turn) of the placement's own time and of the whole process (Python, imports, the design
loaded), and each runtime's proxy cost (torch and onnx are expected to give the same
placement: the greedy episode picks the same cells, the sampled ones share their noise; int8
may not). With int8 and onnx both run, it ends with int8 against onnx over the designs: mean
cost difference, on how many designs int8 is better, and the ratio of the placement times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNTIMES = ("torch", "onnx", "int8")


def one(design_name: str, runtime: str) -> dict:
    """One zero-shot placement in this process, on one thread."""
    import torch

    import netlists
    from netlists import synthetic
    from placer.agent.placing import bundled_checkpoint, bundled_network, policy_place

    torch.set_num_threads(1)
    if design_name == "large":
        from bench_designs_in import large

        design = large()
    else:
        design = synthetic.by_name(design_name) if synthetic.is_name(design_name) else netlists.load(design_name)
    checkpoint = bundled_checkpoint() if runtime == "torch" else bundled_network(int8=runtime == "int8")
    result = policy_place(design, checkpoint)
    return {"placement_s": result.runtime_s, "proxy_cost": result.report.proxy_cost}


def run_once(design: str, runtime: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--one", design, runtime], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return {**json.loads(done.stdout.splitlines()[-1]), "process_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", default="ariane133,large", help="large: 400 macros, 1,000 clusters, 128 x 128")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/runtime")
    parser.add_argument("--one", nargs=2, metavar=("DESIGN", "RUNTIME"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    designs, runtimes = args.designs.split(","), args.runtimes.split(",")
    header = "| design | runtime | placement s | process s | proxy cost |"
    lines = [f"Zero-shot placement (bundled policy, 8 episodes), one thread, median of {args.repeats} fresh processes.",
             "", header, "|---|---|---:|---:|---:|"]  # fmt: skip
    print(header)
    medians = {}
    for design in designs:
        done = {runtime: [] for runtime in runtimes}
        for _ in range(args.repeats):  # the runtimes in turn, so that a drifting machine load hits both alike
            for runtime in runtimes:
                done[runtime].append(run_once(design, runtime))
        for runtime, runs in done.items():
            placing = statistics.median(r["placement_s"] for r in runs)
            process = statistics.median(r["process_s"] for r in runs)
            cost = statistics.median(r["proxy_cost"] for r in runs)
            medians[design, runtime] = placing, cost
            costs = sorted({round(r["proxy_cost"], 12) for r in runs})
            name = "400 macros, 1,000 clusters, 128 x 128" if design == "large" else design
            line = f"| {name} | {runtime} | {placing:.2f} | {process:.2f} | {', '.join(f'{c:.6f}' for c in costs)} |"
            lines.append(line)
            print(line, flush=True)
    if {"onnx", "int8"} <= set(runtimes):
        difference = [medians[d, "int8"][1] - medians[d, "onnx"][1] for d in designs]
        speed = sum(medians[d, "onnx"][0] for d in designs) / sum(medians[d, "int8"][0] for d in designs)
        better = sum(delta < 0 for delta in difference)
        summary = (f"int8 against onnx over {len(designs)} designs: mean proxy cost difference "
                   f"{statistics.fmean(difference):+.4f}, better on {better}, worse on "
                   f"{sum(delta > 0 for delta in difference)}; placement {speed:.2f} x as fast")  # fmt: skip
        lines += ["", summary]
        print(summary)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'results.md'}")


if __name__ == "__main__":
    main()
