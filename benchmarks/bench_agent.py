"""The policy against the baselines: zero-shot, fine-tuned, trained from scratch, annealing.

    python benchmarks/bench_agent.py [--checkpoint CKPT] [--designs ariane133,ariane136_ng45,synthetic:1000]
        [--finetune-steps 20000 | --budget SECONDS] [--envs 2] [--out benchmarks/results/agent] [--data ../shared/data]

For each design: random and greedy placement; the pretrained policy zero-shot; the policy
fine-tuned on the design; a policy trained from scratch on it with the same settings and
budget (``--finetune-steps`` steps, or ``--budget`` seconds of wall clock each); and
simulated annealing with that wall clock (the fine-tune's, when the budget is in steps).
Policies play 8 episodes (one most-likely, seven sampled) and keep the best: that is the
"policy" row of a trained policy. Its "best found" row is the better of that and the best
episode its training played, which is what ``placer place --finetune-steps`` returns (it
also counts the zero-shot episodes). Soft macros are placed by the electrostatic FD
schedule everywhere; weights 1 / 0.5 / 0.5. Prints and writes a Markdown table
(``OUT/results.md``) and ``OUT/results.csv``, with the gap of each row to annealing.

The training workers get each design as it was loaded (a clustered flat design needs no
files of its own). Use designs that were not in the pretraining set to measure zero-shot
generalisation (the shipped policy learnt from ``synthetic:0-479`` drawn with grids up to 32;
here ``synthetic:N`` is drawn with grids up to 128, so it is unseen and larger).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import tempfile
import time
from pathlib import Path

from bench_baselines import load_design

from placer.agent.placing import bundled_checkpoint, finetune, map_size, policy_place
from placer.agent.training import FINETUNE_DEFAULTS, TrainSettings
from placer.baselines import place
from placer.cost import CostModel

FIELDS = ("design", "method", "steps", "wall_s", "proxy_cost", "wirelength_cost", "density_cost", "congestion_cost")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="default: the bundled pretrained policy")
    parser.add_argument("--designs", default="ariane133,ariane136_ng45,synthetic:1000")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--finetune-steps", type=int, help="training budget in steps (default 20000)")
    budget.add_argument("--budget", type=float, metavar="SECONDS", help="training budget in wall-clock seconds")
    parser.add_argument("--envs", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/agent")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    if args.budget is None and args.finetune_steps is None:
        args.finetune_steps = 20_000
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(args.checkpoint) if args.checkpoint else bundled_checkpoint()
    rows = []

    def record(design: str, method: str, steps: int, wall: float, report) -> None:
        rows.append({"design": design, "method": method, "steps": steps, "wall_s": wall,
                     "proxy_cost": report.proxy_cost, "wirelength_cost": report.wirelength_cost,
                     "density_cost": report.density_cost, "congestion_cost": report.congestion_cost})  # fmt: skip
        print(f"{design}: {method}: {report.proxy_cost:.4f} ({wall:.1f} s)", flush=True)

    for name in args.designs.split(","):
        design = load_design(name, Path(args.data))
        model = CostModel(design.netlist, design.floorplan)
        for method in ("random", "greedy"):
            result = place(design, method)
            record(name, method, 0, result.runtime_s, result.report)
        result = policy_place(design, checkpoint)
        record(name, "zero-shot" + (" (fell back)" if result.backed_off else ""), 0, result.runtime_s, result.report)
        settings = TrainSettings(
            n_envs=args.envs, max_grid=map_size(checkpoint, design), checkpoint_every=10**9, **FINETUNE_DEFAULTS
        )  # the same for fine-tuning and from scratch
        for label, start in (("fine-tuned", checkpoint), ("from scratch", None)):
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as run:
                tuned = finetune(design, start, run, settings, steps=args.finetune_steps, seconds=args.budget)
                result = policy_place(design, tuned.checkpoint)
            wall = time.perf_counter() - started
            record(name, f"{label} policy", tuned.steps, wall, result.report)
            if tuned.placement is not None and tuned.proxy_cost < result.report.proxy_cost:
                result = dataclasses.replace(result, report=model.evaluate(tuned.placement))
            record(name, f"{label}, best found", tuned.steps, wall, result.report)
            if label == "fine-tuned":
                budget = args.budget or wall
        result = place(design, "sa", seconds=budget)
        record(name, f"annealing ({budget:.0f} s)", result.moves, result.runtime_s, result.report)
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| design | method | steps | wall (s) | proxy cost | wirelength | density | congestion | vs annealing |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for row in rows:
        sa = next(r for r in rows if r["design"] == row["design"] and r["method"].startswith("annealing"))
        gap = (row["proxy_cost"] - sa["proxy_cost"]) / sa["proxy_cost"]
        lines.append(f"| {row['design']} | {row['method']} | {row['steps']:,} | {row['wall_s']:.1f} | "
                     f"{row['proxy_cost']:.4f} | {row['wirelength_cost']:.4f} | {row['density_cost']:.4f} | "
                     f"{row['congestion_cost']:.4f} | {gap:+.1%} |")  # fmt: skip
    table = "\n".join(lines) + "\n"
    (out / "results.md").write_text(table)
    print("\n" + table)


if __name__ == "__main__":
    main()
