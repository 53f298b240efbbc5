"""Rollout workers as Ray actors behind stable-baselines3's ``VecEnv``: collect on every CPU of a Ray cluster.

The learner stays in the process that starts training; each worker is a Ray actor holding
some of the environments (one CPU each), stepping them in turn when the learner sends their
actions. An environment that ends is reset in its worker and its last observation travels in
``info["terminal_observation"]``, as in ``SubprocVecEnv``, so PPO cannot tell the two apart.

Ray is an optional dependency (``pip install -e ".[ray]"``); it is imported only when a
:class:`RayVecEnv` is made. With no address a local Ray is started on this machine; with one
(``ray start --head`` printed it), training joins that cluster, whose nodes must have this
package installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

LOCAL = "local"
"""The address that means: start a Ray on this machine."""


def ray_available() -> bool:
    """Whether Ray is installed (the ``ray`` extra)."""
    return importlib.util.find_spec("ray") is not None


def connect(address: str = LOCAL, num_cpus: int | None = None) -> None:
    """Join the Ray cluster at ``address``, or start a local one (``LOCAL``) with ``num_cpus`` CPUs.

    Does nothing when this process is already connected.

    Raises:
        RuntimeError: Ray is not installed.
    """
    if not ray_available():
        raise RuntimeError('Ray is not installed: pip install -e ".[ray]" (or pip install ray)')
    import ray

    if ray.is_initialized():
        return
    local = address == LOCAL
    ray.init(address=None if local else address, num_cpus=num_cpus if local else None, include_dashboard=False,
             log_to_driver=False, configure_logging=False)  # fmt: skip


def as_tasks(
    function: Callable, calls: Sequence[tuple], address: str = LOCAL, cpus: int = 1
) -> Iterator[tuple[int, Any]]:
    """``function(*call)``, each call a Ray task of ``cpus`` CPUs; yields ``(call's index, result)`` as each ends.

    ``function`` must be importable where the tasks run (a module-level function of this
    package); its arguments and result travel pickled.

    Raises:
        RuntimeError: Ray is not installed.
    """
    connect(address)
    import ray

    remote = ray.remote(num_cpus=cpus)(function)
    pending = {remote.remote(*call): index for index, call in enumerate(calls)}
    while pending:
        (ready,), _ = ray.wait(list(pending), num_returns=1)
        yield pending.pop(ready), ray.get(ready)


class _Worker:
    """A Ray actor's state: some environments, stepped in turn."""

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]]):
        import torch

        torch.set_num_threads(1)  # a worker steps environments; the learner runs the network
        self.envs = [fn() for fn in env_fns]

    def spaces(self) -> tuple[gym.Space, gym.Space]:
        return self.envs[0].observation_space, self.envs[0].action_space

    def reset(self, seeds: list, options: list) -> list[tuple[Any, dict]]:
        return [env.reset(seed=seed, **({"options": opts} if opts else {}))
                for env, seed, opts in zip(self.envs, seeds, options, strict=True)]  # fmt: skip

    def step(self, actions: list) -> list[tuple]:
        out = []
        for env, action in zip(self.envs, actions, strict=True):
            observation, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            info["TimeLimit.truncated"] = truncated and not terminated
            reset_info: dict = {}
            if done:  # as SubprocVecEnv: the last observation in the info, the next episode begun
                info["terminal_observation"] = observation
                observation, reset_info = env.reset()
            out.append((observation, reward, done, info, reset_info))
        return out

    def call(self, slots: list[int], name: str, args: tuple, kwargs: dict) -> list:
        return [self.envs[k].get_wrapper_attr(name)(*args, **kwargs) for k in slots]

    def get(self, slots: list[int], name: str) -> list:
        return [self.envs[k].get_wrapper_attr(name) for k in slots]

    def set(self, slots: list[int], name: str, value: Any) -> None:
        for k in slots:
            setattr(self.envs[k], name, value)

    def is_wrapped(self, slots: list[int], wrapper_class: type) -> list[bool]:
        from stable_baselines3.common.env_util import is_wrapped

        return [is_wrapped(self.envs[k], wrapper_class) for k in slots]

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _stack(observations: Sequence, space: gym.Space) -> VecEnvObs:
    if isinstance(space, gym.spaces.Dict):
        return {key: np.stack([o[key] for o in observations]) for key in space.spaces}
    return np.stack(observations)


class RayVecEnv(VecEnv):
    """``len(env_fns)`` environments on ``workers`` Ray actors (one CPU each), dealt out in turn.

    Args:
        env_fns: Functions that make the environments (pickled to the workers).
        workers: Actors to spread them over (default: one per environment, at most the
            cluster's CPUs).
        address: The cluster (see :func:`connect`).
    """

    def __init__(self, env_fns: Sequence[Callable[[], gym.Env]], workers: int | None = None, address: str = LOCAL):
        connect(address)
        import ray

        self._ray = ray
        n = len(env_fns)
        workers = min(n, workers or max(int(ray.cluster_resources().get("CPU", 1)), 1))
        # Environment k lives on worker k % workers, in slot k // workers.
        self.places = [(k % workers, k // workers) for k in range(n)]
        actor = ray.remote(num_cpus=1)(_Worker)
        self.workers = [actor.remote(list(env_fns[w::workers])) for w in range(workers)]
        observation_space, action_space = ray.get(self.workers[0].spaces.remote())
        self._pending: list | None = None
        self.closed = False
        super().__init__(n, observation_space, action_space)

    def _per_worker(self, values: Sequence) -> list[list]:
        dealt: list[list] = [[] for _ in self.workers]
        for (w, _), value in zip(self.places, values, strict=True):
            dealt[w].append(value)
        return dealt

    def _gather(self, per_worker: list[list]) -> list:
        return [per_worker[w][slot] for w, slot in self.places]

    def reset(self) -> VecEnvObs:
        """Reset every environment (with the seeds and options given since the last reset)."""
        seeds, options = self._per_worker(self._seeds), self._per_worker(self._options)
        results = self._gather(self._ray.get([worker.reset.remote(s, o) for worker, s, o
                                              in zip(self.workers, seeds, options, strict=True)]))  # fmt: skip
        observations, self.reset_infos = zip(*results, strict=True)
        self._reset_seeds()
        self._reset_options()
        return _stack(observations, self.observation_space)

    def step_async(self, actions: np.ndarray) -> None:
        """Send each worker its environments' actions."""
        dealt = self._per_worker(list(actions))
        self._pending = [worker.step.remote(a) for worker, a in zip(self.workers, dealt, strict=True)]

    def step_wait(self) -> VecEnvStepReturn:
        """Wait for every worker's steps; an ended episode's next one has begun (see the module)."""
        results = self._gather(self._ray.get(self._pending))
        self._pending = None
        observations, rewards, dones, infos, self.reset_infos = zip(*results, strict=True)
        return _stack(observations, self.observation_space), np.stack(rewards), np.stack(dones), infos

    def _slots(self, indices: VecEnvIndices) -> list[tuple[int, list[int]]]:
        """Per worker with a selected environment: (worker, its slots), in the order of ``indices``."""
        chosen: dict[int, list[int]] = {}
        for k in self._get_indices(indices):
            w, slot = self.places[k]
            chosen.setdefault(w, []).append(slot)
        return list(chosen.items())

    def _ask(self, indices: VecEnvIndices, method: str, *args) -> list:
        chosen = self._slots(indices)
        answers = self._ray.get([getattr(self.workers[w], method).remote(slots, *args) for w, slots in chosen])
        by_place = {(w, slot): a for (w, slots), got in zip(chosen, answers, strict=True)
                    for slot, a in zip(slots, got, strict=True)}  # fmt: skip
        return [by_place[self.places[k]] for k in self._get_indices(indices)]

    def env_method(self, method_name: str, *method_args, indices: VecEnvIndices = None, **method_kwargs) -> list:
        """Call a method of the selected environments (as ``SubprocVecEnv``; ``action_masks`` for MaskablePPO)."""
        return self._ask(indices, "call", method_name, method_args, method_kwargs)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list:
        """An attribute of the selected environments."""
        return self._ask(indices, "get", attr_name)

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the selected environments."""
        self._ray.get([self.workers[w].set.remote(slots, attr_name, value) for w, slots in self._slots(indices)])

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        """Whether the selected environments are wrapped in ``wrapper_class``."""
        return self._ask(indices, "is_wrapped", wrapper_class)

    def close(self) -> None:
        """Close the environments and end the workers (a local Ray stays up for the next use)."""
        if self.closed:
            return
        self.closed = True
        try:
            self._ray.get([worker.close.remote() for worker in self.workers], timeout=30)
        finally:
            for worker in self.workers:
                self._ray.kill(worker)
