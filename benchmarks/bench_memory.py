"""Peak memory of pretraining: ``train.py pretrain`` with its worker processes, measured from outside.

    python benchmarks/bench_memory.py [--envs 8] [--max-grid 64] [--designs synthetic:0-15] [--updates 3]

Runs ``train.py pretrain`` for ``--updates`` PPO updates and samples, every 0.2 s, the memory
of the trainer and all its descendants (the environment workers) from ``/proc`` (Linux):
the sum of their proportional set sizes (PSS: a page shared by k processes counts 1/k in
each, so the sum is the memory the run really holds) and, for comparison, the sum of their
resident sets (RSS: shared pages counted once per process). Prints the peaks and the size
of the rollout buffer SB3 keeps (observations as float32, plus the action masks).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from envs import MacroPlacementEnv
from placer.agent.training import TrainSettings

GIB = 2**30


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, from the parent ids in ``/proc/*/stat``."""
    parent_of = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parent_of[int(stat.parent.name)] = int(fields[1])
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parent_of.items() if parent in frontier]
        tree += frontier
    return tree


def memory(pids: list[int]) -> tuple[int, int]:
    """Summed PSS and RSS of ``pids`` in bytes (processes that ended meanwhile count 0)."""
    pss = rss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return pss, rss


def rollout_bytes(envs: int, n_steps: int, max_grid: int) -> int:
    """SB3's rollout buffer: float32 observations and action masks for ``n_steps x envs`` steps."""
    space = MacroPlacementEnv("ariane133", max_grid=max_grid, fd_schedule=None).observation_space
    per_step = sum(4 * math.prod(box.shape) for box in space.values())
    return envs * n_steps * (per_step + 4 * max_grid * max_grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--max-grid", type=int, default=64)
    parser.add_argument("--designs", default="synthetic:0-15")
    parser.add_argument("--updates", type=int, default=3, help="PPO updates to run")
    args = parser.parse_args()
    if not Path("/proc/self/smaps_rollup").exists():
        sys.exit("bench_memory: needs Linux's /proc/PID/smaps_rollup")
    n_steps = TrainSettings().n_steps
    timesteps = args.updates * args.envs * n_steps
    train_py = Path(__file__).resolve().parents[1] / "train.py"
    with tempfile.TemporaryDirectory() as run:
        command = [sys.executable, str(train_py), "pretrain", "--designs", args.designs, "--envs", str(args.envs),
                   "--max-grid", str(args.max_grid), "--timesteps", str(timesteps), "--device", "cpu",
                   "--no-progress", "--out", run]  # fmt: skip
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        peak_pss = peak_rss = 0
        most = 0
        while process.poll() is None:
            pids = descendants(process.pid)
            pss, rss = memory(pids)
            peak_pss, peak_rss, most = max(peak_pss, pss), max(peak_rss, rss), max(most, len(pids))
            time.sleep(0.2)
        wall = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"bench_memory: train.py exited with {process.returncode}")
    buffer = rollout_bytes(args.envs, n_steps, args.max_grid)
    print(f"train.py pretrain, {args.envs} environments, maps {args.max_grid} x {args.max_grid}, {timesteps:,} steps "
          f"({args.updates} updates of {n_steps} steps per environment), {wall:.0f} s, {most} processes")  # fmt: skip
    print(f"peak memory (sum of PSS): {peak_pss / GIB:.2f} GiB")
    print(f"peak of summed RSS (shared pages once per process): {peak_rss / GIB:.2f} GiB")
    print(f"of which SB3's rollout buffer (float32 observations and masks): {buffer / GIB:.3f} GiB")


if __name__ == "__main__":
    main()
