"""The ``train.py`` command line: ``pretrain`` across designs, ``finetune`` on each of some.

    python train.py pretrain --designs ariane133 synthetic:0-63 --timesteps 200000 --out runs/pre
    python train.py finetune --from runs/pre/final.zip --design ariane133 --timesteps 20000 --out runs/ft
    python train.py finetune --from ... --design ariane133 mydesign.pb.txt --out runs/ft [--ray [ADDRESS]]
    python train.py finetune ... --timesteps 1000000 --minutes 30     # a wall-clock budget
    python train.py pretrain ... --out runs/pre --resume      # continue from the newest checkpoint
    python train.py imitate --designs synthetic:0-239 --anneal-seconds 4 --epochs 12 --out runs/bc
    python train.py pretrain --from runs/bc/final.zip --designs synthetic:0-239 ...   # PPO from the clone
    python train.py anneal --designs synthetic:0-59 --timesteps 40000 --minutes 30 --out runs/anneal
    python train.py export runs/pre/final.zip -o policy.onnx     # the policy's network for ONNX Runtime
    python train.py export runs/pre/final.zip -o policy.int8.onnx --int8   # quantized, calibrated on its episodes

``imitate`` clones demonstrations (the better of greedy and annealing per design, replayed
in the env; see :mod:`placer.agent.imitation`) into ``RUN_DIR/final.zip``; the
demonstrations are kept in ``RUN_DIR/demos`` and both stages resume.

``finetune`` with several designs fine-tunes each from the same checkpoint into
``RUN_DIR/<design name>/``: one after another, or with ``--ray`` each as a Ray task holding
``--envs`` CPUs (its environments in processes of the node that runs it; on a cluster,
``RUN_DIR`` must be on storage every node sees). A design that fails prints its one line and
the others go on (exit status 2).

``anneal`` trains the controller of learned annealing (:mod:`placer.agent.annealing`): a PPO
policy that sets annealing's move mix, temperature and ranges block by block.

``export`` writes a policy's network as ONNX (:mod:`placer.agent.runtime`), which
``placer place --checkpoint policy.onnx`` plays on ONNX Runtime; with ``--int8`` quantized
(:mod:`placer.agent.quantize`), calibrated on the policy's own episodes on ``--calibrate``'s designs.

``synthetic:A-B`` stands for the generated designs of seeds A to B (``netlists.synthetic``),
drawn with grids up to ``--max-grid`` unless the name states a cap (``synthetic:A-B@G``).
A run folder gets ``run.json``, ``checkpoints/``, ``tb/`` (``tensorboard --logdir RUN/tb``)
and ``final.zip``. Training uses CUDA when present and the CPU otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch as th

from envs.anneal_env import STARTS as ANNEAL_STARTS
from envs.placement_env import REWARDS, load_design
from netlists import Design, synthetic
from netlists.loader import DEFAULT
from placer.agent.annealing import ControllerSettings, train_controller
from placer.agent.distributed import LOCAL, as_tasks, ray_available
from placer.agent.imitation import clone, collect
from placer.agent.quantize import CALIBRATION_DESIGNS, calibration_windows, quantize_network
from placer.agent.runtime import SUFFIX, export_onnx
from placer.agent.self_imitation import (
    FINETUNE_TEMPERATURE,
    SELF_IMITATION_DEFAULTS,
    SelfImitationSettings,
    self_imitate,
)
from placer.agent.training import FINETUNE_ALGORITHMS, FINETUNE_DEFAULTS, TrainSettings, train, write_record
from placer.arguments import OneLineParser, finite, saved_model, whole
from placer.baselines.soft_stage import SOFT_MOVES
from placer.fd import SCHEDULES
from placer.sequential import SOFT_STARTS

POSITIVE = finite(0, closed=False)
CORES = os.cpu_count() or 1
IMITATE_LR, IMITATE_BATCH = 1e-3, 128  # cloning is supervised: a larger step and smaller batches than PPO's


def expand(designs: Sequence[str], max_grid: int | None = None) -> list[str]:
    """Design arguments with ``synthetic:A-B`` (and ``synthetic:A-B@G``) ranges spelled out.

    With ``max_grid`` (the maps' side), a generated design that states no grid cap gets that
    one (``synthetic:N`` becomes ``synthetic:N@G``), so the names recorded say which designs
    were used.

    Raises:
        ValueError: A generated design's name is malformed (the message names it).
    """
    out = []
    for design in designs:
        names = [design]
        if synthetic.is_name(design) and "-" in design:
            seeds, at, cap = design.removeprefix(synthetic.PREFIX).partition(synthetic.CAP)
            low, high = (int(v) for v in seeds.split("-"))
            names = [f"{synthetic.PREFIX}{seed}{at}{cap}" for seed in range(low, high + 1)]
        for name in names:
            if synthetic.is_name(name):
                try:
                    synthetic.parse(name)
                except ValueError as error:
                    raise ValueError(f"design {name}: {error}") from None
            out.append(synthetic.capped(name, max_grid) if max_grid else name)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``train.py``."""
    parser = OneLineParser(prog="train.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pretrain = commands.add_parser("pretrain", help="train a policy across many designs")
    pretrain.add_argument("--designs", nargs="+", required=True, help="names, paths, synthetic:N or synthetic:A-B")
    pretrain.add_argument(
        "--from", dest="start_from", type=saved_model, metavar="CHECKPOINT", help="start from these weights"
    )
    pretrain.add_argument("--algorithm", choices=FINETUNE_ALGORITHMS, default="ppo",
                          help="ppo (the default), or self-imitation (needs --from): a round per design in turn, "
                          "--samples episodes, the policy fitted to that design's best episode so far")  # fmt: skip
    finetune = commands.add_parser("finetune", help="continue training a policy on a design (each of several)")
    finetune.add_argument("--from", dest="start_from", type=saved_model, required=True, metavar="CHECKPOINT")
    finetune.add_argument("--design", nargs="+", required=True,
                          help="name, path or synthetic:N; several: each into RUN_DIR/<design name>/")  # fmt: skip
    finetune.add_argument("--plc", help="placement file giving the design's floorplan (default: its own; one design)")
    finetune.add_argument("--algorithm", choices=FINETUNE_ALGORITHMS, default="ppo",
                          help="ppo (the default), or self-imitation: play --samples episodes a round, fit the policy "
                          "to the best episode found so far")  # fmt: skip
    imitate = commands.add_parser("imitate", help="clone greedy / annealing demonstrations into a policy")
    imitate.add_argument("--designs", nargs="+", required=True, help="names, paths, synthetic:N or synthetic:A-B")
    imitate.add_argument("--anneal-seconds", type=POSITIVE, default=4.0, help="annealing budget per design")
    imitate.add_argument("--epochs", type=whole(1), default=12, help="passes over the demonstrations")
    defaults = TrainSettings()
    for command in (pretrain, finetune):
        command.add_argument("--samples", type=whole(1), default=SelfImitationSettings().samples,
                             help="self-imitation: episodes per round")  # fmt: skip
    for command in (pretrain, finetune, imitate):
        command.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder")
        command.add_argument("--resume", action="store_true", help="continue from RUN_DIR's newest checkpoint")
        command.add_argument(
            "--envs",
            type=whole(1),
            default=min(defaults.n_envs, CORES),
            help=f"parallel environments (processes; default: the cores, at most {defaults.n_envs})",
        )
        command.add_argument("--max-grid", type=whole(8), default=defaults.max_grid, help="map side (multiple of 8)")
        command.add_argument("--reward", choices=REWARDS,
                             help=f"default {defaults.reward}; finetune: {FINETUNE_DEFAULTS['reward']}")  # fmt: skip
        command.add_argument(
            "--fd",
            choices=tuple(SCHEDULES),
            default=defaults.fd_schedule,
            help="soft-macro FD schedule",
        )
        command.add_argument("--soft-start", choices=SOFT_STARTS, default=defaults.soft_start,
                             help="where soft macros start each episode: FD's alone (the default: no reference "
                             "answer in the observations), or the placement file's positions")  # fmt: skip
        command.add_argument("--soft-moves", type=whole(0), metavar="N",
                             help="the soft-macro stage at the end of each episode: N soft-macro nudges on the exact "
                             f"cost after FD (default 0: FD alone; finetune --algorithm self-imitation: "
                             f"{SELF_IMITATION_DEFAULTS['soft_moves']:,})")  # fmt: skip
        command.add_argument("--lr", type=POSITIVE, help=f"Adam step size (default {defaults.learning_rate:g}; "
                             f"finetune: {FINETUNE_DEFAULTS['learning_rate']:g}; imitate: {IMITATE_LR:g})")  # fmt: skip
        command.add_argument("--batch-size", type=whole(1), help=f"minibatch (default {defaults.batch_size}; "
                             f"imitate: {IMITATE_BATCH})")  # fmt: skip
        command.add_argument(
            "--seed", type=whole(0), default=defaults.seed, help="seed of the networks and environments"
        )
        command.add_argument("--device", default=defaults.device, help="auto (CUDA when present), cpu or cuda")
        command.add_argument("--no-progress", action="store_true", help="no progress bar")
        command.add_argument("--json", action="store_true", help="print one JSON object at the end (no progress)")
    for command in (pretrain, finetune):
        command.add_argument("--timesteps", type=whole(1), required=True, help="environment steps in all")
        command.add_argument("--minutes", type=finite(0), help="stop training after this long, if sooner")
        command.add_argument("--ent-coef", type=finite(0), help=f"entropy bonus (default {defaults.ent_coef:g}; "
                             f"finetune: {FINETUNE_DEFAULTS['ent_coef']:g})")  # fmt: skip
        command.add_argument("--n-steps", type=whole(1), default=defaults.n_steps, help="steps per env per update")
        command.add_argument("--epochs", type=whole(1), default=defaults.n_epochs, help="passes over each rollout")
        command.add_argument("--checkpoint-every", type=whole(1), default=defaults.checkpoint_every, help="steps")
        command.add_argument("--value-warmup", type=whole(0), default=defaults.value_warmup, metavar="STEPS",
                             help="ppo: fit the critic alone (actor frozen) for the first STEPS steps")  # fmt: skip
        _add_ray_option(command)
    control = ControllerSettings()
    steer = commands.add_parser("anneal", help="train the controller of learned annealing across designs")
    steer.add_argument("--designs", nargs="+", required=True, help="names, paths, synthetic:N or synthetic:A-B")
    steer.add_argument("--out", required=True, metavar="RUN_DIR", help="the run folder")
    steer.add_argument("--timesteps", type=whole(1), required=True, help="blocks of annealing in all")
    steer.add_argument("--minutes", type=finite(0), help="stop training after this long, if sooner")
    steer.add_argument("--from", dest="start_from", type=saved_model, metavar="CONTROLLER",
                       help="start from this controller's weights (a run of train.py anneal)")  # fmt: skip
    steer.add_argument("--resume", action="store_true", help="continue from RUN_DIR's newest checkpoint")
    steer.add_argument(
        "--envs",
        type=whole(1),
        default=min(control.n_envs, CORES),
        help=f"parallel environments (processes; default: the cores, at most {control.n_envs})",
    )
    steer.add_argument("--moves-per-node", type=POSITIVE, nargs=2, default=control.moves_per_node,
                       metavar=("LOW", "HIGH"), help="range of a training run's moves per movable macro")  # fmt: skip
    steer.add_argument("--max-moves", type=whole(1), default=control.max_moves, help="cap on a training run's moves")
    steer.add_argument("--start", choices=ANNEAL_STARTS, default=control.start,
                       help="where training runs start: greedy, or the analytic flow's polish (what placer place "
                       "--method rl --budget plays)")  # fmt: skip
    steer.add_argument("--lr", type=POSITIVE, default=control.learning_rate, help="Adam step size")
    steer.add_argument("--n-steps", type=whole(1), default=control.n_steps, help="blocks per env per update")
    steer.add_argument("--checkpoint-every", type=whole(1), default=control.checkpoint_every, help="blocks")
    steer.add_argument("--seed", type=whole(0), default=control.seed, help="seed of the network and environments")
    steer.add_argument("--device", default=control.device, help="auto (CUDA when present), cpu or cuda")
    _add_ray_option(steer)
    steer.add_argument("--no-progress", action="store_true", help="no progress bar")
    steer.add_argument("--json", action="store_true", help="print one JSON object at the end (no progress)")
    export = commands.add_parser("export", help="write a policy's network as ONNX, for placer place on ONNX Runtime")
    export.add_argument("checkpoint", type=saved_model, metavar="CHECKPOINT", help="a policy saved by train.py")
    export.add_argument("-o", "--output", required=True, metavar="OUT.onnx", help="the ONNX file written")
    export.add_argument("--int8", action="store_true",
                        help="quantize to int8 (about 1.7x faster on one CPU thread), calibrated on the policy's "
                        "own episodes")  # fmt: skip
    export.add_argument("--calibrate", nargs="+", default=list(CALIBRATION_DESIGNS), metavar="DESIGN",
                        help="with --int8: the designs whose episodes calibrate the activations' ranges (default: "
                        "%(default)s)")  # fmt: skip
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(no_progress=True, out=None, device="cpu")
    return parser


def _add_ray_option(command: argparse.ArgumentParser) -> None:
    command.add_argument("--ray", nargs="?", const=LOCAL, metavar="ADDRESS",
                         help="collect rollouts on Ray actors (finetune with several designs: each fine-tune a Ray "
                         "task): on the cluster at ADDRESS (ray start --head prints it), or with no ADDRESS on a Ray "
                         "started here; needs the ray extra")  # fmt: skip


def _ray(args: argparse.Namespace) -> str | None:
    """``--ray``'s address, once Ray is known to be there."""
    if args.ray is not None and not ray_available():
        raise ValueError('--ray needs Ray: pip install -e ".[ray]"')
    return args.ray


def _export(args: argparse.Namespace) -> Path:
    if Path(args.output).suffix != SUFFIX:
        raise ValueError(f"-o {args.output}: an exported network is written as {SUFFIX}")
    if not args.int8:
        return export_onnx(args.checkpoint, args.output)
    designs = [load_design(name) for name in expand(args.calibrate)]  # refused before anything is written
    with tempfile.TemporaryDirectory() as work:
        network = export_onnx(args.checkpoint, Path(work) / f"float{SUFFIX}")
        return quantize_network(network, args.output, calibration_windows(network, designs))


def _anneal(args: argparse.Namespace) -> Path:
    settings = ControllerSettings(n_envs=args.envs, moves_per_node=tuple(args.moves_per_node), max_moves=args.max_moves,
                                  start=args.start, learning_rate=args.lr, n_steps=args.n_steps,
                                  checkpoint_every=args.checkpoint_every, seed=args.seed, device=args.device,
                                  ray=_ray(args))  # fmt: skip
    return train_controller(expand(args.designs), args.timesteps, args.out, settings, start_from=args.start_from,
                            resume=args.resume,
                            progress_bar=not args.no_progress,
                            seconds=None if args.minutes is None else 60 * args.minutes)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``train.py``; returns the exit status: 2 for bad input (one line), 130 when interrupted."""
    args = build_parser().parse_args(argv)
    args.no_progress = args.no_progress or args.json  # stdout carries the one JSON object
    try:
        if args.command == "finetune" and len(args.design) > 1:
            return _finetune_each(args)
        final = _run(args)
    except (ValueError, OSError) as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = "" if args.out is None else f"; continue with --resume (the newest checkpoint in {args.out})"
        print(f"train.py: interrupted{hint}", file=sys.stderr)
        return 130
    if args.json:  # what the run folder's run.json records, and the model written
        record = {} if args.out is None else json.loads((Path(args.out) / "run.json").read_text())
        print(json.dumps({"final": str(final), **record}, allow_nan=False))
        return 0
    print(f"wrote {final}")
    return 0


def _run(args: argparse.Namespace) -> Path:
    if args.device.startswith("cuda") and not th.cuda.is_available():
        raise ValueError(f"--device {args.device}: this machine has no CUDA device (auto or cpu runs here)")
    if args.command == "export":
        return _export(args)
    if args.command == "anneal":
        th.set_num_threads(1)  # a small MLP: one thread per process, the cores go to the annealing workers
        return _anneal(args)
    imitating = args.command == "imitate"
    settings = _train_settings(args)
    if imitating:
        return _imitate(args, settings)
    settings = dataclasses.replace(settings, ray=_ray(args))
    if args.command == "pretrain":
        designs = expand(args.designs, settings.max_grid)
        if args.algorithm == "self-imitation":
            return _self_imitate(designs, args.out, settings, args, quiet=args.no_progress)
    else:  # the design as loaded here, with --plc's floorplan, travels to the workers
        design = load_design(synthetic.capped(args.design[0], settings.max_grid), args.plc or DEFAULT)
        return _finetune(design, args.out, settings, args, quiet=args.no_progress)
    return train(designs, args.timesteps, args.out, settings, start_from=args.start_from, resume=args.resume,
                 progress_bar=not args.no_progress,
                 seconds=None if args.minutes is None else 60 * args.minutes,
                 log=None if args.no_progress else _to_stderr)  # fmt: skip


def _finetune(design: Design, run: str, settings: TrainSettings, args: argparse.Namespace, quiet: bool) -> Path:
    """One design fine-tuned into ``run`` by ``--algorithm``; returns the model written."""
    seconds = None if args.minutes is None else 60 * args.minutes
    log = None if quiet else _to_stderr
    if args.algorithm == "self-imitation":
        return _self_imitate([design], run, settings, args, quiet)
    return train([design], args.timesteps, run, settings, start_from=args.start_from, resume=args.resume,
                 progress_bar=not quiet, seconds=seconds, log=log)  # fmt: skip


def _self_imitate(designs: list, run: str, settings: TrainSettings, args: argparse.Namespace, quiet: bool) -> Path:
    """``--algorithm self-imitation`` on ``designs`` (one: fine-tuning) into ``run``; returns the model written."""
    if args.start_from is None:
        raise ValueError("--algorithm self-imitation needs --from: it improves a policy by its own best episodes")
    seconds = None if args.minutes is None else 60 * args.minutes
    # One design: fine-tuning, its episodes kept as placer place will finish the policy's best
    # and sampled hotter; several: pretraining, as measured (the environment's stage, temperature 1).
    tuning = len(designs) == 1
    imitation = SelfImitationSettings(samples=args.samples, finish_moves=SOFT_MOVES if tuning else 0,
                                      temperature=FINETUNE_TEMPERATURE if tuning else 1.0)  # fmt: skip
    log = None if quiet else _to_stderr
    return self_imitate(designs, args.start_from, run, settings, steps=args.timesteps, seconds=seconds,
                        imitation=imitation, resume=args.resume, log=log).checkpoint  # fmt: skip


def _train_settings(args: argparse.Namespace) -> TrainSettings:
    """The settings ``pretrain``, ``finetune`` and ``imitate`` train with (Ray's address not set)."""
    imitating = args.command == "imitate"
    defaults = TrainSettings()
    if getattr(args, "algorithm", None) == "self-imitation":
        defaults = TrainSettings(**SELF_IMITATION_DEFAULTS)
    elif args.command == "finetune":
        defaults = TrainSettings(**FINETUNE_DEFAULTS)
    return TrainSettings(
        n_envs=args.envs, max_grid=args.max_grid, reward=_given(args.reward, defaults.reward), fd_schedule=args.fd,
        soft_start=args.soft_start,
        soft_moves=_given(args.soft_moves, defaults.soft_moves),
        seed=args.seed,
        device=args.device,
        learning_rate=_given(args.lr, IMITATE_LR if imitating else defaults.learning_rate),
        batch_size=_given(args.batch_size, IMITATE_BATCH if imitating else defaults.batch_size),
        **({} if imitating else dict(ent_coef=_given(args.ent_coef, defaults.ent_coef), n_steps=args.n_steps,
                                     n_epochs=args.epochs, checkpoint_every=args.checkpoint_every,
                                     value_warmup=args.value_warmup)),
    )  # fmt: skip


def finetune_task(design: Design, run: str, settings: TrainSettings, args: argparse.Namespace) -> dict | str:
    """One design of ``train.py finetune``'s several, where it runs (a Ray task or this process).

    Returns the run's ``run.json`` record with ``final`` (the model written), or the design's
    one-line error.
    """
    try:
        final = _finetune(design, run, settings, args, quiet=True)
    except (ValueError, OSError) as error:
        return str(error)
    return {"final": str(final), **json.loads((Path(run) / "run.json").read_text())}


def _finetune_each(args: argparse.Namespace) -> int:
    """``finetune`` with several designs: each into ``RUN_DIR/<design name>/``, in turn or as Ray tasks."""
    if args.plc is not None:
        raise ValueError("--plc names one design's placement file: give several designs without it (each finds "
                         "its own)")  # fmt: skip
    address = _ray(args)
    settings = _train_settings(args)  # each fine-tune's environments are processes where it runs
    designs = [load_design(synthetic.capped(name, settings.max_grid)) for name in args.design]
    names = [design.netlist.name for design in designs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"two designs are named {twice[0]}: each goes to RUN_DIR/<design name>/")
    calls = [(design, str(Path(args.out) / name), settings, args) for design, name in zip(designs, names, strict=True)]
    if address is not None:
        finished = as_tasks(finetune_task, calls, address, cpus=settings.n_envs)
    else:
        finished = ((k, finetune_task(*call)) for k, call in enumerate(calls))
    records: list[dict | None] = [None] * len(calls)
    for k, result in finished:
        if isinstance(result, str):
            print(f"train.py: error: {result}", file=sys.stderr, flush=True)  # it names the design
            continue
        records[k] = result
        if not args.no_progress:
            print(f"{names[k]}: {result['steps']} steps in {result['wall_s']:.1f} s, wrote {result['final']}",
                  file=sys.stderr, flush=True)  # fmt: skip
    done = [record for record in records if record is not None]
    if args.json:
        print(json.dumps(done, allow_nan=False))
    else:
        for record in done:
            print(f"wrote {record['final']}")
    return 2 if len(done) < len(calls) else 0


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _given(value, default):
    return default if value is None else value


def _imitate(args: argparse.Namespace, settings: TrainSettings) -> Path:
    designs = expand(args.designs, settings.max_grid)
    run = Path(args.out)
    quiet = args.no_progress

    def collected(done: int, total: int, design: str, summary: str) -> None:
        if not quiet:
            print(f"demo {done}/{total} {design}: {summary}", flush=True)

    def cloned(epoch: int, nll: float, hits: float) -> None:
        if not quiet:
            print(f"epoch {epoch}/{args.epochs}: nll {nll:.3f}, demonstrated cell most likely {hits:.1%}", flush=True)

    started = time.time()
    run.mkdir(parents=True, exist_ok=True)
    record = {"command": "imitate", "designs": designs, "anneal_seconds": args.anneal_seconds, "epochs": args.epochs,
              "settings": dataclasses.asdict(settings)}  # fmt: skip
    write_record(run, record)
    demos = collect(designs, run / "demos", settings, args.anneal_seconds, workers=settings.n_envs, report=collected)
    final = clone(demos, run, settings, args.epochs, designs=designs, design=designs[0], resume=args.resume,
                  report=cloned)  # fmt: skip
    record["wall_s"] = time.time() - started  # of this invocation (a resumed run counts only its own part)
    write_record(run, record)
    return final
