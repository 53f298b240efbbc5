"""A batch of policy episodes played in lockstep: one forward pass per step for all of them.

Zero-shot placement plays them to keep the best; fine-tuning by self-imitation
(:mod:`placer.agent.self_imitation`) also records what each step saw and chose, to fit the
policy to its best episode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch as th

from envs import MacroPlacementEnv
from netlists import Placement
from placer.cost import CostReport

PIPELINE_CELLS = 64 * 64  # grids this large overlap the network and the environments (see play)

Logits = Callable[[dict[str, np.ndarray], np.ndarray], th.Tensor]
"""The masked logits (``batch x actions``) of a batch of observations and their action masks."""


def policy_logits(policy) -> Logits:
    """The :data:`Logits` of a torch policy (a ``PlacementPolicy``), in evaluation mode."""

    def logits(batch: dict[str, np.ndarray], masks: np.ndarray) -> th.Tensor:
        tensors, _ = policy.obs_to_tensor(batch)
        return policy.get_distribution(tensors, masks).distribution.logits

    return logits


@dataclass
class Trajectory:
    """The steps of one episode: what the policy saw, what was legal, what it chose, what followed.

    Attributes:
        maps, vectors: The observations before each step.
        masks: The legal actions before each step (booleans, ``steps x actions``).
        actions: The actions taken.
        returns: The sum of the rewards from each step to the end.
    """

    maps: np.ndarray
    vectors: np.ndarray
    masks: np.ndarray
    actions: np.ndarray
    returns: np.ndarray


@dataclass
class Episode:
    """A finished episode: its placement, its cost and, when recorded, its steps."""

    placement: Placement
    report: CostReport
    trajectory: Trajectory | None = None


def play(
    envs: Sequence[MacroPlacementEnv],
    logits: Logits,
    seed: int,
    *,
    greedy_first: bool = True,
    record: bool = False,
    progress: Callable[[float, float], None] | None = None,
    temperature: float = 1.0,
) -> list[Episode]:
    """Play one episode in each of ``envs`` (reset with seeds ``seed + k``); returns those that finished legally.

    The first episode takes the most likely action each step (unless not ``greedy_first``);
    the others sample (Gumbel-max on a generator seeded by ``seed``, so a batch repeats and
    torch's global generator is left alone), from the logits over ``temperature`` (above 1:
    flatter, more varied episodes). On grids of ``PIPELINE_CELLS`` cells or more the
    episodes run in two halves: while the network takes the pass of one half, a worker thread
    steps the other half's environments (torch and numpy leave the interpreter lock
    meanwhile), so two cores overlap. Measured with 8 episodes of 400 macros: 42 s -> 33 s at
    128 x 128, 15.5 s -> 13.7 s at 64 x 64; on Ariane133's 24 x 21 the hand-off cost more
    (2.8 s -> 3.25 s), hence the threshold. ``progress(fraction of the steps played, best
    proxy cost so far)`` is called as they go. With ``record``, each episode keeps its
    :class:`Trajectory`. Only one thread steps environments at a time.
    """
    observations = [env.reset(seed=seed + k)[0] for k, env in enumerate(envs)]
    noise = th.Generator().manual_seed(seed)
    steps = [dict(maps=[], vectors=[], masks=[], actions=[], rewards=[]) if record else None for _ in envs]
    finished: list[Episode | None] = [None] * len(envs)
    best, played = math.inf, 0
    total = max(len(envs[0].macro_order), 1) * len(envs)
    pending_masks: dict[int, np.ndarray] = {}

    def choose(active: list[int]) -> list[int]:
        """One forward pass: the actions of the episodes ``active``."""
        if not active:
            return []
        batch = {key: np.stack([observations[k][key] for k in active]) for key in observations[active[0]]}
        masks = np.stack([envs[k].action_masks() for k in active])
        with th.no_grad():
            scores = logits(batch, masks)
            uniform = th.rand(scores.shape, generator=noise).clamp_(1e-12, 1.0)
            sampled = (scores / temperature - th.log(-th.log(uniform))).argmax(dim=1)
            likeliest = scores.argmax(dim=1)
        if record:
            for row, k in enumerate(active):
                pending_masks[k] = masks[row]
        return [int(likeliest[row] if k == 0 and greedy_first else sampled[row]) for row, k in enumerate(active)]

    def step(active: list[int], actions: list[int]) -> list[int]:
        """Step the episodes ``active``; returns those still running."""
        nonlocal best, played
        still = []
        for k, action in zip(active, actions, strict=True):
            seen = observations[k]
            observations[k], reward, terminated, _, info = envs[k].step(action)
            if record:
                for key, value in (("maps", seen["maps"]), ("vectors", seen["vector"]), ("masks", pending_masks[k]),
                                   ("actions", action), ("rewards", reward)):  # fmt: skip
                    steps[k][key].append(value)
            if not terminated:
                still.append(k)
            elif not info["infeasible"]:
                finished[k] = Episode(envs[k].placement, envs[k].report, _trajectory(steps[k]) if record else None)
                best = min(best, envs[k].report.proxy_cost)
        played += len(active)
        if progress is not None:
            progress(min(played / total, 1.0), best)
        return still

    layout = envs[0].layout
    if layout.rows * layout.cols < PIPELINE_CELLS:  # small maps: all in one pass, no hand-off
        active = list(range(len(envs)))
        while active:
            active = step(active, choose(active))
    else:
        halves = [list(range(0, len(envs), 2)), list(range(1, len(envs), 2))]
        with ThreadPoolExecutor(max_workers=1) as worker:
            actions = choose(halves[0])
            while halves[0] or halves[1]:
                for this, other in ((0, 1), (1, 0)):
                    stepping = worker.submit(step, halves[this], actions)
                    actions = choose(halves[other])  # the network on the other half meanwhile
                    halves[this] = stepping.result()
    return [episode for episode in finished if episode is not None]


def _trajectory(steps: dict[str, list]) -> Trajectory:
    rewards = np.asarray(steps["rewards"], dtype=np.float64)
    returns = np.cumsum(rewards[::-1])[::-1].astype(np.float32)
    return Trajectory(np.stack(steps["maps"]), np.stack(steps["vectors"]), np.stack(steps["masks"]),
                      np.asarray(steps["actions"], dtype=np.int64), returns)  # fmt: skip
