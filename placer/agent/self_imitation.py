"""Fine-tuning by self-imitation: play a batch of episodes, keep the best one found, fit the policy to it.

Each round plays ``samples`` episodes of the current policy on the design in lockstep (the
first its most likely cells, the others sampled; :func:`placer.agent.episodes.play`), keeps
the best episode found so far (the lowest final proxy cost, after the soft-macro stage when
the settings ask for one) and takes ``fit_steps`` gradient steps on it: the cross-entropy of
its cells and the squared error of the values against its returns, the loss behaviour cloning
uses. This is expert iteration with the policy's own sampling as the expert (self-imitation
learning): it moves the policy itself towards the best placement it has found, where PPO on
one design's few hundred episodes left the policy's own best of 8 where it started.

A run folder holds ``run.json``, ``checkpoints/round_N.zip`` (the model with its optimizer)
with ``checkpoints/round_N.npz`` (the best episode so far), written atomically every
``checkpoint_every`` rounds and at the end, and ``final.zip``. Each round's sampling is seeded
from ``(seed, round)`` and the fit is deterministic, so a run resumed from a checkpoint goes on
as the run that never stopped (on the same number of torch threads).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch as th
from sb3_contrib import MaskablePPO

from envs import MacroPlacementEnv
from netlists import Design, Placement
from netlists.textio import atomic_path
from placer.agent.episodes import Episode, Trajectory, play, policy_logits
from placer.agent.imitation import imitation_loss
from placer.agent.training import (
    TrainSettings,
    latest_checkpoint,
    load_policy,
    save_atomically,
    write_record,
)
from placer.cost import CostReport

ROUND = re.compile(r"round_(\d+)\.zip")
SELF_IMITATION_DEFAULTS = {"reward": "dense", "learning_rate": 3e-4, "soft_moves": 2000}
"""Fine-tuning by self-imitation: the dense reward (its returns fit the cloned value head), Adam at
3e-4, and episodes ranked after a soft-macro stage of 2,000 nudges (about 0.2 s on Ariane133), so
that the best episode is the one with the best finished cost, not the best FD leaves."""


@dataclass(frozen=True)
class SelfImitationSettings:
    """How a self-imitation run plays and fits.

    Attributes:
        samples: Episodes per round.
        fit_steps: Gradient steps on the best episode per round.
        checkpoint_every: Rounds between checkpoints.
    """

    samples: int = 8
    fit_steps: int = 8
    checkpoint_every: int = 10

    def __post_init__(self) -> None:
        if self.samples < 1 or self.fit_steps < 1 or self.checkpoint_every < 1:
            raise ValueError("self-imitation needs samples, fit_steps and checkpoint_every >= 1")


@dataclass(frozen=True)
class SelfImitated:
    """What :func:`self_imitate` made: the model written and the best episode its rounds played."""

    checkpoint: Path
    placement: Placement | None
    proxy_cost: float
    steps: int
    episodes: int
    rounds: int


def self_imitate(
    design: str | Design,
    checkpoint: str | Path,
    run: str | Path,
    settings: TrainSettings,
    *,
    steps: int | None = None,
    seconds: float | None = None,
    imitation: SelfImitationSettings | None = None,
    resume: bool = False,
    progress: Callable[[float, float], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> SelfImitated:
    """Fine-tune ``checkpoint`` on ``design`` by self-imitation for ``steps`` episode steps or ``seconds``.

    Args:
        design: A name, path, ``"synthetic:N"`` or the :class:`Design` itself.
        checkpoint: The policy to start from (a model saved by ``train.py``).
        run: The run folder.
        settings: The environment's settings (map size, reward, soft-macro start and stage),
            the learning rate, the seed and the device.
        steps: Budget in episode steps played (macros placed), whichever of the budgets ends first.
        seconds: Budget in wall time of this call, setting up included.
        imitation: Episodes per round, fit steps, checkpoint period.
        resume: Continue from the run's newest checkpoint (a fresh start when there is none).
        progress: Called after each round with the fraction of the budget used and the best cost.
        log: Called with one line per round.

    Raises:
        ValueError: Neither budget is given, or the design cannot be loaded or placed.
    """
    if steps is None and seconds is None:
        raise ValueError("self-imitation needs a budget in steps or seconds")
    asked, started = time.perf_counter(), time.time()
    imitation = imitation or SelfImitationSettings()
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    first = MacroPlacementEnv(design, **settings.env_kwargs())
    envs = [first] + [copy.copy(first) for _ in range(imitation.samples - 1)]
    latest = latest_checkpoint(run, ROUND) if resume else None
    if latest is not None:
        model = MaskablePPO.load(latest, env=first, device=settings.device)
        rounds = int(ROUND.fullmatch(latest.name).group(1))
        best = _load_episode(
            latest.with_suffix(".npz"), lambda placement: first.model.evaluate(placement, first.weights)
        )
    else:
        model = load_policy(checkpoint, first, settings)
        rounds, best = 0, None
    policy = model.policy
    for group in policy.optimizer.param_groups:
        group["lr"] = settings.learning_rate
    per_round = len(first.macro_order) * imitation.samples
    record = {"command": "finetune", "algorithm": "self-imitation", "designs": [first.design.netlist.name],
              "settings": dataclasses.asdict(settings), "imitation": dataclasses.asdict(imitation),
              "start_from": str(checkpoint), "timesteps": steps, "seconds": seconds,
              "resumed_from": None if latest is None else latest.name, "device": str(policy.device)}  # fmt: skip
    write_record(run, record)

    def used() -> float:
        return max(rounds * per_round / steps if steps else 0.0,
                   (time.perf_counter() - asked) / seconds if seconds else 0.0)  # fmt: skip

    saved_round = rounds
    while used() < 1.0:
        seed = int(np.random.SeedSequence([settings.seed, rounds]).generate_state(1)[0] >> 1)
        policy.set_training_mode(False)
        found = play(envs, policy_logits(policy), seed, record=True)
        if found:
            candidate = min(found, key=lambda episode: episode.report.proxy_cost)
            if best is None or candidate.report.proxy_cost < best.report.proxy_cost:
                best = candidate
        nll = math.nan
        if best is not None:
            policy.set_training_mode(True)
            for _ in range(imitation.fit_steps):
                loss, nll_tensor, _ = imitation_loss(policy, best.trajectory)
                policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                policy.optimizer.step()
            nll = float(nll_tensor.detach())
        rounds += 1
        best_cost = math.inf if best is None else best.report.proxy_cost
        if rounds % imitation.checkpoint_every == 0:
            _save(model, best, run, rounds)
            saved_round = rounds
        if progress is not None:
            progress(min(used(), 1.0), best_cost)
        if log is not None:
            sampled = min((episode.report.proxy_cost for episode in found), default=math.inf)
            log(f"round {rounds}: best of this round {sampled:.4f}, best so far {best_cost:.4f}, nll {nll:.3f}")
    if saved_round != rounds:
        _save(model, best, run, rounds)
    final = run / "final.zip"
    save_atomically(model, final)
    best_cost = None if best is None else best.report.proxy_cost
    record.update(rounds=rounds, steps=rounds * per_round, episodes=rounds * imitation.samples,
                  wall_s=time.time() - started, best_proxy_cost=best_cost)  # fmt: skip
    write_record(run, record)
    return SelfImitated(final, None if best is None else best.placement,
                        math.inf if best is None else best.report.proxy_cost, rounds * per_round,
                        rounds * imitation.samples, rounds)  # fmt: skip


def _save(model: MaskablePPO, best: Episode | None, run: Path, rounds: int) -> None:
    """The model and the best episode after ``rounds`` rounds (the episode first: a model without it is not used)."""
    path = run / "checkpoints" / f"round_{rounds}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    if best is not None:
        t, p = best.trajectory, best.placement
        with atomic_path(path.with_suffix(".npz"), suffix=".npz") as tmp:
            np.savez_compressed(tmp, maps=t.maps, vectors=t.vectors, masks=np.packbits(t.masks, axis=1),
                                n_actions=np.array(t.masks.shape[1]), actions=t.actions, returns=t.returns,
                                x=p.x, y=p.y, orientation=p.orientation, fixed=p.fixed)  # fmt: skip
    save_atomically(model, path)


def _load_episode(path: Path, score: Callable[[Placement], CostReport]) -> Episode | None:
    """The best episode saved beside a checkpoint, scored by ``score`` (``None`` when none had finished)."""
    if not path.is_file():
        return None
    with np.load(path) as data:
        masks = np.unpackbits(data["masks"], axis=1, count=int(data["n_actions"])).astype(bool)
        trajectory = Trajectory(data["maps"], data["vectors"], masks, data["actions"], data["returns"])
        placement = Placement(data["x"], data["y"], data["orientation"], data["fixed"])
    return Episode(placement, score(placement), trajectory)
