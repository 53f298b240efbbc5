"""Learned annealing against annealing at equal CPU time, on real and generated designs.

    python benchmarks/bench_learned.py [--designs ariane133,ariane133_ng45,...] [--seconds 60]
        [--seeds 5] [--arms sa,learned,prior] [--jobs 2 | --ray [ADDRESS]] [--controller PATH] [--pull SHARE]
        [--hard-pull SHARE]
        [--out benchmarks/results/learned] [--data ../shared/data] [--report] [--compare DIR]

Every run is ``placer.baselines.place(design, method, seconds=S, seed=k)`` on the CPU-time
clock of its own single-threaded process. Two starts: ``sa`` (greedy, then annealing for the
rest of S CPU-seconds) and ``analytic`` (the field's strongest non-RL flow: mixed-size analytic
placement, macro legalisation, the soft macros placed again, then annealing as a polish; its
analytic stages inside the same CPU budget). From a start, the arms differ only in who sets
annealing's move mix, temperature scale and ranges per block:

* ``sa``: nobody; annealing's own settings throughout (``placer place --method sa``);
* ``learned``: the trained controller (the bundled one trained from greedy, or ``--controller``), from greedy;
* ``prior``: the same network untrained (its actions are near zero, i.e. annealing's settings),
  the control that shows what training added and what the forward passes cost;
* ``sa-soft80``: annealing retuned by hand, 80 % of its moves soft-macro nudges (the best of a
  small sweep on Ariane133), to show how much of the learned gain a static retune also gets;
* ``analytic``: the analytic flow as ``placer place --method analytic`` runs it (its polish
  starts with 10 % of uphill moves accepted);
* ``analytic-cold``: the same flow retuned by hand, its polish starting much colder
  (``COLD_ACCEPTANCE`` of uphill moves accepted, the best single setting of a one-seed sweep
  over 1e-2, 1e-3 and 1e-4 on the four real designs at 60 s): a static retune, the control for
  the learned polish's colder schedule;
* ``analytic-learned``: the analytic flow's polish steered by the trained controller (the
  bundled one trained as that polish, or ``--controller``), what ``placer place --method rl
  --budget S`` runs.

Designs: as in ``bench_baselines.py`` (bundled, ``synthetic:N``, or the flat designs of
``DATA/flat`` clustered by ``placer.cluster`` on the floorplan stated there). The controller
was trained on ``synthetic:0-59``; ``synthetic:1000`` and above were never trained on.

With ``--pull SHARE`` every arm's annealing pulls that share of its soft-macro moves to their
least-wirelength point within the nudge range (``AnnealSettings.pull_share``, 0.5 by default;
0: the random nudges alone, as every run before pulls existed); a row records its share (a row
without one has 0), and rows of another share are set aside. ``--hard-pull SHARE`` does the same
for the share of shifts that pull a hard macro to its least-wirelength legal cell within the
shift radius (``AnnealSettings.hard_pull_share``, 0 by default).
``--compare DIR`` also prints each arm against the same arm's rows in ``DIR/runs.jsonl`` (same
design, seed and budget; e.g. the runs without pulls): the paired difference in percent per
design, wins, and across designs the mean with its 95 % interval.

A row of a steered arm records its controller (the first 12 hex digits of the file's SHA-256);
rows of another controller than the one asked for are set aside, not reused or printed.

Rows are appended to ``OUT/runs.jsonl`` as runs finish, so a stopped benchmark resumes, and
``--jobs`` runs go at once, one process (one core) each; with ``--ray [ADDRESS]`` every run
is a Ray task of one CPU instead, on the cluster at ADDRESS or a Ray started here (the ``ray``
extra), as many at once as it has CPUs, the rows gathered here. A Ray worker's own threads
count on its process-time clock, so its runs get a little less search than a process's. Printed and written to
``OUT/results-<S>s.md``: per design the mean +- sd of each arm, the paired difference of
learned against sa in percent, wins over seeds, and the CPU time learned annealing needed to
reach sa's mean final cost; learned against the best non-RL arm of the design (the lowest mean
of ``sa``, ``analytic`` and ``analytic-cold``, of those asked for); one such table per RL arm
(``learned``, ``analytic-learned``); across designs the mean differences and their 95 % intervals; and
per third of the run (a temperature band) the decrease of the current cost per CPU-second.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from bench_baselines import load_design

from placer.agent.annealing import bundled_controller
from placer.agent.cli import expand
from placer.agent.distributed import LOCAL, as_tasks
from placer.baselines import AnnealSettings

ARMS = ("sa", "learned", "prior", "sa-soft80", "analytic", "analytic-cold", "analytic-learned")
NON_RL = ("sa", "analytic", "analytic-cold")
RL = ("learned", "analytic-learned")  # the arms a table compares with the non-RL ones
STEERED = RL  # the arms a trained controller steers: their rows record which one
SOFT80 = (0.05, 0.05, 0.01, 0.05, 0.04, 0.8)  # a hand retune: 80 % soft-macro nudges (best of a small sweep)
COLD_ACCEPTANCE = 1e-4  # a hand retune of the analytic flow's polish (best of a small sweep)
DESIGNS = ("ariane133", "ariane133_ng45", "ariane136_ng45", "mempool_tile_ng45", "synthetic:1000-1009")
BANDS = 3
T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 11: 2.20,
       12: 2.18, 13: 2.16, 14: 2.14, 15: 2.13, 20: 2.09, 30: 2.04}  # fmt: skip


def controller_id(path: str | Path) -> str:
    """The first 12 hex digits of a saved controller's SHA-256: which controller a row was steered by."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def run_one(design_name: str, arm: str, seed: int, seconds: float, data: str, controller: str | None,
            pull: float = 0.0, hard_pull: float = 0.0) -> dict:  # fmt: skip
    """One run in this (fresh, single-threaded) process; returns its row."""
    import torch

    from placer.agent.annealing import LearnedController, prior_controller
    from placer.baselines import FlowSettings, PackingError, place

    torch.set_num_threads(1)
    design = load_design(design_name, Path(data))
    method = "analytic" if arm.startswith("analytic") else "sa"
    try:  # compiles (or loads) every kernel before the clock starts, for every arm alike
        place(design, method, moves=512, seed=seed)
    except PackingError as error:
        return {"design": design_name, "arm": arm, "seed": seed, "seconds": seconds, "error": str(error)}
    steer = None
    if arm in STEERED:
        steer = LearnedController(controller)
    elif arm == "prior":
        steer = prior_controller()
    mix = SOFT80 if arm == "sa-soft80" else AnnealSettings.move_probabilities
    settings = AnnealSettings(move_probabilities=mix, pull_share=pull, hard_pull_share=hard_pull)
    flow = FlowSettings(polish_acceptance=COLD_ACCEPTANCE) if arm == "analytic-cold" else None
    result = place(design, method, seconds=seconds, seed=seed, controller=steer, anneal_settings=settings,
                   flow_settings=flow, clock=time.process_time)  # fmt: skip
    report = result.report
    # Analytic's history is its polish's: shifted to the run's clock, as every arm's.
    offset = sum(stage.seconds for stage in result.stages if stage.name != "polish")
    return {"design": design_name, "arm": arm, "seed": seed, "seconds": seconds, "proxy_cost": report.proxy_cost,
            "wirelength_cost": report.wirelength_cost, "density_cost": report.density_cost,
            "congestion_cost": report.congestion_cost, "overlap_area": report.overlap_area,
            "cpu_s": result.runtime_s, "moves": result.moves,
            "history": [(round(offset + h[1], 3), h[3], h[4]) for h in result.history],
            "stages": [dataclasses.asdict(stage) for stage in result.stages],
            **({"controller": controller_id(controller)} if arm in STEERED else {}),
            **({"pull": pull} if pull else {}), **({"hard_pull": hard_pull} if hard_pull else {})}  # fmt: skip


def done_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def mean_sd(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % t-interval."""
    m = statistics.mean(values)
    if len(values) < 2:
        return m, math.nan, math.nan
    t = T95.get(len(values) - 1, T95[min(T95, key=lambda k: abs(k - (len(values) - 1)))])
    half = t * statistics.stdev(values) / math.sqrt(len(values))
    return m, m - half, m + half


def reach_time(row: dict, target: float) -> float | None:
    """CPU seconds into annealing at which the run's best cost first reached ``target``."""
    return next((t for t, _, best in row["history"] if best <= target), None)


def band_rates(row: dict) -> list[float]:
    """Decrease of the current cost per CPU-second in each third of the run."""
    history, rates = row["history"], []
    if not history:  # the analytic stages took the whole budget: no polish
        return [math.nan] * BANDS
    end = history[-1][0]
    for b in range(BANDS):
        lo, hi = end * b / BANDS, end * (b + 1) / BANDS
        inside = [h for h in history if lo <= h[0] <= hi]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            rates.append(math.nan)
            continue
        rates.append((inside[0][1] - inside[-1][1]) / (inside[-1][0] - inside[0][0]))
    return rates


def paired_percent(ours: dict[int, dict], theirs: dict[int, dict], seeds: list[int]) -> list[float]:
    """Per seed, how much lower (negative) or higher ``ours`` ended than ``theirs``, in percent."""
    return [(ours[s]["proxy_cost"] - theirs[s]["proxy_cost"]) / theirs[s]["proxy_cost"] * 100 for s in seeds]


def best_non_rl(by_arm: dict[str, dict[int, dict]], arms: list[str], rl: str) -> str | None:
    """The non-RL arm with the lowest mean cost on a design; None unless every non-RL arm asked for ran with ``rl``.

    A design where one of them is missing gets no verdict: the best of fewer arms is a weaker yardstick.
    """
    asked = [a for a in NON_RL if a in arms]
    if not asked or not all(set(by_arm[a]) & set(by_arm.get(rl, {})) for a in asked):
        return None
    return min(asked, key=lambda a: statistics.mean(r["proxy_cost"] for r in by_arm[a].values()))


def across(diffs: list[float], rl: str, against: str) -> str:
    m, lo, hi = interval(diffs)
    better = sum(d < 0 for d in diffs)
    return (f"{rl} against {against} across {len(diffs)} designs: mean difference {m:+.2f} % "
            f"(95 % interval {lo:+.2f} to {hi:+.2f} %), better on {better} of {len(diffs)}.")  # fmt: skip


def table(rows: list[dict], designs: list[str], arms: list[str], seconds: float, rl: str = "learned") -> str:
    """The per-design table of every arm, with the RL arm ``rl`` against sa and against the best non-RL arm."""
    lines = [f"Equal CPU: {seconds:g} CPU-seconds per run, one core each; proxy cost (1 / 0.5 / 0.5), lower is better.",
             "", "| design | " + " | ".join(arms) + f" | {rl} vs sa | wins | {rl} reaches sa's mean "
             f"| best non-RL | {rl} vs it | wins |",
             "|---|" + "---:|" * len(arms) + "---:|---:|---:|---|---:|---:|"]  # fmt: skip
    diffs, best_diffs = [], []
    unfit = sorted({r["design"] for r in rows if "error" in r})
    rows = [r for r in rows if "error" not in r]
    for design in designs:
        if design in unfit:
            lines.append(f"| {design} | " + " | ".join("does not fit" for _ in arms) + " | - | - | - | - | - | - |")
            continue
        by_arm = {a: {r["seed"]: r for r in rows if r["design"] == design and r["arm"] == a} for a in arms}
        cells = [mean_sd([r["proxy_cost"] for r in by_arm[a].values()]) for a in arms]
        seeds = sorted(set(by_arm.get("sa", {})) & set(by_arm.get(rl, {})))
        diff = wins = reach = "-"
        if seeds:
            paired = paired_percent(by_arm[rl], by_arm["sa"], seeds)
            diffs.append(statistics.mean(paired))
            diff = f"{statistics.mean(paired):+.2f} %"
            wins = f"{sum(p < 0 for p in paired)}/{len(paired)}"
            target = statistics.mean(by_arm["sa"][s]["proxy_cost"] for s in seeds)
            times = [reach_time(by_arm[rl][s], target) for s in seeds]
            reached = sorted(t for t in times if t is not None)
            reach = f"{statistics.median(reached):.1f} s ({len(reached)}/{len(times)})" if reached else "never"
        best, best_diff, best_wins = best_non_rl(by_arm, arms, rl), "-", "-"
        if best is not None:
            paired = paired_percent(by_arm[rl], by_arm[best], sorted(set(by_arm[best]) & set(by_arm[rl])))
            best_diffs.append(statistics.mean(paired))
            best_diff, best_wins = f"{statistics.mean(paired):+.2f} %", f"{sum(p < 0 for p in paired)}/{len(paired)}"
        lines.append(f"| {design} | " + " | ".join(cells) + f" | {diff} | {wins} | {reach} | {best or '-'} | "
                     f"{best_diff} | {best_wins} |")  # fmt: skip
    if diffs:
        lines += ["", across(diffs, rl, "sa")]
    if best_diffs:
        lines += ["", across(best_diffs, rl, "the best non-RL arm of each design")]
    every = [d for d in designs if all(any(r["design"] == d and r["arm"] == a for r in rows) for a in arms)]
    lines += ["", "Decrease of the current proxy cost per CPU-second, by third of the run (mean over the runs on "
              f"{', '.join(every)}, where every arm ran):", "",
              "| arm | " + " | ".join(f"band {b + 1}" for b in range(BANDS)) + " |",
              "|---|" + "---:|" * BANDS]  # fmt: skip
    for arm in arms:
        rates = [band_rates(r) for r in rows if r["arm"] == arm and r["design"] in every]
        if rates:
            kept = [[v for v in col if not math.isnan(v)] for col in zip(*rates, strict=True)]
            means = [f"{statistics.mean(col):.2e}" if col else "-" for col in kept]  # "-": no run reached the band
            lines.append(f"| {arm} | " + " | ".join(means) + " |")
    return "\n".join(lines)


def against_runs_in(rows: list[dict], others: list[dict], designs: list[str], arms: list[str], label: str) -> str:
    """Each arm against the same arm's runs in ``others`` at the same seeds, design by design."""
    lines = [f"Against the same arm in {label} (same design, seed and budget), paired difference in percent "
             "(negative: lower cost here) and wins:", "", "| design | " + " | ".join(arms) + " |",
             "|---|" + "---:|" * len(arms)]  # fmt: skip
    means: dict[str, list[float]] = {arm: [] for arm in arms}
    for design in designs:
        cells = []
        for arm in arms:
            here = {r["seed"]: r for r in rows if r["design"] == design and r["arm"] == arm and "error" not in r}
            there = {r["seed"]: r for r in others if r["design"] == design and r["arm"] == arm and "error" not in r}
            seeds = sorted(set(here) & set(there))
            if not seeds:
                cells.append("-")
                continue
            paired = paired_percent(here, there, seeds)
            means[arm].append(statistics.mean(paired))
            cells.append(f"{statistics.mean(paired):+.2f} % ({sum(p < 0 for p in paired)}/{len(paired)})")
        lines.append(f"| {design} | " + " | ".join(cells) + " |")
    lines.append("")
    for arm in arms:
        if means[arm]:
            m, lo, hi = interval(means[arm])
            lower = sum(d < 0 for d in means[arm])
            lines.append(f"{arm} against itself in {label} across {len(means[arm])} designs: mean {m:+.2f} % "
                         f"(95 % interval {lo:+.2f} to {hi:+.2f} %), lower on {lower}.")  # fmt: skip
    return "\n".join(lines)


def in_processes(calls: list[tuple], jobs: int) -> Iterator[dict]:
    """``run_one(*call)`` for every call, ``jobs`` fresh single-threaded processes at once; rows as they end."""
    os.environ["OMP_NUM_THREADS"] = os.environ["NUMBA_NUM_THREADS"] = "1"  # the workers inherit it
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=1) as pool:
        for future in as_completed([pool.submit(run_one, *call) for call in calls]):
            yield future.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", default=",".join(DESIGNS))
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU seconds per run")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--arms", default=",".join(ARMS), help="arms to run and print (a missing run prints -)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one core each)")
    parser.add_argument("--ray", nargs="?", const=LOCAL, metavar="ADDRESS",
                        help="each run a Ray task of one CPU: on the cluster at ADDRESS, or a local Ray")  # fmt: skip
    parser.add_argument("--controller", help="a controller saved by train.py anneal (default: the bundled one)")
    parser.add_argument("--pull", type=float, default=AnnealSettings.pull_share,
                        help="share of every arm's soft-macro moves that pull (AnnealSettings.pull_share)")  # fmt: skip
    parser.add_argument("--hard-pull", type=float, default=AnnealSettings.hard_pull_share,
                        help="share of every arm's shifts that pull (AnnealSettings.hard_pull_share)")  # fmt: skip
    parser.add_argument("--out", default="benchmarks/results/learned")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--report", action="store_true", help="print the table of the runs done; run nothing")
    parser.add_argument("--compare", metavar="DIR", help="also each arm against its runs in DIR/runs.jsonl")
    args = parser.parse_args()
    designs, arms = expand(args.designs.split(",")), args.arms.split(",")
    unknown = set(arms) - set(ARMS)
    if unknown:
        parser.error(f"unknown arms {sorted(unknown)} (expected {', '.join(ARMS)})")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "runs.jsonl"
    # Each steered arm's controller: the one given, else the bundled one of its start.
    starts = {arm: "analytic" if arm.startswith("analytic") else "greedy" for arm in STEERED}
    controllers = {arm: args.controller or str(bundled_controller(start)) for arm, start in starts.items()}
    steered_by = {arm: controller_id(path) for arm, path in controllers.items()}
    rows = [r for r in done_rows(path) if r["seconds"] == args.seconds]
    for key, share in (("pull", args.pull), ("hard_pull", args.hard_pull)):
        pulled = [r for r in rows if r.get(key, 0.0) != share]
        rows = [r for r in rows if r not in pulled]
        if pulled:
            print(f"{len(pulled)} rows of another {key} share than {share:g} set aside", flush=True)
    other = [r for r in rows if r["arm"] in STEERED and r.get("controller") != steered_by[r["arm"]]]
    rows = [r for r in rows if r not in other]
    if other:
        print(f"{len(other)} rows of other controllers than {steered_by} set aside", flush=True)
    have = {(r["design"], r["arm"], r["seed"]) for r in rows}
    # Seed by seed, so a run stopped early has every design at the seeds done.
    todo = [(d, a, s) for s in range(args.seeds) for d in designs for a in arms if (d, a, s) not in have]
    if args.report:
        todo = []
    at_once = "each a Ray task" if args.ray is not None else f"{args.jobs} at once"
    print(f"{len(todo)} runs to go ({len(have)} done), {at_once}", flush=True)
    calls = [(d, a, s, args.seconds, args.data, controllers.get(a), args.pull, args.hard_pull) for d, a, s in todo]
    if args.ray is not None and calls:
        finished = (row for _, row in as_tasks(run_one, calls, args.ray))
    else:
        finished = in_processes(calls, args.jobs)
    for row in finished:
        with path.open("a") as handle:  # one line per finished run: a crash loses at most the runs under way
            handle.write(json.dumps(row) + "\n")
        rows.append(row)
        if "error" in row:
            print(f"{row['design']}: {row['error']}", flush=True)
        else:
            print(f"{row['design']} {row['arm']} seed {row['seed']}: {row['proxy_cost']:.4f} "
                  f"({row['moves']:,} moves)", flush=True)  # fmt: skip
    # One table per RL arm asked for: each against annealing and against the best non-RL arm.
    compared = [rl for rl in RL if rl in arms] or ["learned"]
    text = "\n\n".join(table(rows, designs, arms, args.seconds, rl) for rl in compared)
    if args.compare:
        others = [r for r in done_rows(Path(args.compare) / "runs.jsonl") if r["seconds"] == args.seconds]
        others = [r for r in others if r["arm"] not in STEERED or r.get("controller") == steered_by[r["arm"]]]
        text += "\n\n" + against_runs_in(rows, others, designs, arms, args.compare)
    (out / f"results-{args.seconds:g}s.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
