"""Fine-tuning on one design: does the policy itself get better than zero-shot? PPO against self-imitation.

    python benchmarks/bench_finetune.py [--designs synthetic:1000-1019,ariane133,ariane133_ng45,...]
        [--algorithms ppo,self-imitation] [--seconds 600] [--soft-moves 10000] [--temperature 2] [--jobs 1]
        [--data ../shared/data] [--out benchmarks/results/finetune] [--report]

For each design the bundled policy plays zero-shot (8 episodes, the first most likely, the
rest sampled, the best after FD finished by the soft-macro stage of ``--soft-moves`` nudges),
is fine-tuned by each algorithm for ``--seconds`` of wall clock (PPO with the fine-tuning
defaults and two environment processes; self-imitation in one process, its episodes screened
after a 2,000-nudge stage and kept by their cost after the ``--soft-moves`` stage, the first
round's being the zero-shot's 8, the later rounds' sampled at ``--temperature``, by default
``FINETUNE_TEMPERATURE`` as ``placer place`` does), and the
fine-tuned policy plays the same 8 episodes (same seeds,
same stage): its *own* best of 8. ``best found`` is the best episode fine-tuning itself played,
finished by the same stage. The soft macros start by FD throughout (nothing of a file's
positions read); one torch thread per process. Each finished (design, algorithm) is appended
to ``OUT/results.csv`` at once, so a stopped run resumes; ``--jobs 2`` runs two at a time.
Prints, per algorithm, on how many designs the fine-tuned policy's own best of 8 beats its
zero-shot, and the mean gain.
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

FIELDS = ("design", "algorithm", "seconds", "zero_shot", "tuned_policy", "best_found", "greedy", "steps", "episodes",
          "wall_s", "temperature")  # fmt: skip
DESIGNS = "synthetic:1000-1019,ariane133,ariane133_ng45,ariane136_ng45,mempool_tile_ng45"


def run_one(design_name: str, algorithm: str, seconds: float, soft_moves: int, data: str, temperature: float) -> dict:
    """Zero-shot, fine-tune, play again: one row."""
    import torch

    torch.set_num_threads(1)
    from bench_baselines import load_design

    from placer.agent.placing import _finetune_settings as settings_for
    from placer.agent.placing import bundled_checkpoint, finetune, map_size, policy_place
    from placer.agent.self_imitation import SelfImitationSettings, self_imitate
    from placer.baselines import SoftStage, finish_soft_macros, place
    from placer.cost import CostModel
    from placer.fd import FDSchedule

    design = load_design(design_name, Path(data))
    checkpoint = bundled_checkpoint()
    greedy = place(design, "greedy", soft_stage=SoftStage(soft_moves)).report.proxy_cost
    zero_shot = policy_place(design, checkpoint, soft_moves=soft_moves).report.proxy_cost
    imitating = algorithm == "self-imitation"
    settings = settings_for(0, map_size(checkpoint, design), FDSchedule.electrostatic(), imitating)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as run:
        if imitating:
            kept_by = SelfImitationSettings(finish_moves=soft_moves, temperature=temperature)
            tuned = self_imitate(design, checkpoint, run, settings, seconds=seconds, imitation=kept_by)
        else:
            tuned = finetune(design, checkpoint, run, settings, seconds=seconds)
        wall = time.perf_counter() - started
        own = policy_place(design, tuned.checkpoint, soft_moves=soft_moves).report.proxy_cost
    found = float("nan")
    if tuned.placement is not None:
        model = CostModel(design.netlist, design.floorplan)
        found = finish_soft_macros(model, tuned.placement, SoftStage(soft_moves)).report.proxy_cost
    return {"design": design_name, "algorithm": algorithm, "seconds": seconds, "zero_shot": zero_shot,
            "tuned_policy": own, "best_found": found, "greedy": greedy, "steps": tuned.steps,
            "episodes": tuned.episodes, "wall_s": wall, "temperature": temperature}  # fmt: skip


def temperature_of(row: dict[str, str]) -> float:
    """A row's sampling temperature (rows written before the column existed sampled at 1)."""
    return float(row.get("temperature") or 1.0)


def report(rows: list[dict[str, str]]) -> str:
    lines = ["| design | algorithm | greedy | zero-shot | fine-tuned policy, best of 8 | best found | episodes |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['design']} | {r['algorithm']} | {float(r['greedy']):.4f} | {float(r['zero_shot']):.4f} | "
                     f"{float(r['tuned_policy']):.4f} | {float(r['best_found']):.4f} | {r['episodes']} |")  # fmt: skip
    lines.append("")
    for algorithm in sorted({r["algorithm"] for r in rows}):
        mine = [r for r in rows if r["algorithm"] == algorithm]
        gains = [float(r["zero_shot"]) - float(r["tuned_policy"]) for r in mine]
        greedy = [float(r["greedy"]) - float(r["tuned_policy"]) for r in mine]
        lines.append(f"{algorithm} ({mine[0]['seconds']} s) on {len(mine)} designs: the fine-tuned policy's own best "
                     f"of 8 beats its zero-shot on {sum(g > 0 for g in gains)} (ties {sum(g == 0 for g in gains)}), "
                     f"mean gain {statistics.mean(gains):+.4f}; beats greedy on {sum(g > 0 for g in greedy)}, "
                     f"mean {statistics.mean(greedy):+.4f}")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    from placer.agent.self_imitation import FINETUNE_TEMPERATURE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", default=DESIGNS)
    parser.add_argument("--algorithms", default="ppo,self-imitation")
    parser.add_argument("--seconds", type=float, default=600.0, help="fine-tuning's wall clock per design")
    parser.add_argument("--soft-moves", type=int, default=10_000, help="the soft-macro stage's nudges (both plays)")
    parser.add_argument("--temperature", type=float, default=FINETUNE_TEMPERATURE,
                        help="self-imitation's sampling temperature after its first round")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, help="(design, algorithm) pairs run at once")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--out", default="benchmarks/results/finetune")
    parser.add_argument("--report", action="store_true", help="only print and write the table of the rows there")
    args = parser.parse_args()
    from placer.agent.cli import expand

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "results.csv"
    rows = list(csv.DictReader(path.open())) if path.exists() else []
    if not args.report:
        done = {(r["design"], r["algorithm"], float(r["seconds"]), temperature_of(r)) for r in rows}
        todo = [(d, a) for d in expand(args.designs.split(","), 32) for a in args.algorithms.split(",")
                if (d, a, args.seconds, args.temperature) not in done]  # fmt: skip
        with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(run_one, d, a, args.seconds, args.soft_moves, args.data, args.temperature)
                       for d, a in todo]  # fmt: skip
            for future in as_completed(futures):
                row = future.result()
                new = not path.exists()
                with path.open("a", newline="") as handle:
                    writer = csv.DictWriter(handle, FIELDS)
                    if new:
                        writer.writeheader()
                    writer.writerow(row)
                print(" | ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()),
                      flush=True)  # fmt: skip
        rows = list(csv.DictReader(path.open()))
    table = report([r for r in rows if float(r["seconds"]) == args.seconds and temperature_of(r) == args.temperature])
    print(table)
    hotter = f"-t{args.temperature:g}" if args.temperature != 1.0 else ""
    (out / f"results-{args.seconds:g}s{hotter}.md").write_text(table)


if __name__ == "__main__":
    main()
