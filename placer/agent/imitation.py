"""A warm start for the policy: demonstrations from the baselines, then behaviour cloning.

A design's demonstration is the better of two placements of its hard macros, greedy's and
annealing's (run from greedy's for ``anneal_seconds``), each *replayed* through
:class:`~envs.MacroPlacementEnv` cell by cell. Replaying records exactly what the policy
will see (maps, vector, mask) next to the cell the demonstrator chose, and scores the
placement the env's way: annealing also moves the soft macros, but only its hard-macro
cells are kept and the env's force-directed placement puts the soft macros down, so the
replayed cost, not annealing's own, picks the demonstrator. Neither wins everywhere, which
is why both are tried.

Cloning fits the policy's logits to the demonstrated cells (cross-entropy over the legal
cells), starting from the network's wirelength prior, and its value head to the
demonstrations' returns (the env's rewards from each step to the end), so that PPO
(``train.py pretrain --from``, ``finetune``) starts with a critic that knows the scale of the
returns; without it, PPO's first updates follow noise and undo what cloning learnt.

Demonstrations are written one ``.npz`` per design, atomically, so collecting resumes where
it stopped; cloning writes a checkpoint per epoch and resumes from the newest.
"""

from __future__ import annotations

import contextlib
import json
import math
import multiprocessing
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from sb3_contrib import MaskablePPO

from envs import MacroPlacementEnv
from netlists import NetlistFormatError, Placement, synthetic
from netlists.textio import atomic_path
from placer.agent.episodes import Trajectory
from placer.agent.policy import PlacementPolicy
from placer.agent.training import TrainSettings, latest_checkpoint, save_atomically
from placer.baselines import place

EPOCH = re.compile(r"epoch_(\d+)\.zip")
VALUE_WEIGHT = 0.5  # of the value error in the cloning loss (PPO's value coefficient)


@dataclass(frozen=True)
class Demonstration:
    """One design's replayed episode.

    Attributes:
        maps, vectors: The observations before each step (``uint8`` maps, ``float32`` vectors).
        masks: The legal actions before each step, bit-packed (``np.packbits`` along the actions).
        actions: The demonstrated actions.
        returns: The env's rewards from each step to the end of the episode.
        cost: The env's final proxy cost of the episode.
        demonstrator: ``"greedy"`` or ``"sa"``.
        costs: The replayed cost of each demonstrator tried.
    """

    maps: np.ndarray
    vectors: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    returns: np.ndarray
    cost: float
    demonstrator: str
    costs: dict[str, float]


def replay(env: MacroPlacementEnv, placement: Placement) -> tuple[float, tuple[np.ndarray, ...]] | None:
    """Play ``placement``'s hard-macro cells through ``env``.

    Returns ``(final cost, (maps, vectors, masks, actions, returns))``, the arrays one row per step.

    Returns ``None`` when a macro's centre is not on a legal cell of the env, or its orientation is not
    one the env's actions give.
    """
    fp, layout = env.design.floorplan, env.layout
    observation, _ = env.reset(seed=0)
    maps, vectors, masks, actions, rewards = [], [], [], [], []
    for node in env.macro_order:
        orientation = int(placement.orientation[node]) if layout.orientations != (None,) else None
        if orientation is not None and orientation not in layout.orientations:
            return None
        action = layout.encode_point(fp, placement.x[node], placement.y[node], orientation)
        mask = env.action_masks()
        if not mask[action]:
            return None
        maps.append(observation["maps"])
        vectors.append(observation["vector"])
        masks.append(np.packbits(mask))
        actions.append(action)
        observation, reward, _, _, _ = env.step(action)
        rewards.append(reward)
    if env.report is None:
        return None
    arrays = (np.stack(maps), np.stack(vectors), np.stack(masks), np.array(actions, np.int64), _returns(rewards))
    return env.report.proxy_cost, arrays


def _returns(rewards: Sequence[float]) -> np.ndarray:
    """The sum of the rewards from each step to the end."""
    return np.cumsum(np.asarray(rewards, dtype=np.float64)[::-1])[::-1].astype(np.float32)


def demonstrate(
    design: str, settings: TrainSettings, anneal_seconds: float, seed: int = 0, anneal_moves: int | None = None
) -> Demonstration:
    """The better replayed placement of greedy and annealing on ``design`` (a name, path or ``synthetic:N``).

    ``anneal_moves`` (when given) replaces the wall-clock budget, for repeatable runs.

    Raises:
        ValueError: The design cannot be loaded or its macros do not fit on its canvas.
    """
    env = MacroPlacementEnv(design, **settings.env_kwargs())
    greedy = place(env.design, "greedy", seed=seed)
    budget = {"moves": anneal_moves} if anneal_moves is not None else {"seconds": anneal_seconds}
    annealed = place(env.design, "sa", seed=seed, **budget)
    found = {name: replay(env, result.placement) for name, result in (("greedy", greedy), ("sa", annealed))}
    found = {name: episode for name, episode in found.items() if episode is not None}
    if not found:
        raise ValueError(f"{design}: no placement could be replayed on the env's grid")
    best = min(found, key=lambda name: found[name][0])
    cost, arrays = found[best]
    return Demonstration(*arrays, cost, best, {k: v[0] for k, v in found.items()})


def demo_path(folder: Path, design: str) -> Path:
    """Where ``design``'s demonstration is stored in ``folder``."""
    return folder / (re.sub(r"[^A-Za-z0-9_.-]+", "-", design).strip("-") + ".npz")


def _needs_work(path: Path, settings: TrainSettings) -> bool:
    """Whether the demonstration at ``path`` is missing, or has no returns for ``settings.reward``."""
    if not path.exists():
        return True
    with np.load(path) as data:
        return "skipped" not in data and ("returns" not in data or str(data.get("reward")) != settings.reward)


def _collect_one(job: tuple[str, Path, TrainSettings, float, int | None]) -> tuple[str, str]:
    design, folder, settings, seconds, moves = job
    th.set_num_threads(1)
    path = demo_path(folder, design)
    if path.exists():  # recorded before, without returns for this reward: replay its cells for them
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
        env = MacroPlacementEnv(design, **settings.env_kwargs())
        env.reset(seed=0)
        arrays["returns"] = _returns([env.step(int(action))[1] for action in arrays["actions"]])
        summary = f"returns added for the {settings.reward} reward"
    else:
        try:
            demo = demonstrate(design, settings, seconds, seed=settings.seed, anneal_moves=moves)
        except (ValueError, NetlistFormatError) as error:  # a crowded generated canvas, say: recorded, not fatal
            arrays, summary = {"skipped": np.array(str(error))}, f"skipped ({error})"
        else:
            arrays = {"maps": demo.maps, "vectors": demo.vectors, "masks": demo.masks, "actions": demo.actions,
                      "returns": demo.returns, "cost": np.array(demo.cost), "demonstrator": np.array(demo.demonstrator),
                      "costs": np.array(json.dumps(demo.costs))}  # fmt: skip
            costs = ", ".join(f"{k} {v:.4f}" for k, v in demo.costs.items())
            summary = f"{demo.actions.size} steps, {demo.demonstrator} kept ({costs})"
    arrays.update(max_grid=np.array(settings.max_grid), reward=np.array(settings.reward))
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return design, summary


def collect(
    designs: Sequence[str],
    folder: str | Path,
    settings: TrainSettings,
    anneal_seconds: float,
    *,
    anneal_moves: int | None = None,
    workers: int = 1,
    report: Callable[[int, int, str, str], None] | None = None,
) -> Path:
    """Demonstrations of ``designs`` in ``folder`` (those already there are kept: a stopped run resumes).

    A demonstration recorded without returns for ``settings.reward`` (by an older version, or
    for the other reward) gets them by replaying its cells, which is quick.

    Args:
        designs: Names, paths or ``"synthetic:N"``.
        folder: Where the ``.npz`` files go.
        settings: Map size, reward and FD schedule of the env the demonstrations are replayed in.
        anneal_seconds: Annealing's budget per design.
        anneal_moves: Annealing's budget in moves instead (repeatable).
        workers: Designs demonstrated in parallel (processes).
        report: Called with ``(done, total, design, summary)`` after each design.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    todo = [d for d in designs if _needs_work(demo_path(folder, d), settings)]
    done = len(designs) - len(todo)
    jobs = [(design, folder, settings, anneal_seconds, anneal_moves) for design in todo]
    parallel = workers > 1 and len(jobs) > 1
    with multiprocessing.get_context("spawn").Pool(workers) if parallel else contextlib.nullcontext() as pool:
        for design, summary in pool.imap_unordered(_collect_one, jobs) if parallel else map(_collect_one, jobs):
            done += 1
            if report:
                report(done, len(designs), design, summary)
    return folder


def load_demonstrations(
    folder: str | Path, max_grid: int, designs: Sequence[str] | None = None, reward: str | None = None
) -> tuple[np.ndarray, ...]:
    """The demonstrations of ``designs`` (default: all) in ``folder``, stacked.

    Returns ``(maps, vectors, masks, actions, returns)``.

    Designs recorded as skipped (they did not fit their canvas) are left out.

    Raises:
        ValueError: None there, one of ``designs`` missing, or one recorded for another map size
            or without returns for ``reward`` (when given).
    """
    paths = sorted(Path(folder).glob("*.npz")) if designs is None else [demo_path(Path(folder), d) for d in designs]
    keys = ("maps", "vectors", "masks", "actions", "returns")
    parts: list[list[np.ndarray]] = [[] for _ in keys]
    for path in paths:
        if not path.is_file():
            raise ValueError(f"{path}: no such demonstration (collect it first)")
        with np.load(path) as data:
            if "skipped" in data:
                continue
            if int(data["max_grid"]) != max_grid:
                raise ValueError(f"{path}: recorded with max_grid {int(data['max_grid'])}, not {max_grid}")
            if "returns" not in data or reward is not None and str(data.get("reward")) != reward:
                wanted = "" if reward is None else f" for the {reward} reward"
                raise ValueError(f"{path}: no returns{wanted}; collect again to add them")
            for part, key in zip(parts, keys, strict=True):
                part.append(data[key])
    if not parts[0]:
        raise ValueError(f"no demonstrations in {folder}")
    return tuple(np.concatenate(part) for part in parts)


def imitation_loss(policy, steps: Trajectory) -> tuple[th.Tensor, th.Tensor, Any]:
    """``(loss, negative log-likelihood, action distribution)`` of a policy on demonstrated steps.

    The loss is the mean negative log-likelihood of the demonstrated actions plus
    ``VALUE_WEIGHT`` times the mean squared error of the values against the returns.
    """
    device = policy.device
    observation = {"maps": th.as_tensor(steps.maps, device=device),
                   "vector": th.as_tensor(steps.vectors, device=device)}  # fmt: skip
    distribution, values = policy.distribution_and_values(observation, steps.masks)
    nll = -distribution.log_prob(th.as_tensor(steps.actions, device=device)).mean()
    value_error = th.mean((values.flatten() - th.as_tensor(steps.returns, device=device)) ** 2)
    return nll + VALUE_WEIGHT * value_error, nll, distribution


def clone(
    demos: str | Path,
    run: str | Path,
    settings: TrainSettings,
    epochs: int,
    *,
    designs: Sequence[str] | None = None,
    design: str | None = None,
    resume: bool = False,
    report: Callable[[int, float, float], None] | None = None,
) -> Path:
    """Fit a fresh policy to the demonstrations in ``demos``; returns ``run/final.zip``.

    The loss is the negative log-likelihood of the demonstrated cells plus ``VALUE_WEIGHT``
    times the squared error of the values against the returns. Minibatches of
    ``settings.batch_size`` steps; Adam at ``settings.learning_rate``. After each epoch
    ``report(epoch, mean negative log-likelihood, share of steps where the most likely legal
    cell is the demonstrated one)`` is called and ``checkpoints/epoch_<N>.zip`` written; asked
    to resume, the run continues from the newest.

    Args:
        demos: Folder of demonstrations (:func:`collect`).
        designs: The designs whose demonstrations to fit (default: every one in the folder).
        run: The run folder.
        settings: Map size and network width (must match the demonstrations), batch size, learning rate, seed.
        epochs: Passes over the demonstrations in all.
        design: A design to build the model's spaces from (any design that fits the map; by
            default ``synthetic:0`` drawn to fit it).
        resume: Continue from the run's newest epoch checkpoint.
        report: Called after each epoch (see above).
    """
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    maps, vectors, masks, actions, returns = load_demonstrations(demos, settings.max_grid, designs, settings.reward)
    env = MacroPlacementEnv(design or synthetic.capped("synthetic:0", settings.max_grid), **settings.env_kwargs())
    checkpoint = latest_checkpoint(run, EPOCH) if resume else None
    if checkpoint is not None:
        model = MaskablePPO.load(checkpoint, env=env, device=settings.device)
        first = int(EPOCH.fullmatch(checkpoint.name).group(1))
    else:
        model = MaskablePPO(PlacementPolicy, env, **settings.ppo_kwargs())
        first = 0
    policy = model.policy
    policy.set_training_mode(True)
    for group in policy.optimizer.param_groups:
        group["lr"] = settings.learning_rate
    n_actions = int(env.action_space.n)
    rng = np.random.default_rng(settings.seed + first)
    th.manual_seed(settings.seed + first)
    for epoch in range(first + 1, epochs + 1):
        total_nll, hits = 0.0, 0
        for batch in np.array_split(rng.permutation(actions.size), math.ceil(actions.size / settings.batch_size)):
            legal = np.unpackbits(masks[batch], axis=1, count=n_actions).astype(bool)
            steps = Trajectory(maps[batch], vectors[batch], legal, actions[batch], returns[batch])
            loss, nll, distribution = imitation_loss(policy, steps)
            target = th.as_tensor(actions[batch], device=policy.device)
            policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
            policy.optimizer.step()
            total_nll += float(nll.detach()) * batch.size
            hits += int((distribution.distribution.probs.argmax(dim=1) == target).sum())
        save_atomically(model, run / "checkpoints" / f"epoch_{epoch}.zip")
        if report:
            report(epoch, total_nll / actions.size, hits / actions.size)
    final = run / "final.zip"
    save_atomically(model, final)
    return final
