"""The ``placer`` command line.

``placer info DESIGN [--plc PLC] [--json]``: counts and floorplan of a design.
``placer eval DESIGN [--plc PLC] [--weights W,D,C] [--json]``: its proxy cost.
``placer cluster FLAT -o CLUSTERED.pb.txt.gz [--plc PLC]``: std cells grouped into soft macros.
``placer fd DESIGN --plc PLC -o OUT.plc``: std-cell clusters (or std cells) placed around fixed macros.
``placer place DESIGN [DESIGN ...] --method {random,greedy,sa,analytic,rl} -o OUTDIR [--ray [ADDRESS]]``: hard and
soft macros placed, with a picture (several designs: one folder each, one after another or as Ray tasks).
``placer plot DESIGN [--plc PLC] -o FILE [--what layout|density|congestion]``: a figure of a placement.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import netlists
import placer
from netlists import Design, NetlistFormatError, NodeKind
from netlists.plc import node_type_counts
from netlists.protobuf import format_number
from netlists.textio import atomic_folder
from placer.agent.runtime import NetworkFileError, is_onnx
from placer.analytic import AnalyticSettings, place_analytic
from placer.arguments import OneLineParser, finite, saved_model, saved_policy, share, whole
from placer.baselines import (
    METHODS,
    STARTS,
    AnnealSettings,
    PackingError,
    PlaceResult,
    SoftStage,
    place,
    with_descent,
)
from placer.baselines.run import BUDGETED
from placer.baselines.soft_stage import SOFT_MOVES
from placer.cluster import ClusterSettings, cluster_netlist
from placer.cost import CostModel, CostWeights, separate_congestion_grid
from placer.fd import SCHEDULES, FDSchedule, movable_soft_macros, place_soft_macros
from placer.gridding import GridChoice, gridded
from placer.sequential import SOFT_STARTS


class CommandError(Exception):
    """A problem with the command's input, printed as one line."""


def to_json(value: object, **options) -> str:
    """``value`` as JSON; a number that is not finite is refused, naming where it is (JSON has none)."""
    where = _not_finite(value, "")
    if where is not None:
        raise CommandError(f"the result is not finite at {where or 'top level'} (overflow: are sizes or weights huge?)")
    return json.dumps(value, allow_nan=False, **options)


def _not_finite(value: object, path: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, dict):
        return next((w for k, v in value.items() if (w := _not_finite(v, f"{path}.{k}".lstrip("."))) is not None), None)
    if isinstance(value, list | tuple):
        return next((w for i, v in enumerate(value) if (w := _not_finite(v, f"{path}[{i}]")) is not None), None)
    return None


def design_summary(design: Design) -> dict[str, object]:
    """Counts and floorplan of a design, as printed by ``placer info``."""
    nl, fp = design.netlist, design.floorplan
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    return {
        "design": nl.name,
        "netlist_file": design.source,
        "plc_file": design.plc_source or None,
        "hard_macros": nl.count(NodeKind.HARD_MACRO),
        "soft_macros": nl.count(NodeKind.SOFT_MACRO),
        "std_cells": nl.count(NodeKind.STD_CELL),
        "ports": nl.count(NodeKind.PORT),
        "pins": nl.n_pins,
        "macro_pins": node_type_counts(nl)["MACRO_PINs"],
        "nets": nl.n_nets,
        "weighted_nets": nl.weighted_net_count,
        "total_macro_area": nl.macro_area,
        "hard_macro_area": float(nl.node_area[hard].sum()),
        "canvas_width": fp.width,
        "canvas_height": fp.height,
        "grid_cols": fp.cols,
        "grid_rows": fp.rows,
        "hroutes_per_micron": fp.hroutes_per_micron,
        "vroutes_per_micron": fp.vroutes_per_micron,
        "hrouting_alloc": fp.hrouting_alloc,
        "vrouting_alloc": fp.vrouting_alloc,
        "smoothing_range": fp.smoothing_range,
        "congestion_grid": None if fp.congestion_cols is None else [fp.congestion_cols, fp.congestion_rows],
        "blockages": len(fp.blockages),
        "recorded_costs": design.recorded_costs,
    }


def _print_table(summary: dict[str, object]) -> None:
    width = max(len(key) for key in summary)
    for key, value in summary.items():
        if isinstance(value, float):
            value = format_number(value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {format_number(v)}" for k, v in value.items()) or "-"
        elif value is None:
            value = "-"
        print(f"{key:<{width}}  {value}")


def _info(args: argparse.Namespace) -> int:
    design, choice = _load_gridded(args)
    summary = design_summary(design)
    summary["grid_from"] = _grid_source(design, choice, args.grid is not None)
    if choice is not None and args.json:
        summary["grid_choice"] = choice.to_dict()
    if args.json:
        print(to_json(summary))
    else:
        _print_table(summary)
    return 0


def _grid_source(design: netlists.Design, choice: GridChoice | None, option: bool) -> str:
    """Where a design's grid came from, in words."""
    if option:
        return "--grid"
    if choice is not None:
        return (f"chosen: {choice.feasible} of {choice.candidates} grids pack the macros; waste "
                f"{100 * choice.waste_x:.1f} % across, {100 * choice.waste_y:.1f} % up, {100 * choice.empty:.0f} % "
                f"of cells free")  # fmt: skip
    return design.plc_source or f"{design.source} header"


WRITE_RESERVE_S = 2.0  # of --budget, for writing the placement and its picture (about 1 s on 1,000 clusters)
COST_TERMS = ("wirelength_cost", "density_cost", "congestion_cost")
ONNX_RUNTIMES = ("onnx", "int8")  # --runtime values that play an exported network on ONNX Runtime
FD_SCHEDULES = {"fd": FDSchedule.circuit_training, "fd-electrostatic": FDSchedule.electrostatic}


def _eval(args: argparse.Namespace) -> int:
    design = _load(args, choose=False)
    floorplan = design.floorplan
    if args.smoothing is not None:
        floorplan = dataclasses.replace(floorplan, smoothing_range=args.smoothing)
    if args.congestion_grid == "separate":
        floorplan = separate_congestion_grid(floorplan)
    elif args.congestion_grid == "legacy":
        floorplan = dataclasses.replace(floorplan, congestion_cols=None, congestion_rows=None)
    try:
        report = CostModel(design.netlist, floorplan).evaluate(design.placement, args.weights)
    except ValueError as error:
        raise CommandError(f"{design.plc_source or design.source}: {error}") from None
    result = {"design": design.netlist.name, "plc_file": design.plc_source or None, **report.as_dict()}
    result["recorded_costs"] = design.recorded_costs
    text = to_json(result)  # a cost that is not finite is refused in either form
    if args.json:
        print(text)
        return 0
    print(f"design      {result['design']}")
    print(f"placement   {result['plc_file'] or 'from the netlist file'}")
    weights = dataclasses.astuple(report.weights)
    print(f"\n{'term':<17}{'cost':>12}{'weight':>9}{'weighted':>12}{'recorded':>11}")
    for term, weight in zip(COST_TERMS, weights, strict=True):
        cost = getattr(report, term)
        recorded = design.recorded_costs.get(term)
        shown = "-" if recorded is None else f"{recorded:.6f}"  # headers may hold full precision
        print(f"{term:<17}{cost:>12.6f}{format_number(weight):>9}{weight * cost:>12.6f}{shown:>11}")
    print(f"{'proxy_cost':<17}{report.proxy_cost:>12.6f}")
    print(f"\nwirelength     {report.wirelength:.3f} um")
    print(f"overlap_area   {report.overlap_area:.3f} um^2 (hard macros)")
    print(f"outside_area   {report.outside_area:.3f} um^2 (hard macros off the canvas)")
    return 0


def _cluster(args: argparse.Namespace) -> int:
    if not args.output.endswith((".pb.txt", ".pb.txt.gz")):
        raise CommandError(f"{args.output}: the output must be a .pb.txt or .pb.txt.gz file")
    _check_output(args.output)
    design = _load(args, args.netlist)
    if design.netlist.count(NodeKind.STD_CELL) == 0:
        raise CommandError(f"{design.source}: no std cells to cluster")
    settings = ClusterSettings(
        target_clusters=args.clusters, balance=args.balance, bloat=args.bloat,
        use_coordinates=not args.no_coordinates, seed=args.seed,
    )  # fmt: skip
    start = time.perf_counter()
    clustering = cluster_netlist(design.netlist, design.placement, settings)
    seconds = time.perf_counter() - start
    clustered = Design(clustering.netlist, design.floorplan, clustering.placement, {}, args.output)
    netlists.write_pb(clustered.netlist, clustered.placement, args.output)
    plc = netlists.plc_beside(args.output)
    netlists.write_plc(clustered, plc, costs={})
    nl = clustered.netlist
    summary = {"netlist": args.output, "plc_file": str(plc), "clusters": nl.count(NodeKind.SOFT_MACRO),
               "std_cells": design.netlist.count(NodeKind.STD_CELL), "hard_macros": nl.count(NodeKind.HARD_MACRO),
               "ports": nl.count(NodeKind.PORT), "nets": nl.n_nets, "weighted_nets": nl.weighted_net_count,
               "grid_cols": clustered.floorplan.cols, "grid_rows": clustered.floorplan.rows,
               "runtime_s": seconds}  # fmt: skip
    if args.json:
        print(to_json(summary))
        return 0
    print(f"{summary['clusters']} clusters from {summary['std_cells']} std cells in {seconds:.1f} s; "
          f"{summary['hard_macros']} hard macros, {summary['ports']} ports, {nl.n_nets} nets "
          f"(weighted {format_number(nl.weighted_net_count)})")  # fmt: skip
    print(f"wrote {args.output} and {plc}")
    return 0


def _fd(args: argparse.Namespace) -> int:
    if not args.output.endswith(".plc"):
        raise CommandError(f"{args.output}: placer fd writes a .plc; name the output *.plc")
    _check_output(args.output)
    design = _load(args)
    nl, fp = design.netlist, design.floorplan
    soft = movable_soft_macros(nl, design.placement)
    start = time.perf_counter()
    if soft.size and args.engine in FD_SCHEDULES:
        placement = place_soft_macros(nl, design.placement, fp, FD_SCHEDULES[args.engine](), seed=args.seed)
        what = f"{soft.size} std-cell clusters (force-directed, {args.engine})"
    else:
        cells = nl.nodes_of(NodeKind.STD_CELL)
        movable = soft if soft.size else cells[~design.placement.fixed[cells]]
        if movable.size == 0:
            raise CommandError(f"{design.source}: no movable soft macros or std cells to place")
        settings = AnalyticSettings(seed=args.seed or 0)

        def progress(step: int, overflow: float, length: float) -> None:
            if not (args.json or args.quiet) and step % 100 == 0:
                print(f"  analytic step {step:,} of at most {settings.max_iterations:,}: overflow {overflow:.3f} "
                      f"(stops at {settings.target_overflow:g}), wirelength {length:,.0f} um",
                      file=sys.stderr, flush=True)  # fmt: skip

        placement = place_analytic(nl, design.placement, fp, movable, settings, progress=progress).placement
        what = f"{movable.size} {'std-cell clusters' if soft.size else 'std cells'} (analytic)"
    seconds = time.perf_counter() - start
    placed = dataclasses.replace(design, placement=placement)
    costs, summary = {}, {"design": nl.name, "output": args.output, "engine": args.engine, "placed": what,
                          "runtime_s": seconds}  # fmt: skip
    if nl.count(NodeKind.STD_CELL) == 0:  # the proxy cost is defined on clustered netlists
        report = CostModel(nl, fp).evaluate(placement)
        costs = report.header_costs()
        summary.update(report.as_dict())
    text = to_json(summary)  # refuses a cost that is not finite before it is written
    netlists.write_plc(placed, args.output, costs=costs)
    if args.json:
        print(text)
        return 0
    if costs:
        print(f"proxy cost {report.proxy_cost:.6f} (wirelength {report.wirelength_cost:.6f}, "
              f"density {report.density_cost:.6f}, congestion {report.congestion_cost:.6f})")  # fmt: skip
    print(f"placed {what} in {seconds:.2f} s; wrote {args.output}")
    return 0


NAME_BYTES = 200  # an output's name, leaving room for the temporary name beside it (the OS allows 255)


def _check_output(path: str, *, folder: bool = False) -> Path:
    """``-o``: a file (or a ``folder``) that can be made or replaced there, checked before any work."""
    out = Path(path)
    if len(out.name.encode()) > NAME_BYTES:
        raise CommandError(f"{str(out)[:80]}...: the name is too long (at most {NAME_BYTES} bytes)")
    if len(str(out.absolute()).encode()) > os.pathconf("/", "PC_PATH_MAX") - NAME_BYTES:
        raise CommandError(f"{str(out)[:80]}...: the path is too long")
    if out.exists() and out.is_dir() != folder:
        raise CommandError(f"{out}: exists and is {'not ' if folder else ''}a folder")
    place = out.parent if str(out.parent) else Path(".")
    while not place.exists() and place != place.parent:  # folders that do not exist yet are made
        place = place.parent
    if not place.is_dir():
        raise CommandError(f"{out}: {place} is not a folder")
    if not os.access(out if out.exists() else place, os.W_OK):
        raise CommandError(f"{out}: cannot write there")
    return out


def _policy_file(args: argparse.Namespace) -> str | None:
    """The policy that ``--checkpoint`` and ``--runtime`` ask for (``None``: the bundled one ``policy_place`` picks).

    Raises:
        CommandError: The two do not go together, or with ``--finetune-steps``.
    """
    given, runtime = args.checkpoint, args.runtime
    exported = given is not None and is_onnx(given)
    if runtime == "torch" and exported:
        raise CommandError(f"--runtime torch plays a .zip saved by train.py, not the exported {given}")
    if runtime in ONNX_RUNTIMES and given is not None and not exported:
        flag = " --int8" if runtime == "int8" else ""
        raise CommandError(f"--runtime {runtime} plays an exported network: train.py export {given} -o policy.onnx"
                           f"{flag}, then --checkpoint policy.onnx")  # fmt: skip
    if (runtime in ONNX_RUNTIMES or exported) and args.finetune_steps:
        raise CommandError("--finetune-steps trains the torch policy: give a .zip checkpoint, not an ONNX runtime")
    if runtime is not None and given is None:
        from placer.agent.placing import bundled_checkpoint, bundled_network

        return str(bundled_checkpoint() if runtime == "torch" else bundled_network(int8=runtime == "int8"))
    return given


def _place(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out = _check_output(args.output, folder=True)
    if args.budget is not None and args.budget <= 0 or args.moves is not None and args.moves <= 0:
        raise CommandError("--budget and --moves must be positive")
    if args.method != "rl":
        rl_only = (("--checkpoint", args.checkpoint), ("--finetune-steps", args.finetune_steps),
                   ("--controller", args.controller), ("--threads", args.threads),
                   ("--runtime", args.runtime))  # fmt: skip
        given = [flag for flag, value in rl_only if value]
        if given:
            raise CommandError(f"{', '.join(given)} goes with --method rl, not --method {args.method}")
    learned = _learned(args)
    if args.finetune_algorithm is not None and not args.finetune_steps:
        raise CommandError("--finetune-algorithm goes with --finetune-steps")
    args.finetune_algorithm = args.finetune_algorithm or "ppo"
    if args.soft_moves is not None and (args.method in BUDGETED or learned):
        raise CommandError("--soft-moves goes with random, greedy and rl zero-shot: annealing, learned annealing and "
                           "the analytic flow move the soft macros on the exact cost themselves")  # fmt: skip
    args.soft_moves = SOFT_MOVES if args.soft_moves is None else args.soft_moves
    if args.pull is not None and args.method not in BUDGETED and not learned:
        raise CommandError("--pull goes with sa, analytic and rl with --budget or --moves: the methods that anneal")
    if args.controller is not None and not learned:
        raise CommandError("--controller goes with --method rl and --budget or --moves (learned annealing)")
    if args.start is not None and not learned:
        raise CommandError("--start goes with --method rl and --budget or --moves (learned annealing)")
    args.start = args.start or "analytic"
    if learned and args.start == "analytic":
        policy_only = (("--checkpoint", args.checkpoint), ("--finetune-steps", args.finetune_steps),
                       ("--runtime", args.runtime))  # fmt: skip
        given = [flag for flag, value in policy_only if value]
        if given:
            raise CommandError(f"{', '.join(given)} plays the policy: learned annealing starts from it with "
                               "--start policy (the default, --start analytic, plays no policy)")  # fmt: skip
    args.checkpoint = _policy_file(args)
    if len(args.design) > 1 or args.ray is not None:
        return _place_many(args, out)
    design = _load(args, args.design[0])
    shown: dict[str, int] = {}

    def progress(stage: str, fraction: float, best: float) -> None:
        """Each tenth of each stage, on stderr (stdout keeps the result; quiet with --json)."""
        if not (args.json or args.quiet) and int(fraction * 10) > shown.get(stage, -1):
            shown[stage] = int(fraction * 10)
            cost = f"  best proxy cost {best:.6f}" if math.isfinite(best) else ""
            print(f"  {stage} {fraction:4.0%}{cost}", file=sys.stderr, flush=True)

    result = _placed(args, design, started, progress)
    summary = _write_placed(out, design, result, args)
    if args.json:
        print(to_json(summary))
        return 0
    report = result.report
    print(f"{result.method}: proxy cost {report.proxy_cost:.6f} (wirelength {report.wirelength_cost:.6f}, "
          f"density {report.density_cost:.6f}, congestion {report.congestion_cost:.6f}) in {result.runtime_s:.1f} s"
          + (f", {result.moves:,} annealing moves" if result.moves else "")
          + (f", fine-tuned {result.details['finetune_steps']:,} steps ({result.details['finetune_episodes']} episodes)"
             if "finetune_steps" in result.details else "")
          + ("; packed to fit the crowded canvas" if result.backed_off else ""))  # fmt: skip
    for stage in result.stages:
        print(f"  {stage.name:<8} {stage.seconds:6.1f} s  proxy cost {stage.proxy_cost:.6f}")
    print(f"wrote {out / 'placement.plc'}, {out / 'layout.png'} and {out / 'cost.json'}")
    return 0


def _learned(args: argparse.Namespace) -> bool:
    """Whether ``placer place`` runs learned annealing: ``--method rl`` with a budget."""
    return args.method == "rl" and (args.budget is not None or args.moves is not None)


def _time_left(args: argparse.Namespace, started: float) -> float | None:
    """What is left of ``--budget`` since ``started``: a reserve for writing comes off it too."""
    if args.budget is None:
        return None
    reserve = min(WRITE_RESERVE_S, 0.05 * args.budget)
    return max(args.budget - (time.perf_counter() - started) - reserve, 0.01 * args.budget)


def _placed(args: argparse.Namespace, design: Design, started: float, progress=None) -> PlaceResult:
    """``design`` placed by the method ``args`` name, within ``--budget`` of ``started`` (nothing written)."""
    progress = progress or (lambda stage, fraction, best: None)
    annealing = None if args.pull is None else AnnealSettings(pull_share=args.pull)
    if args.method == "rl":
        import torch  # only when the policy is asked for

        from placer.agent.placing import policy_threads

        torch.set_num_threads(args.threads or policy_threads(design))
    budget = _time_left(args, started)  # after the imports: they are part of the command's time
    try:
        if _learned(args):
            from placer.agent.placing import learned_place  # torch only when the policy is asked for

            result = learned_place(design, args.checkpoint, seconds=budget, moves=args.moves,
                                   controller=args.controller, start=args.start, samples=args.samples,
                                   seed=args.seed, weights=args.weights, fd_schedule=SCHEDULES[args.fd](),
                                   finetune_steps=args.finetune_steps, progress=progress,
                                   soft_start=args.soft_start, anneal_settings=annealing,
                                   finetune_algorithm=args.finetune_algorithm)  # fmt: skip
        elif args.method == "rl":
            from placer.agent.placing import policy_place

            result = policy_place(design, args.checkpoint, samples=args.samples, seed=args.seed, weights=args.weights,
                                  fd_schedule=SCHEDULES[args.fd](), finetune_steps=args.finetune_steps,
                                  progress=progress, soft_start=args.soft_start, soft_moves=args.soft_moves,
                                  finetune_algorithm=args.finetune_algorithm)  # fmt: skip
        else:
            searching = "polish" if args.method == "analytic" else "annealing"
            return place(design, args.method, seconds=budget, moves=args.moves, seed=args.seed,
                         descent=args.cd, weights=args.weights, fd_schedule=SCHEDULES[args.fd](),
                         progress=functools.partial(progress, searching), soft_start=args.soft_start,
                         soft_stage=SoftStage(args.soft_moves), anneal_settings=annealing)  # fmt: skip
        if args.cd:
            result = with_descent(design, result, weights=args.weights, fd_schedule=SCHEDULES[args.fd]())
        return result
    except (PackingError, NetworkFileError, FileNotFoundError) as error:
        raise CommandError(str(error)) from None


def _write_placed(out: Path, design: Design, result: PlaceResult, args: argparse.Namespace) -> dict[str, object]:
    """Write ``placement.plc``, ``layout.png`` and ``cost.json`` into ``out`` as a set; returns the summary."""
    if args.budget is not None:
        result = dataclasses.replace(result, budget_s=args.budget)  # the user's budget, not what was left of it
    report = result.report
    summary = {"design": design.netlist.name, **result.as_dict()}
    text = to_json(summary, indent=1)  # checked before anything is written
    from placer import plot  # matplotlib only when a picture is written

    title = (f"{design.netlist.name}: {result.method}, proxy cost {report.proxy_cost:.4f}\n"
             f"wirelength {report.wirelength_cost:.4f}, density {report.density_cost:.4f}, "
             f"congestion {report.congestion_cost:.4f}")  # fmt: skip
    picture = plot.layout(design.netlist, design.floorplan, result.placement, title=title)
    with atomic_folder(out) as folder:  # the three files are replaced as a set
        placed = dataclasses.replace(design, placement=result.placement)
        netlists.write_plc(placed, folder / "placement.plc", costs=report.header_costs())
        plot.save_figure(picture, folder / "layout.png")
        (folder / "cost.json").write_text(text + "\n")
    return summary


def _place_task(args: argparse.Namespace, design: Design) -> PlaceResult | str:
    """One design of a batch, where it runs (a Ray task or this process): its result, or its one-line error."""
    started = time.perf_counter()
    try:
        return _placed(args, design, started)
    except CommandError as error:
        return str(error)


def _place_many(args: argparse.Namespace, out: Path) -> int:
    """Several designs (or one with ``--ray``): each into ``OUT/<design name>/``, one after another or as Ray tasks."""
    if args.plc is not None and args.plc.lower() != "none" and len(args.design) > 1:
        raise CommandError("--plc names one design's placement file: give several designs without it (each "
                           "finds its own)")  # fmt: skip
    designs = [_load(args, source) for source in args.design]
    names = [design.netlist.name for design in designs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise CommandError(f"two designs are named {twice[0]}: each goes to OUT/<design name>/")
    for name in names:
        _check_output(str(out / name), folder=True)
    tasks = [(args, design) for design in designs]
    if args.ray is not None:
        from placer.agent.distributed import as_tasks, ray_available

        if not ray_available():
            raise CommandError('--ray needs Ray: pip install -e ".[ray]"')
        finished = as_tasks(_place_task, tasks, args.ray)
    else:
        finished = ((k, _place_task(*task)) for k, task in enumerate(tasks))
    summaries: list[dict[str, object] | None] = [None] * len(designs)
    failed = 0
    for k, result in finished:
        if isinstance(result, str):
            failed += 1
            print(f"placer: error: {names[k]}: {result}", file=sys.stderr, flush=True)
            continue
        summaries[k] = _write_placed(out / names[k], designs[k], result, args)
        if not (args.json or args.quiet):
            print(f"{names[k]}: {result.method}, proxy cost {result.report.proxy_cost:.6f} in "
                  f"{result.runtime_s:.1f} s, wrote {out / names[k]}", file=sys.stderr, flush=True)  # fmt: skip
    done = [summary for summary in summaries if summary is not None]
    if args.json:
        print(to_json(done))
    else:
        print("| design | method | proxy cost | wirelength | density | congestion | seconds |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for summary in done:
            print(f"| {summary['design']} | {summary['method']} | {summary['proxy_cost']:.6f} | "
                  f"{summary['wirelength_cost']:.6f} | {summary['density_cost']:.6f} | "
                  f"{summary['congestion_cost']:.6f} | {summary['runtime_s']:.1f} |")  # fmt: skip
    return 2 if failed else 0


def _plot(args: argparse.Namespace) -> int:
    from placer import plot  # matplotlib only for this command

    _check_output(args.output)
    design = _load(args)
    nl, fp = design.netlist, design.floorplan
    name = f"{nl.name} ({Path(design.plc_source).name if design.plc_source else 'netlist locations'})"
    if args.what == "layout":
        figure = plot.layout(nl, fp, design.placement, title=name, names=args.names, flylines=args.flylines)
    else:
        if nl.count(NodeKind.STD_CELL):
            raise CommandError(f"{design.source}: density and congestion maps are for clustered netlists")
        report = CostModel(nl, fp).evaluate(design.placement)
        figure = plot.density_map(report, fp) if args.what == "density" else plot.congestion_maps(report, fp)
    plot.save_figure(figure, args.output)
    if args.json:
        print(to_json({"design": nl.name, "plc_file": design.plc_source or None, "what": args.what,
                       "output": args.output}))  # fmt: skip
        return 0
    print(f"wrote {args.output}")
    return 0


def _weights_arg(value: str) -> CostWeights:
    """``W,D,C``: weights of wirelength, density and congestion."""
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != 3 or not all(math.isfinite(n) and n >= 0 for n in numbers):
        raise argparse.ArgumentTypeError(f"expected three non-negative numbers like 1,0.5,0.5, got {value!r}")
    return CostWeights(*numbers)


def _plc_arg(value: str | None) -> str | None:
    """``--plc none`` loads no placement; no ``--plc`` means the design's own."""
    if value is None:
        return netlists.DEFAULT
    return None if value.lower() == "none" else value


def _load(args: argparse.Namespace, source: str | None = None, choose: bool = True) -> netlists.Design:
    """The design the command names, with its ``--plc``, ``--netlist-positions`` and ``--grid``.

    When no file states the grid, it is chosen for the design (``choose``) or left at Circuit
    Training's default, as its evaluator scores such a design; a note on stderr says which.
    """
    return _load_gridded(args, source, choose)[0]


def _load_gridded(
    args: argparse.Namespace, source: str | None = None, choose: bool = True
) -> tuple[netlists.Design, GridChoice | None]:
    """:func:`_load`'s design and the grid choice made for it (``None`` when none was made)."""
    design = netlists.load(source or args.design, plc=_plc_arg(args.plc), netlist_positions=args.netlist_positions)
    if args.grid is None and not design.grid_stated and not choose:
        fp = design.floorplan
        print(f"placer: {design.source} has no .plc giving a grid; scored on the default {fp.cols} x {fp.rows} "
              "(--grid to set one)", file=sys.stderr)  # fmt: skip
        return design, None
    if args.grid is not None:
        cols, rows = args.grid
        try:
            floorplan = dataclasses.replace(design.floorplan, cols=cols, rows=rows)
        except ValueError as error:
            raise CommandError(f"--grid: {error}") from None
        return dataclasses.replace(design, floorplan=floorplan, grid_stated=True), None
    try:
        design, choice = gridded(design)
    except ValueError as error:
        raise CommandError(f"{design.source}: {error} (--grid COLSxROWS)") from None
    if choice is not None:
        named = Path(source or args.design)  # a file: its .plc beside it was looked for (a folder has its own names)
        looked = f" (looked for {netlists.plc_beside(named)})" if named.is_file() and args.plc is None else ""
        print(
            f"placer: {design.source} has no .plc giving a grid{looked}; "
            f"chose {choice.cols} x {choice.rows} in {choice.seconds:.1f} s (--grid to set one)",
            file=sys.stderr,
        )
    return design, choice


def grid_size(text: str) -> tuple[int, int]:
    """An argparse type: ``COLSxROWS``, two whole numbers >= 1."""
    cols, sep, rows = text.lower().partition("x")
    if not sep or not cols.strip().isdigit() or not rows.strip().isdigit() or min(int(cols), int(rows)) < 1:
        raise argparse.ArgumentTypeError(f"expected COLSxROWS with whole numbers >= 1 (e.g. 24x21), got {text!r}")
    return int(cols), int(rows)


def _add_plc_options(command: argparse.ArgumentParser, help_text: str) -> None:
    command.add_argument("--plc", help=help_text)
    command.add_argument(
        "--grid",
        type=grid_size,
        metavar="COLSxROWS",
        help="placement grid (default: the .plc's; with no .plc, chosen for the design's macros)",
    )
    command.add_argument(
        "--netlist-positions",
        action="store_true",
        help="macros and ports that the .plc leaves out keep the netlist file's positions "
        "(default: such a .plc is refused)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``placer``."""
    parser = OneLineParser(prog="placer", description="Chip macro placement toolkit.")
    parser.add_argument("--version", action="version", version=f"placer {placer.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bundled = ", ".join(netlists.bundled_designs())
    info = commands.add_parser(
        "info",
        help="print a design's counts and floorplan",
        description=f"Print counts and floorplan of a design. DESIGN is a .pb.txt[.gz], a Bookshelf .aux, "
        f"a folder holding one, or a bundled design: {bundled}.",
    )
    evaluate = commands.add_parser(
        "eval",
        help="print a placement's proxy cost",
        description="Print the proxy cost of a design's placement (Circuit Training's wirelength, density and "
        "congestion costs) with the canvas, grid and routing model of its .plc header.",
    )
    for command in (info, evaluate):
        command.add_argument("design", metavar="DESIGN")
        _add_plc_options(
            command,
            "placement file, or the stem of one in the design's folder (e.g. initial); "
            "'none' for none (default: the folder's legalized.plc, else initial.plc)",
        )
        command.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--weights",
        type=_weights_arg,
        default=CostWeights(),
        metavar="W,D,C",
        help="weights of wirelength, density and congestion cost (default: 1,0.5,0.5)",
    )
    evaluate.add_argument("--smoothing", type=whole(0), help="congestion smoothing range (default: the .plc header's)")
    evaluate.add_argument(
        "--congestion-grid",
        choices=("plc", "legacy", "separate"),
        default="plc",
        help="congestion on the placement grid (legacy), on Circuit Training's separate ~13.8 um grid, "
        "or as the .plc says (default)",
    )
    cluster = commands.add_parser(
        "cluster",
        help="group the std cells of a flat netlist into soft macros",
        description="Cluster the std cells of a flat netlist into soft macros Grp_k (Circuit Training's form); "
        "writes the clustered netlist and, beside it, a .plc with the floorplan and locations.",
    )
    cluster.add_argument("netlist", metavar="FLAT_NETLIST")
    cluster.add_argument("-o", "--output", required=True, metavar="CLUSTERED.pb.txt.gz")
    _add_plc_options(cluster, "placement / floorplan to apply to the flat netlist first")
    cluster.add_argument(
        "--clusters", type=whole(0), default=0, help="clusters to make (default: cells / 110, 200-1000)"
    )
    cluster.add_argument(
        "--balance", type=finite(1.0), default=3.0, help="largest cluster area over the mean (default 3)"
    )
    cluster.add_argument(
        "--bloat", type=finite(0.0, closed=False), default=2.0, help="soft macro area over its cells' area (default 2)"
    )
    cluster.add_argument("--no-coordinates", action="store_true", help="ignore cell locations in the netlist")
    cluster.add_argument("--json", action="store_true", help="print one JSON object")
    cluster.add_argument("--seed", type=whole(0), default=0, help="seed of the partitioner")
    fd = commands.add_parser(
        "fd",
        help="place std-cell clusters (or the std cells of a flat netlist) around fixed macros",
        description="Place the movable soft macros by force-directed placement with Circuit Training's schedule "
        "(--engine fd, default), with Circuit Training's attraction stage followed by electrostatic spreading "
        "(--engine fd-electrostatic), or by analytic placement (--engine analytic); a flat netlist's std cells "
        "are always placed analytically. Hard macros and ports stay where the .plc puts them.",
    )
    fd.add_argument("design", metavar="DESIGN")
    _add_plc_options(fd, "placement file with the hard macros (default: the design's own)")
    fd.add_argument("-o", "--output", required=True, metavar="OUT.plc", help="the placement written")
    fd.add_argument("--engine", choices=(*FD_SCHEDULES, "analytic"), default="fd", help="how to place them")
    fd.add_argument("--seed", type=whole(0), help="jitter the starting points (fd) or seed the spread (analytic)")
    fd.add_argument("--json", action="store_true", help="print one JSON object")
    fd.add_argument("--quiet", action="store_true", help="no progress on stderr")
    placing = commands.add_parser(
        "place",
        help="place a design's macros (the bundled policy, zero-shot, unless --method says otherwise)",
        description="Place the movable hard macros on legal grid cells (random; greedy: the cell with the "
        "smallest wirelength increase; sa: simulated annealing from greedy; analytic: hard and soft macros placed "
        "together analytically, the hard macros legalised, the soft macros placed again, then annealing as a polish "
        "for the rest of --budget; rl: a trained policy, zero-shot or "
        "after fine-tuning on the design for --finetune-steps steps, then the soft macros by force-directed "
        "placement; rl with --budget or --moves: learned annealing, annealing steered by a trained controller, "
        "from the analytic flow's start or, with --start policy, from the policy's placement). Writes "
        "OUTDIR/placement.plc, OUTDIR/layout.png and OUTDIR/cost.json.",
    )
    placing.add_argument("design", metavar="DESIGN", nargs="+",
                         help="one design, or several: each is placed into OUTDIR/<design name>/ and a table of "
                         "their costs is printed")  # fmt: skip
    _add_plc_options(placing, "placement file with the floorplan, fixed macros and ports (default: own)")
    placing.add_argument("--method", choices=(*METHODS, "rl"), default="rl", help="default: rl, zero-shot")
    placing.add_argument(
        "--checkpoint",
        type=saved_policy,
        help="policy for --method rl: a .zip saved by train.py, or an .onnx exported by train.py export (played "
        "on ONNX Runtime); default: the bundled pretrained one",
    )
    placing.add_argument(
        "--runtime",
        choices=("torch", *ONNX_RUNTIMES),
        help="rl: where the policy's network runs (default: onnx for the bundled policy's zero-shot placement, int8 "
        "there on grids of 64 x 64 or more, onnx for an .onnx checkpoint, torch for a .zip or with --finetune-steps); "
        "torch without --checkpoint plays the "
        "bundled .zip, int8 the bundled network quantized (an .onnx checkpoint runs as it was exported)",
    )
    placing.add_argument("--samples", type=whole(1), default=8, help="rl: episodes to play, the best kept (default 8)")
    placing.add_argument("--finetune-steps", type=whole(0), default=0, help="rl: fine-tune on the design first")
    placing.add_argument("--finetune-algorithm", choices=("ppo", "self-imitation"),  # training's, without torch
                         help="rl with --finetune-steps: ppo (the default) or self-imitation (fit the policy to the "
                         "best episode it has found, round after round)")  # fmt: skip
    placing.add_argument("--budget", type=finite(0.0, closed=False), metavar="SECONDS",
                         help="sa, analytic: wall-clock budget (default 60); rl: learned annealing's "
                         "budget, its start included")  # fmt: skip
    placing.add_argument(
        "--moves", type=whole(1), help="annealing budget in moves (sa, rl; analytic's polish; repeatable with --seed)"
    )
    placing.add_argument("--controller", type=saved_model,
                         help="rl: annealing controller (default: the bundled one of the start; "
                         "train.py anneal)")  # fmt: skip
    placing.add_argument("--start", choices=STARTS,
                         help="rl with --budget or --moves: where learned annealing starts (default: analytic, the "
                         "analytic flow's placement before its polish; policy: the policy's placement)")  # fmt: skip
    placing.add_argument("--pull", type=share, metavar="SHARE",
                         help="sa, analytic, rl with --budget or --moves: share of annealing's soft-macro moves that "
                         "pull the macro to its least-wirelength point within the nudge range instead of a random "
                         "nudge (default 0.5; 0: random nudges only)")  # fmt: skip
    placing.add_argument("--seed", type=whole(0), default=0, help="seed of every random choice")
    placing.add_argument(
        "--threads",
        type=whole(1),
        help="rl: threads of the policy's network (default: 1 on grids under 64 x 64; on larger ones the cores "
        "other processes leave free, less one for the environments' worker thread)",
    )
    placing.add_argument("--cd", action="store_true", help="run coordinate descent afterwards")
    placing.add_argument("--fd", choices=tuple(SCHEDULES), default="electrostatic", help="soft-macro FD schedule")
    placing.add_argument("--soft-moves", type=whole(0), metavar="N",
                         help="random, greedy, rl zero-shot: the soft-macro stage's nudges on the exact cost after FD "
                         f"(default {SOFT_MOVES:,}; 0: FD alone); annealing and the analytic flow move the soft "
                         "macros themselves")  # fmt: skip
    placing.add_argument("--soft-start", choices=SOFT_STARTS, default="fd",
                         help="where soft macros start before the hard macros are placed: fd (the default: placed by "
                         "FD, the file's soft-macro positions unread) or file (where the .plc puts them)")  # fmt: skip
    placing.add_argument("--weights", type=_weights_arg, default=CostWeights(), metavar="W,D,C",
                         help="weights of wirelength, density and congestion cost (default: 1,0.5,0.5)")  # fmt: skip
    placing.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",  # distributed.LOCAL: it loads torch
                         help="place each design as a Ray task, one CPU each: on the cluster at ADDRESS (ray start "
                         "--head prints it) or with no ADDRESS on a Ray started here; needs the ray extra; --budget "
                         "is then each design's")  # fmt: skip
    placing.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="folder for the three files")
    placing.add_argument("--json", action="store_true", help="print one JSON object")
    placing.add_argument("--quiet", action="store_true", help="no progress on stderr")
    plotting = commands.add_parser(
        "plot",
        help="draw a placement: layout, density or congestion",
        description="Draw a design's placement as a layout in microns (hard macros with orientation marks, soft "
        "macros and std cells shaded by area, ports, blockages), or its density or congestion maps. The file "
        "type follows the suffix (.png or .svg).",
    )
    plotting.add_argument("design", metavar="DESIGN")
    _add_plc_options(plotting, "placement file (default: the design's own)")
    plotting.add_argument("-o", "--output", required=True, metavar="FILE", help="the figure (.png or .svg)")
    plotting.add_argument("--what", choices=("layout", "density", "congestion"), default="layout", help="what to draw")
    plotting.add_argument("--names", action="store_true", help="write macro names")
    plotting.add_argument("--flylines", type=whole(0), default=0, metavar="N", help="draw the N heaviest nets")
    plotting.add_argument("--json", action="store_true", help="print one JSON object")
    plotting.set_defaults(run=_plot)
    info.set_defaults(run=_info)
    placing.set_defaults(run=_place)
    evaluate.set_defaults(run=_eval)
    cluster.set_defaults(run=_cluster)
    fd.set_defaults(run=_fd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``placer``; returns the exit status. Bad input prints one line and returns 2."""
    args = build_parser().parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()  # only there can signals be caught
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main else None  # a kill cleans up as Ctrl-C
    try:
        return args.run(args)
    except (NetlistFormatError, CommandError) as error:
        print(f"placer: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("placer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `placer info X | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:  # the system refused a file (a name too long, a full disk): one line too
        name = str(error.filename or "")
        shown = f"{name[:80]}...: " if len(name) > 80 else f"{name}: " if name else ""
        print(f"placer: error: {shown}{error.strerror or error}", file=sys.stderr)
        return 2
    finally:
        if in_main and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
