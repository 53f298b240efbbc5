"""The default command's time on an idle and on a loaded machine, with one torch thread and with all cores.

    python benchmarks/bench_threads.py [--design ariane133] [--repeats 3] [--out benchmarks/results/threads]

Runs ``placer place DESIGN -o TMP --json`` (the zero-shot default) as a user does, a fresh
process each time, with the default thread setting (one torch thread) and with ``--threads
N`` for N = the machine's cores (torch's own default), first on an idle machine, then with a
second process burning one core. Prints, and writes to ``OUT/results.md``, the median over
``--repeats`` runs of the command's wall time (start-up and loading included) and of the
placement's own ``runtime_s``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUSY = "while True: pass"


@contextlib.contextmanager
def machine(loaded: bool):
    """An idle machine, or one with a second process busy on one core, while the block runs."""
    burner = subprocess.Popen([sys.executable, "-c", BUSY]) if loaded else None
    try:
        time.sleep(0.5 if loaded else 0.0)
        yield
    finally:
        if burner is not None:
            burner.kill()
            burner.wait()


def run_once(design: str, threads: int | None) -> tuple[float, float]:
    """Wall time of one ``placer place`` command and the placement's ``runtime_s``."""
    with tempfile.TemporaryDirectory() as folder:
        argv = [sys.executable, "-m", "placer.cli", "place", design, "-o", str(Path(folder) / "out"), "--json"]
        if threads is not None:
            argv += ["--threads", str(threads)]
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    return wall, json.loads(done.stdout)["runtime_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="ariane133")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/threads")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    print(f"{args.design}: placer place (zero-shot), median of {args.repeats}, {cores} cores")
    print(f"{'machine':<8} {'torch threads':<22} {'command s':>10} {'placement s':>12}")
    for loaded in (False, True):
        for threads, label in ((None, "1 (the default)"), (cores, f"{cores} (--threads {cores})")):
            with machine(loaded):
                runs = [run_once(args.design, threads) for _ in range(args.repeats)]
            wall = statistics.median(r[0] for r in runs)
            placing = statistics.median(r[1] for r in runs)
            state = "loaded" if loaded else "idle"
            rows.append((state, label, wall, placing))
            print(f"{state:<8} {label:<22} {wall:>10.1f} {placing:>12.1f}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"`placer place {args.design}` (zero-shot, 8 episodes), median of {args.repeats} runs, {cores} cores; "
             "loaded = a second process busy on one core.", "",
             "| machine | torch threads | command s | placement s |", "|---|---|---|---|"]  # fmt: skip
    lines += [f"| {state} | {label} | {wall:.1f} | {placing:.1f} |" for state, label, wall, placing in rows]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'results.md'}")


if __name__ == "__main__":
    main()
