"""An environment over several designs: each episode places one of them, picked at random.

Pretraining wants many designs per worker process; every design's environment has the
same spaces (the padded maps), so one policy sees them all. A design's environment is
built the first time it is picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from envs.placement_env import MacroPlacementEnv
from netlists import Design


class MultiDesignEnv(gym.Env):
    """Episodes on designs drawn uniformly from ``designs`` (names, paths, ``"synthetic:N"`` or :class:`Design`).

    Keyword arguments go to every :class:`MacroPlacementEnv`. ``info["design"]`` at reset
    names the design of the episode.
    """

    metadata = MacroPlacementEnv.metadata

    def __init__(self, designs: Sequence[str | Path | Design], **env_kwargs: Any) -> None:
        if not designs:
            raise ValueError("need at least one design")
        self.designs, self.env_kwargs = list(designs), env_kwargs
        self._envs: dict[int, MacroPlacementEnv] = {}
        self.current = self._env(0)
        self.observation_space, self.action_space = self.current.observation_space, self.current.action_space
        self.render_mode = self.current.render_mode

    def _env(self, index: int) -> MacroPlacementEnv:
        if index not in self._envs:
            self._envs[index] = MacroPlacementEnv(self.designs[index], **self.env_kwargs)
        return self._envs[index]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Pick a design and start an episode on it."""
        super().reset(seed=seed)
        index = int(self.np_random.integers(len(self.designs)))
        self.current = self._env(index)
        observation, info = self.current.reset(seed=int(self.np_random.integers(2**31)), options=options)
        info["design"] = self.current.design.netlist.name
        return observation, info

    def step(self, action):
        """A step of the current design's episode."""
        return self.current.step(action)

    def action_masks(self) -> np.ndarray:
        """The current design's legal actions."""
        return self.current.action_masks()

    def render(self):
        """The current design's frame."""
        return self.current.render()

    def close(self) -> None:
        """Close every design's environment."""
        for env in self._envs.values():
            env.close()
