"""Environment speed: env steps per second and full-episode time of ``MacroPlacement-v0``.

    python benchmarks/bench_env.py [--episodes 10] [--design ariane133]

Every step plays a random legal action (``action_masks()`` then ``step()``), on one core
(the process is pinned to one CPU where the OS allows). Prints:

* steps per second with the dense reward and no soft-macro placement at the end (the
  per-step work: mask, wirelength map, incremental cost, observation), target >= 2,000 on
  the clustered Ariane133;
* the time of a whole episode including force-directed placement of the soft macros and
  the final proxy cost, for each FD schedule, target < 0.3 s;
* the same steps per second on the design with its grid refined to 128 x 128 cells, the
  largest grid a policy sees (random play on so fine a grid scatters the macros and
  usually runs out of room before the end; the last column counts such episodes).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

import numpy as np

import netlists
from envs import MacroPlacementEnv

TARGET_STEPS_PER_SECOND = 2000
TARGET_EPISODE_SECONDS = 0.3


def play(env: MacroPlacementEnv, episodes: int, seed: int = 0) -> tuple[int, list[float], float, int]:
    """Random legal episodes; returns steps, each episode's seconds, the last proxy cost, infeasible episodes."""
    rng = np.random.default_rng(seed)
    steps, times, cost, infeasible = 0, [], float("nan"), 0
    for episode in range(episodes):
        start = time.perf_counter()
        env.reset(seed=seed + episode)
        while True:
            _, _, terminated, _, info = env.step(rng.choice(np.flatnonzero(env.action_masks())))
            steps += 1
            if terminated:
                break
        times.append(time.perf_counter() - start)
        cost = info.get("proxy_cost", cost)
        infeasible += info["infeasible"]
    return steps, times, cost, infeasible


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="ariane133")
    parser.add_argument("--episodes", type=int, default=10)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    design = netlists.load(args.design)
    fine = dataclasses.replace(design, floorplan=dataclasses.replace(design.floorplan, cols=128, rows=128))
    fp = design.floorplan
    print(f"{design.netlist.name}: grid {fp.cols} x {fp.rows}, one core, random legal actions\n")
    print("| setting | grid | steps/s | episode (median) | final proxy | ran out of room |")
    print("|---|---|---:|---:|---:|---:|")
    rows = [
        ("dense reward, no FD", design, {"reward": "dense", "fd_schedule": None}),
        ("terminal, FD electrostatic", design, {"fd_schedule": "electrostatic"}),
        ("terminal, FD Circuit Training", design, {"fd_schedule": "circuit_training"}),
        ("dense reward, no FD", fine, {"reward": "dense", "fd_schedule": None}),
    ]
    for label, which, kwargs in rows:
        env = MacroPlacementEnv(which, **kwargs)
        play(env, 1)  # compile and warm up
        steps, times, cost, infeasible = play(env, args.episodes)
        grid = f"{which.floorplan.cols} x {which.floorplan.rows}"
        median = statistics.median(times)
        print(f"| {label} | {grid} | {steps / sum(times):,.0f} | {median:.3f} s | {cost:.4f} | {infeasible} |")
    print(f"\ntargets: >= {TARGET_STEPS_PER_SECOND:,} steps/s without FD, < {TARGET_EPISODE_SECONDS} s per episode")


if __name__ == "__main__":
    main()
