"""The ``train.py`` command line: ``pretrain`` across designs, ``finetune`` on one.

    python train.py pretrain --designs ariane133 synthetic:0-63 --timesteps 200000 --out runs/pre
    python train.py finetune --from runs/pre/final.zip --design ariane133 --timesteps 20000 --out runs/ft
    python train.py pretrain ... --out runs/pre --resume      # continue from the newest checkpoint

``synthetic:A-B`` stands for the generated designs of seeds A to B (``netlists.synthetic``).
A run folder gets ``run.json``, ``checkpoints/``, ``tb/`` (``tensorboard --logdir RUN/tb``)
and ``final.zip``. Training uses CUDA when present and the CPU otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from placer.agent.training import TrainSettings, train


def expand(designs: Sequence[str]) -> list[str]:
    """Design arguments with ``synthetic:A-B`` ranges spelled out."""
    out = []
    for design in designs:
        if design.startswith("synthetic:") and "-" in design:
            low, high = (int(v) for v in design.removeprefix("synthetic:").split("-"))
            out += [f"synthetic:{seed}" for seed in range(low, high + 1)]
        else:
            out.append(design)
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``train.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    pretrain = commands.add_parser("pretrain", help="train a policy across many designs")
    pretrain.add_argument("--designs", nargs="+", required=True, help="names, paths, synthetic:N or synthetic:A-B")
    finetune = commands.add_parser("finetune", help="continue training a policy on one design")
    finetune.add_argument("--from", dest="start_from", required=True, metavar="CHECKPOINT")
    finetune.add_argument("--design", required=True)
    finetune.add_argument("--plc", help="placement file giving the design's floorplan (default: its own)")
    defaults = TrainSettings()
    for command in (pretrain, finetune):
        command.add_argument("--timesteps", type=int, required=True, help="environment steps in all")
        command.add_argument("--out", required=True, metavar="RUN_DIR")
        command.add_argument("--resume", action="store_true", help="continue from RUN_DIR's newest checkpoint")
        command.add_argument("--envs", type=int, default=defaults.n_envs, help="parallel environments")
        command.add_argument("--max-grid", type=int, default=defaults.max_grid, help="map side (multiple of 8)")
        command.add_argument("--reward", choices=("terminal", "dense"), default=defaults.reward)
        command.add_argument("--fd", choices=("electrostatic", "circuit_training"), default=defaults.fd_schedule)
        command.add_argument("--lr", type=float, default=defaults.learning_rate)
        command.add_argument("--ent-coef", type=float, default=defaults.ent_coef, help="entropy bonus")
        command.add_argument("--n-steps", type=int, default=defaults.n_steps, help="steps per env per update")
        command.add_argument("--batch-size", type=int, default=defaults.batch_size)
        command.add_argument("--epochs", type=int, default=defaults.n_epochs)
        command.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
        command.add_argument("--seed", type=int, default=defaults.seed)
        command.add_argument("--device", default=defaults.device, help="auto, cpu or cuda")
        command.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``train.py``; returns the exit status."""
    args = build_parser().parse_args(argv)
    settings = TrainSettings(
        n_envs=args.envs, max_grid=args.max_grid, reward=args.reward, fd_schedule=args.fd, learning_rate=args.lr,
        ent_coef=args.ent_coef,
        n_steps=args.n_steps, batch_size=args.batch_size, n_epochs=args.epochs,
        checkpoint_every=args.checkpoint_every, seed=args.seed, device=args.device,
    )  # fmt: skip
    if args.command == "pretrain":
        designs, start_from, extra = expand(args.designs), None, {}
    else:
        designs, start_from, extra = [args.design], args.start_from, {"plc": args.plc} if args.plc else {}
    try:
        final = train(designs, args.timesteps, args.out, settings, start_from=start_from, resume=args.resume,
                      progress_bar=not args.no_progress, env_extra=extra)  # fmt: skip
    except (ValueError, FileNotFoundError) as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {final}")
    return 0
