"""Placing a design with a trained policy: zero-shot, after a short fine-tune on it, or then annealed."""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch as th
from sb3_contrib import MaskablePPO

from envs import MacroPlacementEnv
from netlists import Design, Placement
from placer.agent.annealing import as_controller, learned_anneal
from placer.agent.episodes import PIPELINE_CELLS, play, policy_logits
from placer.agent.policy import SavedPolicy
from placer.agent.runtime import OnnxPolicy, is_onnx
from placer.agent.self_imitation import (
    FINETUNE_TEMPERATURE,
    SELF_IMITATION_DEFAULTS,
    SelfImitationSettings,
    self_imitate,
)
from placer.agent.training import (
    FINETUNE_ALGORITHMS,
    FINETUNE_DEFAULTS,
    BestEpisode,
    TrainSettings,
    bundled_file,
    train,
)
from placer.baselines import STARTS, AnnealSettings, PlaceResult, SoftStage, finish_soft_macros, place
from placer.cost import CostModel, CostWeights
from placer.fd import FDSchedule

BUNDLED_NAME = "pretrained.zip"
BUNDLED_NETWORK = "pretrained.onnx"  # BUNDLED_NAME exported by train.py export
BUNDLED_INT8 = "pretrained.int8.onnx"  # BUNDLED_NAME exported by train.py export --int8
FINETUNE_SHARE = 0.5  # of a learned-annealing budget: the most that fine-tuning first may take


def policy_threads(design: Design) -> int:
    """Threads for the policy's network on ``design`` when none are asked for.

    One on grids under ``PIPELINE_CELLS`` cells, where a second thread only fights the
    environments (a busy 2-core VM: 3.3 s on one thread, 5.0 s on two, on Ariane133). On
    larger grids a worker thread steps half the episodes' environments while the network
    takes the other half's pass (:func:`placer.agent.episodes.play`), so the network gets
    the cores left idle less that one, at least one: 8 episodes of 400 macros at 128 x 128
    on the int8 network took 14.3-20.7 s on one thread against 19.9-25.0 s on two on the
    idle 2-core VM (nine runs on one, six on two, alternating).
    """
    if not _pipelined(design):
        return 1
    return max(1, round(idle_cores()) - 1)


def _pipelined(design: Design) -> bool:
    """Whether the design's episodes play in two halves that overlap the network with the environments."""
    return design.floorplan.cols * design.floorplan.rows >= PIPELINE_CELLS


def idle_cores(seconds: float = 0.1) -> float:
    """How many cores other processes leave free, sampled over ``seconds`` (Linux ``/proc/stat``).

    This process's own threads count as free (a math library's threads may still spin for a
    while after work). Elsewhere, the cores less the 1-minute load average, which lags by
    about a minute.
    """
    cores = os.cpu_count() or 1

    def counters() -> tuple[int, int, float, float]:
        with open("/proc/stat") as stat:
            ticks = [int(value) for value in stat.readline().split()[1:]]
        return ticks[3] + ticks[4], sum(ticks), time.process_time(), time.perf_counter()  # idle and iowait, all

    try:
        idle0, total0, own0, wall0 = counters()
        time.sleep(seconds)
        idle1, total1, own1, wall1 = counters()
    except (OSError, ValueError, IndexError):
        return max(cores - os.getloadavg()[0], 0.0)
    free = cores * (idle1 - idle0) / max(total1 - total0, 1) + (own1 - own0) / max(wall1 - wall0, 1e-9)
    return min(free, float(cores))


def bundled_checkpoint() -> Path:
    """The pretrained policy shipped in the package.

    Raises:
        FileNotFoundError: The package was built without it.
    """
    return bundled_file(BUNDLED_NAME, "policy", "pretrain")


def bundled_network(int8: bool = False) -> Path:
    """The bundled policy's network exported for ONNX Runtime (``train.py export`` of :func:`bundled_checkpoint`).

    With ``int8``, its copy quantized to int8 (``train.py export --int8``, :mod:`placer.agent.quantize`).

    Raises:
        FileNotFoundError: The package was built without it.
    """
    if int8:
        return bundled_file(BUNDLED_INT8, "int8 policy network", "export")
    return bundled_file(BUNDLED_NETWORK, "exported policy network", "export")


def map_size(checkpoint: str | Path | MaskablePPO | SavedPolicy | OnnxPolicy, design: Design) -> int:
    """The checkpoint's map size when the design fits in it, else the design's grid rounded up to 8."""
    trained = (checkpoint if isinstance(checkpoint, OnnxPolicy) else SavedPolicy.of(checkpoint)).map_size
    needed = 8 * math.ceil(max(design.floorplan.cols, design.floorplan.rows) / 8)
    return trained if needed <= trained else needed


@dataclass(frozen=True)
class FineTuned:
    """A policy fine-tuned on one design, with the best episode its training played.

    Attributes:
        checkpoint: The fine-tuned model (``final.zip`` in the run folder).
        placement: The best finished training episode's placement (``None`` when none finished).
        proxy_cost: Its proxy cost under the training environments' weights.
        steps: Environment steps trained.
        episodes: Finished (feasible) training episodes.
    """

    checkpoint: Path
    placement: Placement | None
    proxy_cost: float
    steps: int
    episodes: int


Progress = Callable[[str, float, float], None]
"""``progress(stage, fraction done, best proxy cost so far)``: how long placing reports on itself."""


def _stage(progress: Progress | None, stage: str) -> Callable[[float, float], None] | None:
    """``progress`` for one stage, as the stage's own two-argument callback."""
    return None if progress is None else functools.partial(progress, stage)


def finetune(
    design: str | Design,
    checkpoint: str | Path | None,
    run: str | Path,
    settings: TrainSettings,
    *,
    steps: int | None = None,
    seconds: float | None = None,
    progress: Callable[[float, float], None] | None = None,
) -> FineTuned:
    """Train ``checkpoint`` (a fresh policy when ``None``) on ``design`` for ``steps`` or ``seconds``.

    ``design`` is what :func:`train` takes: a name, a path, ``"synthetic:N"`` or the
    :class:`Design` itself (sent to the training workers as it is).

    ``progress(fraction of the budget used, best training episode's proxy cost)`` is called as
    training goes.

    Raises:
        ValueError: Neither budget is given, or the design cannot be loaded.
    """
    if steps is None and seconds is None:
        raise ValueError("fine-tuning needs a budget in steps or seconds")
    best = BestEpisode(progress, steps, seconds, since=time.perf_counter())  # train()'s clock starts here too
    final = train([design], steps or 10**12, run, settings, start_from=checkpoint, progress_bar=False,
                  seconds=seconds, callbacks=[best])  # fmt: skip
    return FineTuned(final, best.placement, best.proxy_cost, best.num_timesteps, best.episodes)


def policy_place(
    design: Design,
    checkpoint: str | Path | None = None,
    *,
    samples: int = 8,
    seed: int = 0,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
    finetune_steps: int = 0,
    finetune_seconds: float | None = None,
    finetune_settings: TrainSettings | None = None,
    progress: Progress | None = None,
    soft_start: str = "fd",
    soft_moves: int = 0,
    finetune_algorithm: str = "ppo",
) -> PlaceResult:
    """Place with the policy: one greedy (most likely) episode and ``samples - 1`` sampled ones; the best wins.

    With a fine-tuning budget (``finetune_steps`` and/or ``finetune_seconds``, whichever ends
    first), the policy is first trained on the design, and the result is the best of the
    episodes played by the policy before and after fine-tuning and during it.

    Args:
        design: The design.
        checkpoint: A model saved by ``train.py``, or its network exported by ``train.py export``
            (``.onnx``: played on ONNX Runtime). By default the bundled pretrained policy: its
            exported network zero-shot (the same placements as torch gives, in about half the
            time on one thread at 128 x 128; on grids of ``PIPELINE_CELLS`` cells or more its
            int8 copy, :func:`bundled_network`), the ``.zip`` when fine-tuning.
        samples: Episodes to play (the first picks the most likely cell each step).
        seed: Seed of the sampled episodes, of the soft-macro stage and (unless ``finetune_settings``) of fine-tuning.
        weights: Weights of the proxy cost.
        fd_schedule: Soft-macro placement at the end of each episode (the electrostatic schedule by default).
        finetune_steps: Fine-tune on the design for this many steps first (the training workers
            get ``design`` itself, so it need not be on disk).
        finetune_seconds: Fine-tune for this much wall time (at most ``finetune_steps`` when that is given too).
        finetune_settings: Settings of the fine-tune (default: two environments and ``FINETUNE_DEFAULTS``,
            rollouts no longer than ``finetune_steps``).
        progress: Called as ``progress(stage, fraction done, best proxy cost so far)`` while
            the episodes are played (stage ``"zero-shot"``, then ``"tuned policy"``) and while
            fine-tuning trains (``"fine-tuning"``).
        soft_start: Where the episodes' soft macros start (``MacroPlacementEnv``'s ``soft_start``):
            FD's alone (``"fd"``, the default) or the design's positions (``"file"``).
        soft_moves: The soft-macro stage's nudges (:func:`placer.baselines.soft_stage.finish_soft_macros`)
            on the best episode's placement: the episodes are ranked after FD, and the best is
            finished by FD and then this many soft-macro nudges on the exact cost (0: FD alone).
        finetune_algorithm: ``"ppo"`` (:func:`finetune`) or ``"self-imitation"``
            (:func:`placer.agent.self_imitation.self_imitate`, with ``SELF_IMITATION_DEFAULTS``:
            its episodes screened after a soft-macro stage of 2,000 nudges and kept by their cost
            after the ``soft_moves`` stage, sampled at ``FINETUNE_TEMPERATURE`` after the first round).

    Returns:
        The best legal placement; when every episode runs out of room, greedy placement
        instead, with ``backed_off`` set.
    """
    started = time.perf_counter()
    fd_schedule = fd_schedule or FDSchedule.electrostatic()
    tuning = finetune_steps > 0 or finetune_seconds is not None
    if checkpoint is None:  # zero-shot on ONNX Runtime: the same cells as torch, faster on one thread
        # int8 where the network is most of the time: as good there, 1.3-1.4 x faster in all.
        checkpoint = bundled_checkpoint() if tuning else bundled_network(int8=_pipelined(design))
    checkpoint = Path(checkpoint)
    if tuning and is_onnx(checkpoint):
        raise ValueError(f"fine-tuning trains a policy saved by train.py (.zip), not the exported {checkpoint}")
    if tuning and finetune_algorithm not in FINETUNE_ALGORITHMS:  # refused before anything is played
        raise ValueError(f"unknown fine-tuning algorithm {finetune_algorithm!r} (expected one of "
                         f"{', '.join(FINETUNE_ALGORITHMS)})")  # fmt: skip
    method = "rl+finetune" if tuning else "rl"
    episodes = {"weights": weights, "fd_schedule": fd_schedule, "soft_start": soft_start}
    found = [_play(design, checkpoint, samples, seed, episodes, _stage(progress, "zero-shot"))]
    if tuning:
        imitating = finetune_algorithm == "self-imitation"
        settings = finetune_settings or dataclasses.replace(
            _finetune_settings(finetune_steps, map_size(checkpoint, design), fd_schedule, imitating), seed=seed
        )
        settings = dataclasses.replace(settings, soft_start=soft_start)
        if weights is not None:  # the fine-tune's episodes are scored as this placement is
            settings = dataclasses.replace(settings, weights=weights)
        # self-imitation keeps episodes by their cost finished as the best one is finished below
        kept_by = SelfImitationSettings(finish_moves=soft_moves, temperature=FINETUNE_TEMPERATURE)
        tune = functools.partial(self_imitate, imitation=kept_by) if imitating else finetune
        with tempfile.TemporaryDirectory() as run:
            tuned = tune(design, checkpoint, run, settings, steps=finetune_steps or None, seconds=finetune_seconds,
                         progress=_stage(progress, "fine-tuning"))  # fmt: skip
            found.append(_play(design, tuned.checkpoint, samples, seed, episodes, _stage(progress, "tuned policy")))
        if tuned.placement is not None:  # scored here, with the caller's weights
            report = CostModel(design.netlist, design.floorplan).evaluate(tuned.placement, weights)
            found.append((tuned.placement, report))
    details = {
        "episodes": samples * (2 if tuning else 1),
        "inference": _inference(checkpoint),
    }
    if tuning:
        details |= {"finetune_steps": tuned.steps, "finetune_episodes": tuned.episodes}
    found = [f for f in found if f is not None]
    if not found:
        fallback = place(design, "greedy", seed=seed, weights=weights, fd_schedule=fd_schedule, soft_start=soft_start,
                         soft_stage=SoftStage(soft_moves))  # fmt: skip
        return PlaceResult(f"{method}->greedy", fallback.placement, fallback.report,
                           time.perf_counter() - started, seed, backed_off=True, details=details)  # fmt: skip
    placement, report = min(found, key=lambda f: f[1].proxy_cost)
    if soft_moves:
        finished = finish_soft_macros(CostModel(design.netlist, design.floorplan), placement, SoftStage(soft_moves),
                                      seed=seed, weights=weights, fd_schedule=fd_schedule)  # fmt: skip
        placement, report = finished.placement, finished.report
        details |= {"fd_proxy_cost": finished.fd_cost, "soft_stage_s": finished.seconds}
    return PlaceResult(method, placement, report, time.perf_counter() - started, seed, budget_s=finetune_seconds,
                       details=details)  # fmt: skip


def _inference(checkpoint: Path) -> str:
    """Where ``checkpoint``'s network runs, as ``cost.json`` records it."""
    if not is_onnx(checkpoint):
        return "torch"
    return "onnxruntime int8" if OnnxPolicy(checkpoint).quantized == "int8" else "onnxruntime"


def _finetune_settings(steps: int, max_grid: int, fd_schedule: FDSchedule, imitating: bool = False) -> TrainSettings:
    """Two environments and ``FINETUNE_DEFAULTS``, with rollouts no longer than ``steps`` in all.

    PPO collects whole rollouts, so a budget smaller than one (2 x 128 steps) would be
    overrun; the rollout shrinks to fit it instead (and the minibatch with it). Self-imitation
    (``imitating``) takes ``SELF_IMITATION_DEFAULTS`` instead.
    """
    if imitating:
        return TrainSettings(max_grid=max_grid, fd_schedule=fd_schedule, **SELF_IMITATION_DEFAULTS)
    defaults, envs = TrainSettings(), 2
    n_steps = max(1, min(defaults.n_steps, math.ceil(steps / envs))) if steps else defaults.n_steps
    return TrainSettings(n_envs=envs, max_grid=max_grid, fd_schedule=fd_schedule, n_steps=n_steps,
                         batch_size=min(defaults.batch_size, envs * n_steps), **FINETUNE_DEFAULTS)  # fmt: skip


def _play(design: Design, checkpoint: Path, samples: int, seed: int, episodes: dict, progress=None):
    """The best finished episode's placement and report, or ``None`` when none finished.

    ``episodes`` holds the environment's keyword arguments (weights, soft-macro start). The
    ``samples`` episodes run in lockstep (:func:`placer.agent.episodes.play`).
    """
    # Read once, for its map size and its weights; an exported network plays on ONNX Runtime.
    saved = OnnxPolicy(checkpoint, th.get_num_threads()) if is_onnx(checkpoint) else SavedPolicy.of(checkpoint)
    first = MacroPlacementEnv(design, max_grid=map_size(saved, design), **episodes)
    # Shallow copies share the design, cost model and start, which episodes only read; reset()
    # gives each its own placer, observation buffers and random generator.
    envs = [first] + [copy.copy(first) for _ in range(max(samples, 1) - 1)]
    if isinstance(saved, OnnxPolicy):

        def logits(batch: dict[str, np.ndarray], masks: np.ndarray) -> th.Tensor:
            return th.from_numpy(saved.logits(batch["maps"], batch["vector"], masks))
    else:
        logits = policy_logits(saved.playing(first))
    found = play(envs, logits, seed, progress=progress)
    if not found:
        return None
    best = min(found, key=lambda episode: episode.report.proxy_cost)
    return best.placement, best.report


def learned_place(
    design: Design,
    checkpoint: str | Path | None = None,
    *,
    seconds: float | None = None,
    moves: int | None = None,
    controller: str | Path | None = None,
    start: str = "analytic",
    samples: int = 8,
    seed: int = 0,
    weights: CostWeights | None = None,
    fd_schedule: FDSchedule | None = None,
    finetune_steps: int = 0,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
    soft_start: str = "fd",
    finetune_algorithm: str = "ppo",
    anneal_settings: AnnealSettings | None = None,
) -> PlaceResult:
    """Learned annealing: annealing steered by ``controller`` from a good start.

    ``controller`` is a saved controller, or by default the bundled one of the start
    (:func:`placer.agent.annealing.bundled_controller`: the analytic one for ``"analytic"``,
    the greedy one for ``"policy"``).

    ``start="analytic"``: the analytic flow's start (:func:`placer.baselines.mixed_size.mixed_size_place`:
    hard and soft macros placed analytically, the hard macros legalised, the soft macros placed
    again), then its polish steered by the controller, all within ``seconds`` on ``clock``
    (and/or the polish's ``moves``); the policy is not played, and ``progress`` gets stage
    ``"polish"``.

    ``start="policy"``: the policy's placement (:func:`policy_place`), then annealing steered
    by the controller from there. With ``finetune_steps``, the policy is fine-tuned on the
    design first (as :func:`policy_place` does), for those steps but at most ``FINETUNE_SHARE``
    of ``seconds`` of wall time. Annealing gets what is left of ``seconds`` after the policy has
    played, and/or ``moves``. ``progress`` is called as :func:`policy_place` says, then with
    stage ``"annealing"``. ``soft_start`` is the policy's episodes' (the analytic start reads no
    position of a movable node). ``anneal_settings`` are the steered annealing's (the moves'
    defaults the controller's choices are offsets of, and its pulls).

    Raises:
        ValueError: Neither budget is given, an unknown ``start``, or a checkpoint or
            fine-tuning asked for with the analytic start (which plays no policy).
    """
    if seconds is None and moves is None:
        raise ValueError("learned annealing needs a budget in seconds or moves")
    fd_schedule = fd_schedule or FDSchedule.electrostatic()
    if start not in STARTS:
        raise ValueError(f"unknown start {start!r} (expected one of {', '.join(STARTS)})")
    started = clock()
    if start == "analytic":
        if finetune_steps or checkpoint is not None:
            raise ValueError("a checkpoint and fine-tuning are the policy's, which the analytic start does not play")
        steer = as_controller(controller, anneal_settings, "analytic")  # loading it (torch) is part of the budget
        remaining = None if seconds is None else max(seconds - (clock() - started), 0.0)
        result = place(design, "analytic", seconds=remaining, moves=moves, seed=seed, weights=weights,
                       fd_schedule=fd_schedule, progress=_stage(progress, "polish"), anneal_settings=anneal_settings,
                       controller=steer, clock=clock)  # fmt: skip
        return dataclasses.replace(result, method="analytic+learned-sa", runtime_s=clock() - started, budget_s=seconds)
    tuning = {}
    if finetune_steps:
        tuning = {"finetune_steps": finetune_steps, "finetune_algorithm": finetune_algorithm,
                  "finetune_seconds": None if seconds is None else FINETUNE_SHARE * seconds}  # fmt: skip
    played = policy_place(design, checkpoint, samples=samples, seed=seed, weights=weights, fd_schedule=fd_schedule,
                          progress=progress, soft_start=soft_start, **tuning)  # fmt: skip
    remaining = None if seconds is None else max(seconds - (clock() - started), 0.0)
    model = CostModel(design.netlist, design.floorplan)
    result = learned_anneal(model, played.placement, controller=controller, seconds=remaining, moves=moves, seed=seed,
                            weights=weights, fd_schedule=fd_schedule, settings=anneal_settings,
                            progress=_stage(progress, "annealing"), clock=clock)  # fmt: skip
    return PlaceResult(f"{played.method}+learned-sa", result.placement, result.report, clock() - started, seed,
                       budget_s=seconds, moves=result.moves, backed_off=played.backed_off,
                       history=result.history, details=played.details)  # fmt: skip
