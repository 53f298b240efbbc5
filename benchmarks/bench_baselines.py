"""Baseline placers side by side: methods x designs x seeds, on the same proxy cost.

    python benchmarks/bench_baselines.py [--methods random,greedy,sa,analytic] [--designs ariane133,...]
        [--seeds 0] [--budget 60] [--out benchmarks/results/baselines] [--data ../shared/data]

Each run places the design's hard macros with one method (annealing, and the whole analytic
flow, get ``--budget`` seconds of wall clock, one core) and its soft macros by force-directed
placement (the analytic flow: its own soft-macro stages), and scores the result with weights
1 / 0.5 / 0.5. Each design's reference placement (the
``legalized.plc`` shipped with Ariane133; for a clustered flat design, the synthesis tool's
macros with the clusters at their cells' centres) is a row too.

Writes ``OUT/results.csv`` (one row per run, appended as runs finish, so an interrupted
benchmark resumes where it stopped), ``OUT/results.md`` (the table, with whether annealing
beats the reference, and annealing's moves per second) and ``OUT/proxy.png``.

Designs: ``ariane133`` (bundled, clustered by Circuit Training's flow, ``legalized.plc``
floorplan), and the flat designs of ``DATA/flat/`` clustered by ``placer.cluster``
(``ariane133_ng45``, ``ariane136_ng45``, ``mempool_tile_ng45``) on a floorplan with the
die of the file and Ariane133's grid-cell size and routing model; and generated designs
``synthetic:N`` (``netlists.synthetic``, the spec drawn with seed ``N``), which have no
reference placement.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import statistics
from pathlib import Path

import netlists
from netlists import Design, synthetic
from placer import plot
from placer.baselines import place
from placer.baselines.run import BUDGETED
from placer.cluster import cluster_netlist
from placer.cost import CostModel

FIELDS = ("design", "method", "seed", "budget_s", "proxy_cost", "wirelength_cost", "density_cost", "congestion_cost",
          "overlap_area", "runtime_s", "moves")  # fmt: skip
FLAT = {"ariane133_ng45": "ariane.pb.txt.gz", "ariane136_ng45": "ariane.pb.txt.gz",
        "mempool_tile_ng45": "mempool_tile_wrap.pb.txt.gz"}  # fmt: skip
REFERENCE = "reference"


def load_design(name: str, data: Path) -> Design:
    """A bundled design, a generated one (``synthetic:N``), or a flat design of ``data/flat`` clustered."""
    if synthetic.is_name(name):
        return synthetic.by_name(name)
    if name not in FLAT:
        return netlists.load(name)
    flat = netlists.load(data / "flat" / name / FLAT[name])
    clustering = cluster_netlist(flat.netlist, flat.placement)
    like = netlists.load("ariane133").floorplan
    floorplan = dataclasses.replace(
        like,
        width=flat.floorplan.width,
        height=flat.floorplan.height,
        cols=max(1, round(flat.floorplan.width / like.cell_width)),
        rows=max(1, round(flat.floorplan.height / like.cell_height)),
    )
    return Design(clustering.netlist, floorplan, clustering.placement, {}, flat.source)


def done_runs(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def append_row(path: Path, row: dict[str, object]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as handle:  # one short line per finished run: a crash loses at most it
        writer = csv.DictWriter(handle, FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def row_of(design: str, method: str, seed, budget, report, runtime: float, moves: int) -> dict[str, object]:
    return {"design": design, "method": method, "seed": seed, "budget_s": budget, "proxy_cost": report.proxy_cost,
            "wirelength_cost": report.wirelength_cost, "density_cost": report.density_cost,
            "congestion_cost": report.congestion_cost, "overlap_area": report.overlap_area, "runtime_s": runtime,
            "moves": moves}  # fmt: skip


def label(row: dict[str, str]) -> str:
    """The method, with its budget when it has one (``sa 600 s``)."""
    return f"{row['method']} {float(row['budget_s']):g} s" if row["budget_s"] else row["method"]


def markdown(rows: list[dict[str, str]]) -> str:
    """Mean over seeds per design and method, with the reference and whether each method beats it."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault((row["design"], label(row)), []).append(row)
    lines = ["| design | method | seeds | budget (s) | proxy cost | wirelength | density | congestion | overlap "
             "(µm²) | runtime (s) | moves/s | beats reference |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
             "---:|---|"]  # fmt: skip
    for (design, method), runs in groups.items():
        mean = {k: statistics.mean(float(r[k]) for r in runs) for k in FIELDS[4:]}
        reference = groups.get((design, REFERENCE))
        verdict = "-"
        if reference and method != REFERENCE:
            verdict = "yes" if mean["proxy_cost"] < float(reference[0]["proxy_cost"]) else "no"
        rate = f"{mean['moves'] / mean['runtime_s']:,.0f}" if mean["moves"] else "-"
        budget = f"{float(runs[0]['budget_s']):g}" if runs[0]["budget_s"] else "-"
        lines.append(f"| {design} | {method} | {len(runs)} | {budget} | {mean['proxy_cost']:.4f} | "
                     f"{mean['wirelength_cost']:.4f} | {mean['density_cost']:.4f} | {mean['congestion_cost']:.4f} | "
                     f"{mean['overlap_area']:.3g} | {mean['runtime_s']:.1f} | {rate} | {verdict} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default="random,greedy,sa")
    parser.add_argument("--designs", default="ariane133")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--budget", type=float, default=60.0, help="sa's and analytic's wall clock per run (s)")
    parser.add_argument("--out", default="benchmarks/results/baselines")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.csv"
    finished = {(r["design"], r["method"], r["seed"], r["budget_s"]) for r in done_runs(results)}
    methods, seeds = args.methods.split(","), [int(s) for s in args.seeds.split(",")]
    for name in args.designs.split(","):
        design = load_design(name, Path(args.data))
        if (name, REFERENCE, "", "") not in finished and not name.startswith("synthetic:"):
            report = CostModel(design.netlist, design.floorplan).evaluate(design.placement)
            append_row(results, row_of(name, REFERENCE, "", "", report, 0.0, 0))
            print(f"{name}: reference placement {report.proxy_cost:.4f}", flush=True)
        for method in methods:
            for seed in seeds:
                budget = args.budget if method.removesuffix("+cd") in BUDGETED else ""
                if (name, method, str(seed), str(budget)) in finished:
                    continue
                base, descent = method.removesuffix("+cd"), method.endswith("+cd")
                result = place(design, base, seconds=budget or None, seed=seed, descent=descent)
                append_row(results, row_of(name, method, seed, budget, result.report, result.runtime_s, result.moves))
                print(
                    f"{name}: {method} seed {seed}: {result.report.proxy_cost:.4f} in {result.runtime_s:.1f} s"
                    + (f" ({result.moves / result.runtime_s:,.0f} moves/s)" if result.moves else ""),
                    flush=True,
                )
    rows = done_runs(results)
    table = markdown(rows)
    (out / "results.md").write_text(table)
    print("\n" + table)
    costs: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        if row["method"] != REFERENCE:
            costs.setdefault(row["design"], {}).setdefault(label(row), []).append(float(row["proxy_cost"]))
    means = {d: {m: statistics.mean(v) for m, v in per.items()} for d, per in costs.items()}
    references = {r["design"]: float(r["proxy_cost"]) for r in rows if r["method"] == REFERENCE}
    plot.save_figure(plot.cost_comparison(means, references), out / "proxy.png")
    print(f"wrote {results}, {out / 'results.md'} and {out / 'proxy.png'}")


if __name__ == "__main__":
    main()
