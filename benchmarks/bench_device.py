"""The placement network on each device and precision: throughput, pinned transfers, and whether bf16 keeps results.

    python benchmarks/bench_device.py [--design ariane133] [--batches 8,64] [--repeat 20] [--threads 1]

The bundled policy plays 8 episodes of ``--design`` on the CPU (recorded: every state, its mask
and the action taken). Then, on the CPU and on CUDA when torch sees a GPU, in float32 and in
bfloat16 autocast (``torch.autocast``), it prints:

* inference: states per second of the network's forward pass on batches of ``--batches`` states
  (what zero-shot play and PPO's rollouts do), and the share of all recorded states whose most
  likely legal action is the same as float32's on the CPU;
* training: states per second of one imitation step (forward, backward, Adam) on batches of 64
  (what self-imitation and behaviour cloning do; PPO's update has the same shape);
* play: the best proxy cost of the same 8 episodes played with that device and precision (after
  electrostatic FD), against float32 on the CPU;
* on CUDA, the host-to-device copy of one batch from pageable and from pinned memory.

Without a GPU only the CPU rows are printed. CPU rows run on ``--threads`` torch threads (one,
as the toolkit's commands use on a small machine).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import time

import numpy as np
import torch as th

from envs import MacroPlacementEnv
from envs.placement_env import load_design
from placer.agent.episodes import Trajectory, play, policy_logits
from placer.agent.imitation import imitation_loss
from placer.agent.placing import bundled_checkpoint, map_size
from placer.agent.training import TrainSettings, load_policy


def precision(device: str, name: str):
    """The autocast context of ``name`` (``float32``: none) on ``device``."""
    if name == "float32":
        return contextlib.nullcontext()
    return th.autocast(device_type=device, dtype=th.bfloat16)


def sync(device: str) -> None:
    if device == "cuda":
        th.cuda.synchronize()


def rows_of(steps: Trajectory, index: np.ndarray) -> Trajectory:
    return Trajectory(steps.maps[index], steps.vectors[index], steps.masks[index], steps.actions[index],
                      steps.returns[index])  # fmt: skip


def likeliest(policy, steps: Trajectory, device: str, name: str, batch: int = 64) -> np.ndarray:
    """The most likely legal action of every recorded state."""
    out = []
    with th.no_grad(), precision(device, name):
        for start in range(0, steps.actions.size, batch):
            part = rows_of(steps, np.arange(start, min(start + batch, steps.actions.size)))
            _, _, distribution = imitation_loss(policy, part)
            out.append(distribution.distribution.logits.float().argmax(dim=1).cpu().numpy())
    return np.concatenate(out)


def forward_rate(policy, steps: Trajectory, device: str, name: str, batch: int, repeat: int) -> float:
    """States per second of the forward pass on batches of ``batch``."""
    part = rows_of(steps, np.arange(batch) % steps.actions.size)
    with th.no_grad(), precision(device, name):
        imitation_loss(policy, part)  # warm-up (kernels chosen, caches filled)
        sync(device)
        started = time.perf_counter()
        for _ in range(repeat):
            imitation_loss(policy, part)
        sync(device)
    return batch * repeat / (time.perf_counter() - started)


def training_rate(policy, steps: Trajectory, device: str, name: str, repeat: int, batch: int = 64) -> float:
    """States per second of one imitation step (forward, backward, Adam) on batches of ``batch``."""
    part = rows_of(steps, np.arange(batch) % steps.actions.size)
    policy.set_training_mode(True)

    def step() -> None:
        with precision(device, name):
            loss, _, _ = imitation_loss(policy, part)
        policy.optimizer.zero_grad()
        loss.backward()
        policy.optimizer.step()

    step()
    sync(device)
    started = time.perf_counter()
    for _ in range(repeat):
        step()
    sync(device)
    policy.set_training_mode(False)
    return batch * repeat / (time.perf_counter() - started)


def transfer_ms(steps: Trajectory, batch: int, repeat: int) -> tuple[float, float]:
    """Milliseconds to copy one batch of maps to the GPU from pageable and from pinned memory."""
    host = th.from_numpy(np.ascontiguousarray(steps.maps[np.arange(batch) % steps.actions.size]))
    pinned = host.pin_memory()
    times = []
    for source, blocking in ((host, True), (pinned, False)):
        source.to("cuda", non_blocking=not blocking)
        th.cuda.synchronize()
        started = time.perf_counter()
        for _ in range(repeat):
            source.to("cuda", non_blocking=not blocking)
        th.cuda.synchronize()
        times.append((time.perf_counter() - started) / repeat * 1e3)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--design", default="ariane133")
    parser.add_argument("--batches", default="8,64")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    th.set_num_threads(args.threads)
    batches = [int(b) for b in args.batches.split(",")]
    checkpoint = bundled_checkpoint()
    design = load_design(args.design)
    env = MacroPlacementEnv(design, max_grid=map_size(checkpoint, design))
    envs = [env] + [copy.copy(env) for _ in range(7)]
    devices = ["cpu"] + (["cuda"] if th.cuda.is_available() else [])
    print(f"{args.design}: torch {th.__version__}, {args.threads} CPU thread(s); "
          f"GPU: {th.cuda.get_device_name(0) if th.cuda.is_available() else 'none'}")  # fmt: skip
    reference_policy = load_policy(checkpoint, env, TrainSettings(device="cpu")).policy
    recorded = play(envs, policy_logits(reference_policy), seed=0, record=True)
    steps = Trajectory(*(np.concatenate([getattr(e.trajectory, f) for e in recorded])
                         for f in ("maps", "vectors", "masks", "actions", "returns")))  # fmt: skip
    reference = likeliest(reference_policy, steps, "cpu", "float32")
    reference_cost = min(e.report.proxy_cost for e in recorded)
    print(f"{steps.actions.size} recorded states; float32 CPU play: best of 8 {reference_cost:.4f}\n")
    header = " | ".join(f"forward, batch {b} (states/s)" for b in batches)
    print(f"| device | precision | {header} | same action as float32 CPU | imitation step, batch 64 (states/s) | "
          "play: best of 8 | copy of a batch of 64: pageable / pinned |")  # fmt: skip
    print("|---|---|" + "---:|" * (len(batches) + 4))
    for device in devices:
        copy_ms = "-"
        if device == "cuda":
            pageable, pinned = transfer_ms(steps, 64, args.repeat)
            copy_ms = f"{pageable:.3f} / {pinned:.3f} ms"
        for name in ("float32", "bfloat16"):
            policy = load_policy(checkpoint, env, TrainSettings(device=device)).policy
            policy.set_training_mode(False)
            rates = [forward_rate(policy, steps, device, name, b, args.repeat) for b in batches]
            same = float(np.mean(likeliest(policy, steps, device, name) == reference))
            base = policy_logits(policy)

            def logits(batch, masks, base=base, device=device, name=name):
                with precision(device, name):
                    return base(batch, masks).float().cpu()

            played = min(e.report.proxy_cost for e in play(envs, logits, seed=0))
            trained = training_rate(policy, steps, device, name, args.repeat)
            print(f"| {device} | {name} | " + " | ".join(f"{r:,.0f}" for r in rates)
                  + f" | {same:.1%} | {trained:,.0f} | {played:.4f} | {copy_ms} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
