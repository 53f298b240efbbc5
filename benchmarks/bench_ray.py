"""Pretraining steps per second with worker processes (SubprocVecEnv) and with Ray actors, at 1 and 2 workers.

    python benchmarks/bench_ray.py [--designs synthetic:0-7] [--timesteps 2048] [--repeats 2]
        [--out benchmarks/results/ray]

Each row is MaskablePPO learning ``--timesteps`` steps with the toolkit's pretraining settings
(``TrainSettings``, 128 steps per environment per update, one environment per worker) on the
generated designs, collected by ``SubprocVecEnv`` or by ``placer.agent.distributed.RayVecEnv``
on a local Ray with as many CPUs as workers. The clock covers ``learn`` only: starting the
workers (and Ray) is timed apart. The learner runs on one torch thread in this process. The
median over ``--repeats`` is printed and written to ``OUT/results.md``.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from pathlib import Path

import torch
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import SubprocVecEnv

from placer.agent.cli import expand
from placer.agent.distributed import LOCAL, RayVecEnv, connect
from placer.agent.policy import PlacementPolicy
from placer.agent.training import TrainSettings, _make_env


def measure(
    engine: str, workers: int, designs: list[str], timesteps: int, settings: TrainSettings
) -> tuple[float, float]:
    """(seconds to start the workers, steps per second of ``learn``)."""
    chunks = [designs[k::workers] for k in range(workers)]
    factories = [functools.partial(_make_env, chunk, settings.env_kwargs()) for chunk in chunks]
    started = time.perf_counter()
    vec_env = SubprocVecEnv(factories) if engine == "subprocess" else RayVecEnv(factories, workers=workers)
    vec_env.seed(settings.seed)
    vec_env.reset()
    startup = time.perf_counter() - started
    try:
        model = MaskablePPO(PlacementPolicy, vec_env, **settings.ppo_kwargs())
        started = time.perf_counter()
        model.learn(timesteps)
        return startup, model.num_timesteps / (time.perf_counter() - started)
    finally:
        vec_env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", default="synthetic:0-7")
    parser.add_argument("--timesteps", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/ray")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = TrainSettings(device="cpu")
    designs = expand(args.designs.split(","), settings.max_grid)
    lines = ["| collectors | workers | start-up (s) | steps/s |", "|---|---:|---:|---:|"]
    import ray

    for workers in (1, 2):
        for engine in ("subprocess", "ray"):
            if engine == "ray":
                connect(LOCAL, num_cpus=workers)
            runs = [measure(engine, workers, designs, args.timesteps, settings) for _ in range(args.repeats)]
            if engine == "ray":
                ray.shutdown()
            startup, rate = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            lines.append(f"| {engine} | {workers} | {startup:.1f} | {rate:.1f} |")
            print(lines[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = (f"Pretraining on {args.designs}, {args.timesteps} steps per run, median of {args.repeats}:\n\n"
            + "\n".join(lines) + "\n")  # fmt: skip
    (out / "results.md").write_text(text)
    print(f"wrote {out / 'results.md'}")


if __name__ == "__main__":
    main()
