"""Self-imitation: play a batch of episodes, keep the best one found, fit the policy to it.

Each round plays ``samples`` episodes of the current policy on a design in lockstep (the
first its most likely cells, the others sampled; :func:`placer.agent.episodes.play`), keeps
the best episode found so far (the lowest final proxy cost, after the soft-macro stage when
the settings ask for one) and takes ``fit_steps`` gradient steps on it: the cross-entropy of
its cells and the squared error of the values against its returns, the loss behaviour cloning
uses. This is expert iteration with the policy's own sampling as the expert (self-imitation
learning): it moves the policy itself towards the best placement it has found, where PPO on
one design's few hundred episodes left the policy's own best of 8 where it started.

Ranking by a short soft-macro stage is cheap but noisy: the episode best after 2,000 nudges is
not always best after the 10,000 that ``placer place`` finishes with, and a run could end by
imitating an episode worse than the zero-shot's best. With ``finish_moves`` the candidates are
screened by the environment's stage and kept only by the cost after that longer stage (every
episode of the first round, which plays the zero-shot's batch; the best screened one after):
the episode imitated is never worse, finished as the final play finishes it, than the zero-shot's
best. Given
several designs, the rounds go round them, each design keeping its own best episode: that is
pretraining across designs by expert iteration.

A run folder holds ``run.json``, ``checkpoints/round_N.zip`` (the model with its optimizer)
with ``checkpoints/round_N.npz`` (each design's best episode so far), written atomically every
``checkpoint_every`` rounds and at the end (the newest pair only), and ``final.zip``. Each
round's sampling is seeded from ``(seed, round)`` and the fit is deterministic, so a run
resumed from a checkpoint goes on as the run that never stopped (on the same number of torch
threads).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import time
from collections.abc import Callable, Sequence
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
    design_names,
    latest_checkpoint,
    load_policy,
    save_atomically,
    write_record,
)
from placer.baselines.soft_stage import SoftStage, finish_soft_macros

ROUND = re.compile(r"round_(\d+)\.zip")
SELF_IMITATION_DEFAULTS = {"reward": "dense", "learning_rate": 3e-4, "soft_moves": 2000}
"""Fine-tuning by self-imitation: the dense reward (its returns fit the cloned value head), Adam at
3e-4, and episodes ranked after a soft-macro stage of 2,000 nudges (about 0.2 s on Ariane133), so
that the best episode is the one with the best finished cost, not the best FD leaves."""
FINETUNE_TEMPERATURE = 2.0
"""The sampling temperature of fine-tuning on one design (``placer place``, ``train.py finetune``):
at 1 the rounds after the first found nothing better on half of the real designs tried."""


@dataclass(frozen=True)
class SelfImitationSettings:
    """How a self-imitation run plays and fits.

    Attributes:
        samples: Episodes per round.
        fit_steps: Gradient steps on the best episode per round.
        checkpoint_every: Rounds between checkpoints.
        finish_moves: Keep episodes by their cost after FD and this many soft-macro nudges
            (seeded by the settings' seed, as ``placer place`` finishes its best episode);
            0: by the environment's own soft-macro stage.
        temperature: The sampled episodes' temperature after the first round (above 1: more
            varied episodes, once the policy has fitted its best and its samples stay near it).
    """

    samples: int = 8
    fit_steps: int = 8
    checkpoint_every: int = 10
    finish_moves: int = 0
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if self.samples < 1 or self.fit_steps < 1 or self.checkpoint_every < 1:
            raise ValueError("self-imitation needs samples, fit_steps and checkpoint_every >= 1")
        if self.finish_moves < 0 or not self.temperature > 0:
            raise ValueError("self-imitation needs finish_moves >= 0 and temperature > 0")


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
    designs: str | Design | Sequence[str | Design],
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
    """Train ``checkpoint`` by self-imitation on ``designs`` for ``steps`` episode steps or ``seconds``.

    With one design this is fine-tuning; with several, round ``r`` plays design ``r mod n``
    (pretraining across designs: expert iteration), each design keeping its own best episode.

    Args:
        designs: A name, path, ``"synthetic:N"`` or :class:`Design`, or a list of them.
        checkpoint: The policy to start from (a model saved by ``train.py``).
        run: The run folder.
        settings: The environment's settings (map size, reward, soft-macro start and stage),
            the learning rate, the seed and the device.
        steps: Budget in episode steps played (macros placed), whichever of the budgets ends first.
        seconds: Budget in wall time of this call, setting up included.
        imitation: Episodes per round, fit steps, checkpoint period.
        resume: Continue from the run's newest checkpoint (a fresh start when there is none).
        progress: Called after each round with the fraction of the budget used and the best
            cost of the first design.
        log: Called with one line per round.

    Raises:
        ValueError: Neither budget is given, no design is, or one cannot be loaded or placed.
    """
    if steps is None and seconds is None:
        raise ValueError("self-imitation needs a budget in steps or seconds")
    designs = [designs] if isinstance(designs, str | Path | Design) else list(designs)
    if not designs:
        raise ValueError("self-imitation needs a design")
    asked, started = time.perf_counter(), time.time()
    imitation = imitation or SelfImitationSettings()
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    batch = _Batch(designs, settings, imitation.samples)
    latest = latest_checkpoint(run, ROUND) if resume else None
    if latest is not None:
        model = MaskablePPO.load(latest, env=batch.of(0)[0], device=settings.device)
        rounds = int(ROUND.fullmatch(latest.name).group(1))
        played, saved = _load_episodes(latest.with_suffix(".npz"))
    else:
        model = load_policy(checkpoint, batch.of(0)[0], settings)
        rounds, played, saved = 0, 0, {}
    bests: dict[int, Episode] = {}
    policy = model.policy
    for group in policy.optimizer.param_groups:
        group["lr"] = settings.learning_rate
    record = {"command": "self-imitation", "algorithm": "self-imitation", "designs": design_names(designs),
              "settings": dataclasses.asdict(settings), "imitation": dataclasses.asdict(imitation),
              "start_from": str(checkpoint), "timesteps": steps, "seconds": seconds,
              "resumed_from": None if latest is None else latest.name, "device": str(policy.device)}  # fmt: skip
    write_record(run, record)

    def used() -> float:
        return max(played / steps if steps else 0.0, (time.perf_counter() - asked) / seconds if seconds else 0.0)

    def best_cost(k: int) -> float:
        return bests[k].report.proxy_cost if k in bests else math.inf

    def finish(env: MacroPlacementEnv, episode: Episode) -> Episode:
        done = finish_soft_macros(env.model, episode.placement, SoftStage(imitation.finish_moves), seed=settings.seed,
                                  weights=env.weights, fd_schedule=env.fd_schedule)  # fmt: skip
        return Episode(done.placement, done.report, episode.trajectory)

    saved_round = rounds
    while used() < 1.0:
        k = rounds % len(designs)
        envs = batch.of(k)
        if k in saved:  # kept by the checkpoint this run resumed from; scored now that its design is loaded
            placement, trajectory = saved.pop(k)
            bests[k] = Episode(placement, envs[0].model.evaluate(placement, envs[0].weights), trajectory)
        first = rounds < len(designs)  # the zero-shot's batch: placer place plays these seeds
        seed = settings.seed if first else _round_seed(settings.seed, rounds)
        policy.set_training_mode(False)
        temperature = 1.0 if first else imitation.temperature
        found = play(envs, policy_logits(policy), seed, record=True, temperature=temperature)
        found.sort(key=lambda episode: episode.report.proxy_cost)
        if imitation.finish_moves:
            found = [finish(envs[0], episode) for episode in (found if first else found[:1])]
        if found:
            candidate = min(found, key=lambda episode: episode.report.proxy_cost)
            if candidate.report.proxy_cost < best_cost(k):
                bests[k] = candidate
        nll = math.nan
        if k in bests:
            policy.set_training_mode(True)
            for _ in range(imitation.fit_steps):
                loss, nll_tensor, _ = imitation_loss(policy, bests[k].trajectory)
                policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
                policy.optimizer.step()
            nll = float(nll_tensor.detach())
        rounds += 1
        played += len(envs[0].macro_order) * len(envs)
        if rounds % imitation.checkpoint_every == 0:
            _save(model, {**saved, **{j: (e.placement, e.trajectory) for j, e in bests.items()}}, played, run, rounds)
            saved_round = rounds
        if progress is not None:
            progress(min(used(), 1.0), best_cost(0))
        if log is not None:
            sampled = min((episode.report.proxy_cost for episode in found), default=math.inf)
            named = f" {envs[0].design.netlist.name}:" if len(designs) > 1 else ""
            log(f"round {rounds}:{named} best of this round {sampled:.4f}, best so far {best_cost(k):.4f}, "
                f"nll {nll:.3f}")  # fmt: skip
    if saved_round != rounds:
        _save(model, {**saved, **{j: (e.placement, e.trajectory) for j, e in bests.items()}}, played, run, rounds)
    final = run / "final.zip"
    save_atomically(model, final)
    first = bests.get(0)
    record.update(rounds=rounds, steps=played, episodes=rounds * imitation.samples, wall_s=time.time() - started,
                  best_proxy_cost=None if first is None else first.report.proxy_cost)  # fmt: skip
    write_record(run, record)
    return SelfImitated(final, None if first is None else first.placement, best_cost(0), played,
                        rounds * imitation.samples, rounds)  # fmt: skip


def _round_seed(seed: int, rounds: int) -> int:
    """The sampling seed of round ``rounds`` after the first."""
    return int(np.random.SeedSequence([seed, rounds]).generate_state(1)[0] >> 1)


class _Batch:
    """The ``samples`` environments of one design at a time, built when a round first plays it."""

    def __init__(self, designs: list[str | Design], settings: TrainSettings, samples: int) -> None:
        self.designs, self.settings, self.samples = designs, settings, samples
        self.index, self.envs = -1, []

    def of(self, k: int) -> list[MacroPlacementEnv]:
        if k != self.index:
            first = MacroPlacementEnv(self.designs[k], **self.settings.env_kwargs())
            self.index, self.envs = k, [first] + [copy.copy(first) for _ in range(self.samples - 1)]
        return self.envs


def _save(model: MaskablePPO, bests: dict[int, tuple[Placement, Trajectory]], played: int, run: Path,
          rounds: int) -> None:  # fmt: skip
    """The model after ``rounds`` rounds, with each design's best episode and the steps played.

    The episodes go first: a model without its file is not used. Older checkpoints are removed
    (a run across many designs keeps many episodes, and resuming needs only the newest).
    """
    path = run / "checkpoints" / f"round_{rounds}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {"played": np.array(played)}
    for k, (p, t) in bests.items():
        fields = dict(maps=t.maps, vectors=t.vectors, masks=np.packbits(t.masks, axis=1),
                      n_actions=np.array(t.masks.shape[1]), actions=t.actions, returns=t.returns,
                      x=p.x, y=p.y, orientation=p.orientation, fixed=p.fixed)  # fmt: skip
        arrays.update({f"{k}/{name}": value for name, value in fields.items()})
    with atomic_path(path.with_suffix(".npz"), suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    save_atomically(model, path)
    for older in path.parent.glob("round_*.*"):
        if (m := re.fullmatch(r"round_(\d+)\.(zip|npz)", older.name)) and int(m.group(1)) < rounds:
            older.unlink()


def _load_episodes(path: Path) -> tuple[int, dict[int, tuple[Placement, Trajectory]]]:
    """The steps played and each design's best episode, as saved beside a checkpoint."""
    with np.load(path) as data:
        found: dict[int, tuple[Placement, Trajectory]] = {}
        for k in sorted({int(key.split("/")[0]) for key in data.files if "/" in key}):
            d = {name: data[f"{k}/{name}"] for name in ("maps", "vectors", "masks", "n_actions", "actions",
                                                         "returns", "x", "y", "orientation", "fixed")}  # fmt: skip
            masks = np.unpackbits(d["masks"], axis=1, count=int(d["n_actions"])).astype(bool)
            trajectory = Trajectory(d["maps"], d["vectors"], masks, d["actions"], d["returns"])
            found[k] = (Placement(d["x"], d["y"], d["orientation"], d["fixed"]), trajectory)
        return int(data["played"]), found
