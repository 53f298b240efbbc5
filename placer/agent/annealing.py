"""Learned annealing: a PPO policy that steers simulated annealing's moves, trained across designs.

The policy reads an annealing run's features once per block (``AnnealSettings.decisions``
blocks a run) and chooses the next block's move mix, temperature scale, shift radius and
nudge (``envs.anneal_env``). It is trained with stable-baselines3's PPO on
``AnnealControl-v0`` over generated designs, the return being the run's total gain. At
placement time it costs one small forward pass per block, so learned annealing makes as
many moves per CPU-second as plain annealing; only the choices differ.

The untrained network outputs (nearly) zero actions, which is annealing's own settings:
:func:`prior_controller` is that control.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.save_util import load_from_zip_file
from stable_baselines3.common.vec_env import VecEnv

from envs.anneal_env import MAX_MOVES, MOVES_PER_NODE, AnnealControlEnv, make_anneal_env, move_mix
from netlists import Design, Placement, synthetic
from placer.agent.policy import NoOptimizer
from placer.agent.training import (
    Checkpoints,
    WallClock,
    bundled_file,
    closing_workers,
    dealt_vec_env,
    design_names,
    latest_checkpoint,
    save_atomically,
    write_record,
)
from placer.baselines import AnnealResult, AnnealSettings, MoveMix, anneal
from placer.cost import CostModel

BUNDLED_CONTROLLERS = {"greedy": "anneal_controller.zip", "analytic": "anneal_controller_analytic.zip"}
"""The shipped controller of each start (``envs.anneal_env.STARTS``), trained from it."""


@dataclass(frozen=True)
class ControllerSettings:
    """Environment and PPO settings of a controller's training run.

    Attributes:
        n_envs: Environments in parallel (worker processes when more than one).
        moves_per_node: Range of a training run's budget in moves per movable macro.
        max_moves: Cap on a training run's moves.
        start: Where training runs start: ``"greedy"`` or ``"analytic"`` (the analytic flow's
            polish, as ``placer place --method rl --budget`` plays it; ``envs.anneal_env.STARTS``).
        learning_rate: Adam step size.
        n_steps: Steps (blocks) per environment between updates.
        batch_size: Minibatch size.
        n_epochs: Passes over each rollout.
        gae_lambda: GAE's lambda (the discount is 1: the return is the run's whole gain).
        log_std_init: Initial log standard deviation of the actions.
        width: Units of each of the two hidden layers of the policy and the value networks.
        checkpoint_every: Steps between checkpoints.
        seed: Seed of the networks, the environments and the design draws.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        ray: Where the annealing runs go: ``None`` for processes on this machine, else a Ray
            cluster's address, or ``"local"`` (:mod:`placer.agent.distributed`).
    """

    n_envs: int = 2
    moves_per_node: tuple[float, float] = MOVES_PER_NODE
    max_moves: int = MAX_MOVES
    start: str = "greedy"
    learning_rate: float = 3e-4
    n_steps: int = 128
    batch_size: int = 64
    n_epochs: int = 10
    gae_lambda: float = 0.95
    log_std_init: float = -1.0
    width: int = 64
    checkpoint_every: int = 2048
    seed: int = 0
    device: str = "auto"
    ray: str | None = None

    def ppo_kwargs(self) -> dict[str, object]:
        """Keyword arguments of ``PPO``."""
        return dict(learning_rate=self.learning_rate, n_steps=self.n_steps, batch_size=self.batch_size,
                    n_epochs=self.n_epochs, gamma=1.0, gae_lambda=self.gae_lambda, clip_range=0.2, ent_coef=0.0,
                    vf_coef=0.5, max_grad_norm=0.5, seed=self.seed, device=self.device,
                    policy_kwargs={"net_arch": [self.width] * 2, "log_std_init": self.log_std_init})  # fmt: skip

    def env_kwargs(self) -> dict[str, object]:
        """Keyword arguments of every environment."""
        return {"moves_per_node": tuple(self.moves_per_node), "max_moves": self.max_moves, "start": self.start}


def make_controller_vec_env(designs: Sequence[str | Design], settings: ControllerSettings) -> VecEnv:
    """``n_envs`` environments, the designs dealt out among them (all of them to each when fewer)."""
    return dealt_vec_env(make_anneal_env, designs, settings.n_envs, settings.seed, settings.env_kwargs(), settings.ray)


def train_controller(
    designs: Sequence[str | Design],
    timesteps: int,
    run: str | Path,
    settings: ControllerSettings | None = None,
    *,
    start_from: str | Path | None = None,
    resume: bool = False,
    progress_bar: bool = True,
    seconds: float | None = None,
) -> Path:
    """Train an annealing controller on ``designs`` for ``timesteps`` blocks (or ``seconds``); returns ``final.zip``.

    The run folder gets ``run.json``, ``checkpoints/step_<N>.zip`` (every ``checkpoint_every``
    steps and at the end), ``tb/`` and ``final.zip``; ``start_from`` is a saved controller whose
    weights (and optimiser state) the run starts from, with ``settings``' PPO settings and a
    step count from zero; ``resume`` continues from the run's newest checkpoint.

    Raises:
        ValueError: A design cannot be loaded.
    """
    settings = settings or ControllerSettings()
    run = Path(run)
    started, asked = time.time(), time.perf_counter()
    for design in designs:  # a bad generated name fails here in one line, not in a worker
        if isinstance(design, str) and synthetic.is_name(design):
            try:
                synthetic.seed_of(design)
            except ValueError as error:
                raise ValueError(f"design {design}: {error}") from None
    run.mkdir(parents=True, exist_ok=True)
    with closing_workers(make_controller_vec_env(designs, settings)) as vec_env:
        checkpoint = latest_checkpoint(run) if resume else None
        if checkpoint is not None:
            model = PPO.load(checkpoint, env=vec_env, device=settings.device)
        elif start_from is not None:
            changed = {k: v for k, v in settings.ppo_kwargs().items() if k not in ("policy_kwargs", "device")}
            model = PPO.load(start_from, env=vec_env, device=settings.device, **changed)
            model.num_timesteps = 0
        else:
            model = PPO("MlpPolicy", vec_env, **settings.ppo_kwargs())
        model.tensorboard_log = str(run / "tb")
        record = {"command": "anneal", "designs": design_names(designs), "timesteps": timesteps,
                  "settings": dataclasses.asdict(settings), "seconds": seconds,
                  "start_from": None if start_from is None else str(start_from),
                  "resumed_from": None if checkpoint is None else checkpoint.name, "device": str(model.device),
                  "cuda": th.cuda.is_available()}  # fmt: skip
        write_record(run, record)
        remaining = max(timesteps - model.num_timesteps, 0)
        if remaining:
            stop = [] if seconds is None else [WallClock(seconds, since=asked)]
            checkpoints = Checkpoints(run, settings.checkpoint_every, settings.seed, resumed=checkpoint is not None)
            callback = CallbackList([checkpoints, *stop])
            model.learn(remaining, callback=callback, tb_log_name="ppo", reset_num_timesteps=checkpoint is None,
                        progress_bar=progress_bar)  # fmt: skip
        final = run / "final.zip"
        save_atomically(model, final)
        # Also as the newest checkpoint, so a run stopped by its clock resumes from where it stopped.
        save_atomically(model, run / "checkpoints" / f"step_{model.num_timesteps}.zip")
        record["wall_s"], record["steps"] = time.time() - started, model.num_timesteps
        write_record(run, record)
        return final


def bundled_controller(start: str = "greedy") -> Path:
    """The pretrained annealing controller shipped in the package for runs from ``start``.

    ``"greedy"``: trained from greedy placements (it also steers annealing from the policy's
    placement); ``"analytic"``: trained as the analytic flow's polish.

    Raises:
        ValueError: An unknown start.
        FileNotFoundError: The package was built without it.
    """
    if start not in BUNDLED_CONTROLLERS:
        raise ValueError(f"unknown start {start!r} (expected one of {', '.join(BUNDLED_CONTROLLERS)})")
    return bundled_file(BUNDLED_CONTROLLERS[start], f"annealing controller ({start} start)", f"anneal --start {start}")


class LearnedController:
    """A trained policy as annealing's controller: features in, the most likely move mix out.

    Args:
        policy: A model saved by ``train.py anneal`` (a path) or a loaded ``PPO``.
        settings: Annealing's settings the actions are offsets of.
    """

    def __init__(self, policy: str | Path | PPO, settings: AnnealSettings | None = None) -> None:
        self.model = policy if isinstance(policy, PPO) else load_for_inference(policy)
        self.settings = settings or AnnealSettings()
        self.mixes: list[MoveMix] = []  # what it chose, block by block

    def __call__(self, features: np.ndarray) -> MoveMix:
        """The move mix of the next block."""
        with th.no_grad():
            action, _ = self.model.predict(features, deterministic=True)
        mix = move_mix(action, self.settings)
        self.mixes.append(mix)
        return mix


def load_for_inference(path: str | Path) -> PPO:
    """A saved controller on the CPU, without its optimizer's state (it cannot be trained on)."""
    data, _, _ = load_from_zip_file(path, device="cpu")
    kwargs = {**data["policy_kwargs"], "optimizer_class": NoOptimizer}
    return PPO.load(path, device="cpu", custom_objects={"policy_kwargs": kwargs})


def prior_controller(settings: AnnealSettings | None = None, seed: int = 0) -> LearnedController:
    """The untrained network (seeded as a training run starts): the control that shows what training added."""
    env = AnnealControlEnv(["synthetic:0"], settings=settings)  # only its spaces are used; no design is built
    return LearnedController(PPO("MlpPolicy", env, **ControllerSettings(seed=seed, device="cpu").ppo_kwargs()),
                             settings)  # fmt: skip


def learned_anneal(
    model: CostModel,
    placement: Placement,
    *,
    controller: Callable[[np.ndarray], MoveMix] | str | Path | None = None,
    settings: AnnealSettings | None = None,
    **options: Any,
) -> AnnealResult:
    """:func:`placer.baselines.anneal` steered by ``controller`` (a callable, a saved model, or the bundled one).

    ``options`` are :func:`~placer.baselines.anneal`'s: the budget (``seconds`` on ``clock``,
    ``moves``), ``seed``, ``weights``, ``fd_schedule``, ``progress``.
    """
    settings = settings or AnnealSettings()
    return anneal(model, placement, settings=settings, controller=as_controller(controller, settings), **options)


def as_controller(
    controller: Callable[[np.ndarray], MoveMix] | str | Path | None,
    settings: AnnealSettings | None = None,
    start: str = "greedy",
) -> Callable[[np.ndarray], MoveMix]:
    """``controller`` when it is a callable, else the saved one it names (``None``: the bundled one of ``start``)."""
    if controller is None or isinstance(controller, str | Path):
        return LearnedController(controller or bundled_controller(start), settings)
    return controller
