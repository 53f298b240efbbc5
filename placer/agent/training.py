"""Pretraining across designs and fine-tuning on one, with MaskablePPO, checkpoints and resume.

A run folder holds ``run.json`` (what was asked), ``checkpoints/step_<N>.zip`` (written
atomically every ``checkpoint_every`` steps), ``tb/`` (TensorBoard logs) and, at the end,
``final.zip``. Asked to resume, a run continues from its newest checkpoint, with the policy,
the optimizer state and the step count it had, up to the same total of steps; from a
checkpoint taken on the run's schedule it goes on exactly as the run would have
(:class:`Checkpoints`).

The policy network is fully convolutional, so weights trained with one map size load into a
policy for another (:func:`load_policy`); that is how a checkpoint serves designs of any grid.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib.resources
import json
import math
import multiprocessing
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch as th
from sb3_contrib import MaskablePPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.utils import set_random_seed
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from envs import MacroPlacementEnv, MultiDesignEnv
from netlists import Design, NetlistFormatError, Placement, synthetic
from netlists.textio import atomic_path, atomic_write
from placer.agent.policy import PlacementPolicy, SavedPolicy
from placer.cost import CostWeights
from placer.fd import FDSchedule

CHECKPOINT = re.compile(r"step_(\d+)\.zip")


@dataclass(frozen=True)
class TrainSettings:
    """Environment and PPO settings of a run (Circuit Training's PPO: discount 1, no GAE, clip 0.2).

    Attributes:
        n_envs: Environments stepping in parallel (worker processes when more than one).
        max_grid: Side of the padded maps (a multiple of 8); designs must fit in it.
        reward: ``"terminal"`` or ``"dense"`` (see :mod:`envs.placement_env`).
        fd_schedule: Soft-macro placement at the end of each episode: a schedule, or its name
            in ``placer.fd.SCHEDULES`` (as the command line gives it).
        soft_start: Where soft macros start an episode (``placer.sequential.SOFT_STARTS``):
            force-directed placement's alone (the default), or the placement file's positions.
        soft_moves: Soft-macro nudges on the exact cost after FD at the end of each episode
            (the soft-macro stage; 0: FD alone).
        value_warmup: Steps at the start of a run whose updates fit the critic alone, the
            actor frozen, so that the first advantages the actor follows are not the critic's
            error (:class:`ValueWarmup`).
        weights: Weights of the proxy cost the episodes are scored with.
        learning_rate: Adam step size.
        n_steps: Steps per environment between updates.
        batch_size: Minibatch size.
        n_epochs: Passes over each rollout.
        ent_coef: Entropy bonus.
        width: Channels of the network's first layer.
        checkpoint_every: Steps between checkpoints.
        seed: Seed of the networks, the environments and the design draws.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        ray: Where the rollout workers run: ``None`` for processes on this machine, else a
            Ray cluster's address, or ``"local"`` for a Ray started here
            (:mod:`placer.agent.distributed`).
    """

    n_envs: int = 8
    max_grid: int = 64
    reward: str = "terminal"
    fd_schedule: FDSchedule | str = "electrostatic"
    soft_start: str = "fd"
    soft_moves: int = 0
    value_warmup: int = 0
    weights: CostWeights = CostWeights()
    learning_rate: float = 3e-4
    n_steps: int = 128
    batch_size: int = 256
    n_epochs: int = 4
    ent_coef: float = 0.01
    width: int = 16
    checkpoint_every: int = 10_000
    seed: int = 0
    device: str = "auto"
    ray: str | None = None

    def ppo_kwargs(self) -> dict[str, object]:
        """Keyword arguments of ``MaskablePPO``."""
        return dict(learning_rate=self.learning_rate, n_steps=self.n_steps, batch_size=self.batch_size,
                    n_epochs=self.n_epochs, gamma=1.0, gae_lambda=1.0, clip_range=0.2, ent_coef=self.ent_coef,
                    vf_coef=0.5, max_grad_norm=1.0, seed=self.seed, device=self.device,
                    policy_kwargs={"features_extractor_kwargs": {"width": self.width}})  # fmt: skip

    def env_kwargs(self) -> dict[str, object]:
        """Keyword arguments of every environment."""
        return {"max_grid": self.max_grid, "reward": self.reward, "fd_schedule": self.fd_schedule,
                "soft_start": self.soft_start, "soft_moves": self.soft_moves, "weights": self.weights}  # fmt: skip


FINETUNE_ALGORITHMS = ("ppo", "self-imitation")
"""How a policy is fine-tuned on one design: PPO (:func:`train`) or :mod:`placer.agent.self_imitation`."""

FINETUNE_DEFAULTS = {"reward": "dense", "learning_rate": 1e-4, "ent_coef": 0.0}
"""Settings for fine-tuning on one design: gentler steps and no entropy bonus, so PPO refines a
pretrained policy instead of first spreading it out; the dense reward, which cloned value heads
are fitted to (``train.py imitate --reward dense``)."""


def _make_env(designs: Sequence[str | Design], env_kwargs: dict[str, object]):
    if multiprocessing.parent_process() is not None:  # a worker process: it steps an environment, no network
        th.set_num_threads(1)
    return Monitor(MultiDesignEnv(designs, **env_kwargs))


def design_names(designs: Sequence[str | Path | Design]) -> list[str]:
    """What ``run.json`` records of each design: its name or path as given, or a :class:`Design`'s netlist name."""
    return [design.netlist.name if isinstance(design, Design) else str(design) for design in designs]


def check_designs(designs: Sequence[str | Design], settings: TrainSettings) -> None:
    """Build each named (not generated) design's environment here, so a bad one fails in one clear line.

    Raises:
        ValueError: A design cannot be loaded or placed with these settings (the message names it).
    """
    for design in designs:
        try:
            if synthetic.is_name(design):
                synthetic.parse(design)  # generated in the workers; only the name is checked here
                continue
            MacroPlacementEnv(design, **settings.env_kwargs()).close()
        except (ValueError, NetlistFormatError) as error:
            raise ValueError(f"design {design_names([design])[0]}: {error}") from None


def dealt_vec_env(make_env: Callable, designs: Sequence, n_envs: int, seed: int, env_kwargs: dict,
                  ray: str | None = None) -> VecEnv:  # fmt: skip
    """``n_envs`` environments ``make_env(designs_of_it, env_kwargs)``, the designs dealt out among them.

    Each gets every ``n_envs``-th design (all of them when there are fewer designs than
    environments); worker processes when more than one, or Ray actors on the cluster at
    ``ray`` (:class:`placer.agent.distributed.RayVecEnv`).
    """
    n = n_envs
    chunks = [list(designs[i::n]) or list(designs) for i in range(n)] if len(designs) >= n else [list(designs)] * n
    factories = [functools.partial(make_env, chunk, env_kwargs) for chunk in chunks]
    if ray is not None:
        from placer.agent.distributed import RayVecEnv  # Ray only when asked for

        vec_env: VecEnv = RayVecEnv(factories, address=ray)
    else:
        vec_env = SubprocVecEnv(factories) if n > 1 else DummyVecEnv(factories)
    vec_env.seed(seed)
    return vec_env


@contextlib.contextmanager
def closing_workers(vec_env: VecEnv) -> Iterator[VecEnv]:
    """Use ``vec_env`` and close it; on an interrupt, end its worker processes instead.

    An interrupt can land between the replies of a step (one worker's read, the next not),
    and ``SubprocVecEnv.close`` would then wait for a reply that never comes. The workers
    hold nothing to save (checkpoints are the learner's), so they are terminated.
    """
    try:
        yield vec_env
    except KeyboardInterrupt:
        if isinstance(vec_env, SubprocVecEnv) and not vec_env.closed:
            for process in vec_env.processes:
                process.terminate()
            for process in vec_env.processes:
                process.join()
            for remote in vec_env.remotes:
                remote.close()
            vec_env.closed = True
        raise
    finally:
        vec_env.close()


def make_vec_env(designs: Sequence[str | Design], settings: TrainSettings) -> VecEnv:
    """``n_envs`` environments, the designs dealt out among them (all of them to each when fewer)."""
    return dealt_vec_env(_make_env, designs, settings.n_envs, settings.seed, settings.env_kwargs(), settings.ray)


def latest_checkpoint(run: Path, pattern: re.Pattern = CHECKPOINT) -> Path | None:
    """The run's checkpoint whose number (the group of ``pattern``: steps, or epochs) is largest, if any."""
    found = [(int(m.group(1)), p) for p in (run / "checkpoints").glob("*.zip") if (m := pattern.fullmatch(p.name))]
    return max(found)[1] if found else None


def bundled_file(name: str, what: str, command: str) -> Path:
    """The model ``name`` shipped in ``placer/agent/checkpoints``.

    Raises:
        FileNotFoundError: The package was built without it (the message names ``what`` and
            the ``train.py`` ``command`` that makes one).
    """
    path = Path(str(importlib.resources.files("placer.agent") / "checkpoints" / name))
    if not path.is_file():
        raise FileNotFoundError(f"no bundled {what} at {path}; train one with `python train.py {command}`")
    return path


def write_record(run: Path, record: dict) -> None:
    """Write the run's ``run.json`` (what was asked, and at the end what was done), whole or not at all."""
    with atomic_write(run / "run.json") as handle:
        handle.write(json.dumps(record, indent=1) + "\n")


def save_atomically(model: MaskablePPO, path: Path) -> None:
    """Save a model so that ``path`` is whole or absent, never half written."""
    with atomic_path(path, suffix=".zip") as tmp:  # SB3 appends .zip to any other name
        model.save(tmp)


class Checkpoints(BaseCallback):
    """Saves ``checkpoints/step_<N>.zip`` once ``every`` steps have passed; a run resumed from one goes on exactly.

    A checkpoint is taken as a rollout starts, right after an update, so it holds every update
    of the steps it counts. There the run restarts: the random generators are seeded from
    ``(seed, N)`` and the environments reseeded and reset (the episodes under way are cut, at
    most one per environment per checkpoint). A run resumed from the checkpoint (``resumed``)
    restarts the same way before its first rollout, so it collects the same episodes and makes
    the same updates as the run that never stopped (with the same number of torch threads:
    sums split across another number of threads may round differently).
    """

    def __init__(self, run: Path, every: int, seed: int, *, resumed: bool = False) -> None:
        super().__init__()
        self.run, self.every, self.seed, self.resumed = run, every, seed, resumed
        self.last = 0

    def _on_training_start(self) -> None:
        self.last = self.model.num_timesteps
        if self.resumed:
            restart(self.model, self.seed)

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps - self.last >= self.every:
            self.last = self.model.num_timesteps
            restart(self.model, self.seed)
            self._save()

    def _on_training_end(self) -> None:  # after the last update
        if self.model.num_timesteps > self.last:
            self._save()

    def _save(self) -> None:
        save_atomically(self.model, self.run / "checkpoints" / f"step_{self.model.num_timesteps}.zip")

    def _on_step(self) -> bool:
        return True


def restart(model: BaseAlgorithm, seed: int) -> None:
    """Seed ``model``'s random generators and environments from ``(seed, steps so far)`` and reset them."""
    steps = model.num_timesteps
    seeded = int(np.random.SeedSequence([seed, steps]).generate_state(1)[0] >> 1)
    set_random_seed(seeded, using_cuda=model.device.type == "cuda")
    env = model.get_env()
    env.seed(seeded)
    model._last_obs = env.reset()
    model._last_episode_starts = np.ones(env.num_envs, dtype=bool)


def finished_episodes(rollout: dict) -> Iterator[dict]:
    """The infos of the episodes that finished (placed every macro) at this step of the rollout."""
    for done, info in zip(rollout["dones"], rollout["infos"], strict=True):
        if done and "placement" in info:  # an infeasible end has no placement
            yield info


class BestEpisode(BaseCallback):
    """Keeps the finished training episode with the lowest proxy cost: its placement and cost.

    Fine-tuning on one design is a search for that design's placement, and PPO samples many
    episodes on the way; the best of them is a result in its own right. Given ``progress``, it
    is called as ``progress(fraction of the budget used, best proxy cost so far)`` each step,
    the budget being ``steps`` and/or ``seconds`` (whichever runs out first) counted from
    ``since`` (a ``perf_counter`` time; by default when training starts).
    """

    def __init__(
        self,
        progress: Callable[[float, float], None] | None = None,
        steps: int | None = None,
        seconds: float | None = None,
        since: float | None = None,
    ) -> None:
        super().__init__()
        self.placement: Placement | None = None
        self.proxy_cost = math.inf
        self.episodes = 0
        self.progress, self.steps, self.seconds, self.since = progress, steps, seconds, since
        self.started = 0.0

    def _on_training_start(self) -> None:  # the seconds count from ``since``, as :class:`WallClock`'s do
        self.started = time.perf_counter() if self.since is None else self.since

    def _on_step(self) -> bool:
        for info in finished_episodes(self.locals):
            self.episodes += 1
            if info["proxy_cost"] < self.proxy_cost:
                self.placement, self.proxy_cost = info["placement"], info["proxy_cost"]
        if self.progress is not None:
            used = [self.num_timesteps / self.steps if self.steps else 0.0,
                    (time.perf_counter() - self.started) / self.seconds if self.seconds else 0.0]  # fmt: skip
            self.progress(min(max(used), 1.0), self.proxy_cost)
        return True


class EpisodeLog(BaseCallback):
    """Logs the finished episodes of each rollout: mean and best proxy cost, soft-macro stage time.

    To TensorBoard (``placement/proxy_cost``, ``placement/best_proxy_cost``,
    ``placement/soft_macro_s``, ``placement/episodes``) and, given ``log``, as one line per
    rollout passed to it.
    """

    def __init__(self, log: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.log = log
        self.best = math.inf
        self.costs: list[float] = []
        self.soft_s: list[float] = []

    def _on_step(self) -> bool:
        for info in finished_episodes(self.locals):
            self.costs.append(info["proxy_cost"])
            self.soft_s.append(info["soft_macro_s"])
        return True

    def _on_rollout_end(self) -> None:
        if not self.costs:
            return
        self.best = min(self.best, *self.costs)
        mean, soft = float(np.mean(self.costs)), float(np.mean(self.soft_s))
        for key, value in (("proxy_cost", mean), ("best_proxy_cost", self.best), ("soft_macro_s", soft),
                           ("episodes", len(self.costs))):  # fmt: skip
            self.logger.record(f"placement/{key}", value)
        if self.log is not None:
            self.log(f"step {self.num_timesteps:,}: {len(self.costs)} episodes, proxy cost {mean:.4f} "
                        f"(best so far {self.best:.4f}), soft macros {soft:.2f} s per episode")  # fmt: skip
        self.costs, self.soft_s = [], []


def critic_parameters(policy: PlacementPolicy) -> set[int]:
    """The ids of the parameters only the value estimate depends on: the value features' layer and the value unit."""
    return {id(p) for module in (policy.features_extractor.value, policy.value_net) for p in module.parameters()}


class ValueWarmup(BaseCallback):
    """Freezes everything but the critic for the updates of the first ``steps`` steps; logs the critic's error.

    PPO's advantages are returns minus the critic's values. A critic warm-started on other
    designs' returns can be off by more than the returns of a design differ, and then the
    actor's first updates follow its error. During the warm-up the actor's parameters get no
    gradient (the policy does not change, so the rollouts stay on-policy) and the value
    layers fit the policy's own returns. Each rollout's root-mean-square value error and the
    standard deviation of its returns go to TensorBoard (``critic/value_rms``,
    ``critic/returns_sd``) and, given ``log``, as one line. Whether an update is frozen depends
    only on the step count, so a resumed run freezes the same updates.
    """

    def __init__(self, steps: int, log: Callable[[str], None] | None = None) -> None:
        super().__init__()
        self.steps, self.log = steps, log

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        error = float(np.sqrt(np.mean((buffer.values - buffer.returns) ** 2)))
        spread = float(np.std(buffer.returns))
        self.logger.record("critic/value_rms", error)
        self.logger.record("critic/returns_sd", spread)
        warming = self.model.num_timesteps <= self.steps  # the update that follows fits the critic alone
        critic = critic_parameters(self.model.policy)
        for parameter in self.model.policy.parameters():
            parameter.requires_grad_(not warming or id(parameter) in critic)
        if self.log is not None:
            phase = " (critic warm-up)" if warming else ""
            self.log(f"step {self.num_timesteps:,}: value error {error:.4f} RMS, returns sd {spread:.4f}{phase}")

    def _on_step(self) -> bool:
        return True


class WallClock(BaseCallback):
    """Stops training once ``seconds`` of wall time have passed since ``since`` (a ``perf_counter`` time).

    ``since`` is when the run was asked for, so that starting the environment workers and
    loading the model count too; by default, when training starts.
    """

    def __init__(self, seconds: float, since: float | None = None) -> None:
        super().__init__()
        self.seconds, self.since, self.started = seconds, since, 0.0

    def _on_training_start(self) -> None:
        self.started = time.perf_counter() if self.since is None else self.since

    def _on_step(self) -> bool:
        return time.perf_counter() - self.started < self.seconds


def load_policy(checkpoint: str | Path | MaskablePPO, env, settings: TrainSettings | None = None) -> MaskablePPO:
    """A model for ``env`` whose policy weights come from ``checkpoint`` (a path or a loaded model; any map size)."""
    saved = SavedPolicy.of(checkpoint)
    kwargs = (settings or TrainSettings(width=saved.width)).ppo_kwargs()
    kwargs["policy_kwargs"] = {"features_extractor_kwargs": {"width": saved.width}}
    model = MaskablePPO(PlacementPolicy, env, **kwargs)
    model.policy.load_state_dict(saved.weights)
    return model


def train(
    designs: Sequence[str | Design],
    timesteps: int,
    run: str | Path,
    settings: TrainSettings | None = None,
    *,
    start_from: str | Path | None = None,
    resume: bool = False,
    progress_bar: bool = True,
    seconds: float | None = None,
    callbacks: Sequence[BaseCallback] = (),
    log: Callable[[str], None] | None = None,
) -> Path:
    """Train on ``designs`` until ``timesteps`` steps in all (or ``seconds``); returns the path of ``final.zip``.

    Args:
        designs: Design names, paths, ``"synthetic:N"`` or :class:`Design` objects (sent to
            the environment workers as they are, so a design need not be on disk).
        timesteps: Total environment steps of the run.
        run: The run folder.
        settings: Environment and PPO settings.
        start_from: Weights to start from (fine-tuning); otherwise a fresh policy.
        resume: Continue from the run's newest checkpoint (a fresh start when there is none).
        progress_bar: Show SB3's progress bar.
        seconds: Stop after this much wall time of this call, setting up included (at the step it
            runs out), if sooner.
        callbacks: More SB3 callbacks (e.g. :class:`BestEpisode`).
        log: Called with one line per rollout on its finished episodes (:class:`EpisodeLog`), and
            with one when the clock stops the run.

    Raises:
        ValueError: A design cannot be loaded or placed, or a setting is wrong.
    """
    settings = settings or TrainSettings()
    run = Path(run)
    started, asked = time.time(), time.perf_counter()
    check_designs(designs, settings)
    run.mkdir(parents=True, exist_ok=True)
    with closing_workers(make_vec_env(designs, settings)) as vec_env:
        checkpoint = latest_checkpoint(run) if resume else None
        if checkpoint is not None:
            model = MaskablePPO.load(checkpoint, env=vec_env, device=settings.device)
        elif start_from is not None:
            model = load_policy(start_from, vec_env, settings)
        else:
            model = MaskablePPO(PlacementPolicy, vec_env, **settings.ppo_kwargs())
        model.tensorboard_log = str(run / "tb")
        record = {"designs": design_names(designs), "timesteps": timesteps, "settings": dataclasses.asdict(settings),
                  "start_from": None if start_from is None else str(start_from),
                  "seconds": seconds, "resumed_from": None if checkpoint is None else checkpoint.name,
                  "device": str(model.device), "cuda": th.cuda.is_available()}  # fmt: skip
        write_record(run, record)
        remaining = max(timesteps - model.num_timesteps, 0)
        if remaining:
            stop = [] if seconds is None else [WallClock(seconds, since=asked)]
            checkpoints = Checkpoints(run, settings.checkpoint_every, settings.seed, resumed=checkpoint is not None)
            warmup = [ValueWarmup(settings.value_warmup, log)] if settings.value_warmup else []
            callback = CallbackList([checkpoints, EpisodeLog(log), *warmup, *callbacks, *stop])
            model.learn(remaining, callback=callback, tb_log_name="ppo", reset_num_timesteps=checkpoint is None,
                        progress_bar=progress_bar)  # fmt: skip
        final = run / "final.zip"
        save_atomically(model, final)
        if log is not None and model.num_timesteps < timesteps:
            log(f"stopped by the clock ({seconds:g} s) at step {model.num_timesteps:,} of {timesteps:,}")
        record["wall_s"], record["steps"] = time.time() - started, model.num_timesteps
        write_record(run, record)
        return final
