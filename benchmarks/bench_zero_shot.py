"""Zero-shot placement against greedy over many designs the policy never saw.

    python benchmarks/bench_zero_shot.py [--checkpoint CKPT] [--designs synthetic:1000-1019,ariane133]
        [--samples 8] [--max-grid 32] [--out benchmarks/results/zero_shot]

Each design is placed greedily and by the policy (``--samples`` episodes, the first most
likely, the rest sampled; the best kept), soft macros by the same electrostatic FD, weights
1 / 0.5 / 0.5. ``synthetic:N`` is the generated design of seed ``N`` with its grid at most
``--max-grid`` cells a side, as in training (the shipped policy learnt from seeds 0-479). Prints each
design, then the mean gain over greedy and on how many designs the policy wins; writes
``OUT/results.csv`` and ``OUT/results.md``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

import netlists
from netlists import synthetic
from placer.agent.cli import expand
from placer.agent.placing import bundled_checkpoint, policy_place
from placer.baselines import PackingError, place

FIELDS = ("design", "greedy", "zero_shot", "gain", "greedy_s", "zero_shot_s", "fell_back")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: the bundled pretrained policy")
    parser.add_argument("--designs", default="synthetic:1000-1019,ariane133")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-grid", type=int, default=32, help="grid cap of the generated designs")
    parser.add_argument("--out", default="benchmarks/results/zero_shot")
    args = parser.parse_args()
    checkpoint = Path(args.checkpoint) if args.checkpoint else bundled_checkpoint()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in expand(args.designs.split(","), args.max_grid):
        design = synthetic.by_name(name) if synthetic.is_name(name) else netlists.load(name)
        try:
            greedy = place(design, "greedy")
        except PackingError as error:
            print(f"{name}: skipped ({error})", flush=True)
            continue
        policy = policy_place(design, checkpoint, samples=args.samples)
        gain = greedy.report.proxy_cost - policy.report.proxy_cost
        rows.append({"design": name, "greedy": greedy.report.proxy_cost, "zero_shot": policy.report.proxy_cost,
                     "gain": gain, "greedy_s": greedy.runtime_s, "zero_shot_s": policy.runtime_s,
                     "fell_back": policy.backed_off})  # fmt: skip
        print(f"{name}: greedy {greedy.report.proxy_cost:.4f}, zero-shot {policy.report.proxy_cost:.4f} "
              f"({gain:+.4f}, {policy.runtime_s:.1f} s)", flush=True)  # fmt: skip
    gains = np.array([row["gain"] for row in rows])
    summary = (f"zero-shot vs greedy on {len(rows)} designs: mean gain {gains.mean():+.4f} (proxy cost), "
               f"wins {(gains > 0).sum()}, ties {(gains == 0).sum()}, losses {(gains < 0).sum()}")  # fmt: skip
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| design | greedy | zero-shot | gain | zero-shot time (s) |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['design']} | {r['greedy']:.4f} | {r['zero_shot']:.4f} | {r['gain']:+.4f} | "
              f"{r['zero_shot_s']:.1f} |" for r in rows]  # fmt: skip
    (out / "results.md").write_text("\n".join(lines) + f"\n\n{summary}\n")
    print(summary)


if __name__ == "__main__":
    main()
