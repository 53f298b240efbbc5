"""Zero-shot placement against greedy over many designs the policy never saw.

    python benchmarks/bench_zero_shot.py [--checkpoint CKPT]
        [--designs synthetic:1000-1019,ariane133,ariane133_ng45,ariane136_ng45,mempool_tile_ng45]
        [--samples 8] [--max-grid 32] [--soft-moves 10000] [--soft-start fd] [--data ../shared/data]
        [--out benchmarks/results/zero_shot]

Each design is placed greedily and by the policy (``--samples`` episodes, the first most
likely, the rest sampled; the best after FD kept), weights 1 / 0.5 / 0.5. Both start the soft
macros the same way (``--soft-start fd``, the default: placed by FD alone, nothing of a file's
soft-macro positions read) and finish them by the same soft-macro stage (electrostatic FD, then
``--soft-moves`` nudges on the exact cost, :func:`placer.baselines.soft_stage.finish_soft_macros`).
``synthetic:N`` is the generated design of seed ``N`` with its grid at most ``--max-grid``
cells a side, as in training (the shipped policy learnt from seeds 0-479); the flat designs of
``DATA/flat`` are clustered as ``bench_baselines.py`` states. Prints each design, then the mean
gain over greedy and on how many designs the policy wins; writes ``OUT/results.csv`` and
``OUT/results.md``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch
from bench_baselines import load_design

from placer.agent.cli import expand
from placer.agent.placing import bundled_network, policy_place
from placer.baselines import PackingError, SoftStage, place
from placer.baselines.soft_stage import SOFT_MOVES
from placer.sequential import SOFT_STARTS

FIELDS = ("design", "greedy", "zero_shot", "gain", "greedy_s", "zero_shot_s", "fell_back")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: the bundled pretrained policy")
    parser.add_argument("--designs", default="synthetic:1000-1019,ariane133,ariane133_ng45,ariane136_ng45,"
                        "mempool_tile_ng45")  # fmt: skip
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-grid", type=int, default=32, help="grid cap of the generated designs")
    parser.add_argument("--soft-moves", type=int, default=SOFT_MOVES, help="the soft-macro stage's nudges (both)")
    parser.add_argument("--soft-start", choices=SOFT_STARTS, default="fd", help="where soft macros start (both)")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--out", default="benchmarks/results/zero_shot")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one core, as the timings say
    checkpoint = Path(args.checkpoint) if args.checkpoint else bundled_network()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    soft = {"soft_start": args.soft_start}
    for name in expand(args.designs.split(","), args.max_grid):
        design = load_design(name, Path(args.data))
        try:
            greedy = place(design, "greedy", soft_stage=SoftStage(args.soft_moves), **soft)
        except PackingError as error:
            print(f"{name}: skipped ({error})", flush=True)
            continue
        policy = policy_place(design, checkpoint, samples=args.samples, soft_moves=args.soft_moves, **soft)
        gain = greedy.report.proxy_cost - policy.report.proxy_cost
        rows.append({"design": name, "greedy": greedy.report.proxy_cost, "zero_shot": policy.report.proxy_cost,
                     "gain": gain, "greedy_s": greedy.runtime_s, "zero_shot_s": policy.runtime_s,
                     "fell_back": policy.backed_off})  # fmt: skip
        print(f"{name}: greedy {greedy.report.proxy_cost:.4f}, zero-shot {policy.report.proxy_cost:.4f} "
              f"({gain:+.4f}, {policy.runtime_s:.1f} s)", flush=True)  # fmt: skip
    gains = np.array([row["gain"] for row in rows])
    summary = (f"zero-shot vs greedy on {len(rows)} designs (soft macros: start {args.soft_start}, "
               f"FD then {args.soft_moves:,} nudges): mean gain {gains.mean():+.4f} (proxy cost), "
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
