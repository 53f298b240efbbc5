"""Placing a design with a trained policy: zero-shot, or after a short fine-tune on it."""

from __future__ import annotations

import importlib.resources
import math
import tempfile
import time
from pathlib import Path

from sb3_contrib import MaskablePPO

from envs import MacroPlacementEnv
from netlists import Design
from placer.agent.training import FINETUNE_DEFAULTS, TrainSettings, load_policy, train
from placer.baselines import PlaceResult, place
from placer.cost import CostWeights

BUNDLED_NAME = "pretrained.zip"


def bundled_checkpoint() -> Path:
    """The pretrained policy shipped in the package.

    Raises:
        FileNotFoundError: The package was built without it.
    """
    path = Path(str(importlib.resources.files("placer.agent") / "checkpoints" / BUNDLED_NAME))
    if not path.is_file():
        raise FileNotFoundError(f"no bundled policy at {path}; train one with `python train.py pretrain`")
    return path


def map_size(checkpoint: str | Path | MaskablePPO, design: Design) -> int:
    """The checkpoint's map size when the design fits in it, else the design's grid rounded up to 8."""
    model = checkpoint if isinstance(checkpoint, MaskablePPO) else MaskablePPO.load(checkpoint, device="cpu")
    trained = model.observation_space["maps"].shape[-1]
    needed = 8 * math.ceil(max(design.floorplan.cols, design.floorplan.rows) / 8)
    return trained if needed <= trained else needed


def policy_place(
    design: Design,
    checkpoint: str | Path | None = None,
    *,
    samples: int = 8,
    seed: int = 0,
    weights: CostWeights | None = None,
    fd_schedule: str = "electrostatic",
    finetune_steps: int = 0,
    finetune_source: str | None = None,
    finetune_plc: str | None = None,
    finetune_settings: TrainSettings | None = None,
) -> PlaceResult:
    """Place with the policy: one greedy (most likely) episode and ``samples - 1`` sampled ones; the best wins.

    Args:
        design: The design.
        checkpoint: A model saved by ``train.py`` (the bundled pretrained policy by default).
        samples: Episodes to play (the first picks the most likely cell each step).
        seed: Seed of the sampled episodes.
        weights: Weights of the proxy cost.
        fd_schedule: Soft-macro placement at the end of each episode.
        finetune_steps: Fine-tune on the design for this many steps first (needs ``finetune_source``,
            the design as a file path or bundled name, for the training workers to load).
        finetune_source: Where the training workers load the design from.
        finetune_plc: The ``plc`` argument of the training environments (the design's own by default).
        finetune_settings: Settings of the fine-tune (default: two environments and ``FINETUNE_DEFAULTS``).

    Returns:
        The best legal placement; when every episode runs out of room, greedy placement
        instead, with ``backed_off`` set.
    """
    started = time.perf_counter()
    checkpoint = Path(checkpoint) if checkpoint is not None else bundled_checkpoint()
    method = "rl"
    if finetune_steps > 0:
        if finetune_source is None:
            raise ValueError("fine-tuning needs the design's file path or bundled name (finetune_source)")
        grid = map_size(checkpoint, design)
        settings = finetune_settings or TrainSettings(n_envs=2, max_grid=grid, **FINETUNE_DEFAULTS)
        with tempfile.TemporaryDirectory() as run:
            extra = {} if finetune_plc is None else {"plc": finetune_plc}
            checkpoint_tuned = train([finetune_source], finetune_steps, run, settings, start_from=checkpoint,
                                     progress_bar=False, env_extra=extra)  # fmt: skip
            tuned = Path(run) / "tuned.zip"
            checkpoint_tuned.replace(tuned)
            result = _play(design, tuned, samples, seed, weights, fd_schedule)
        method = "rl+finetune"
    else:
        result = _play(design, checkpoint, samples, seed, weights, fd_schedule)
    if result is None:
        fallback = place(design, "greedy", seed=seed, weights=weights)
        return PlaceResult(f"{method}->greedy", fallback.placement, fallback.report,
                           time.perf_counter() - started, seed, backed_off=True)  # fmt: skip
    placement, report = result
    return PlaceResult(method, placement, report, time.perf_counter() - started, seed)


def _play(design: Design, checkpoint: Path, samples: int, seed: int, weights, fd_schedule):
    """The best finished episode's placement and report, or ``None`` when none finished."""
    saved = MaskablePPO.load(checkpoint, device="cpu")  # read once for its map size and its weights
    env = MacroPlacementEnv(design, max_grid=map_size(saved, design), weights=weights, fd_schedule=fd_schedule)
    model = load_policy(saved, env)
    best = None
    for k in range(max(samples, 1)):
        observation, _ = env.reset(seed=seed + k)
        while True:
            action, _ = model.predict(observation, action_masks=env.action_masks(), deterministic=k == 0)
            observation, _, terminated, _, info = env.step(int(action))
            if terminated:
                break
        if not info["infeasible"] and (best is None or env.report.proxy_cost < best[1].proxy_cost):
            best = (env.placement, env.report)
    return best
