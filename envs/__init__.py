"""Gymnasium environments for macro placement.

Importing the package registers ``MacroPlacement-v0``::

    import gymnasium as gym
    import envs  # noqa: F401  (registers the ids)

    env = gym.make("MacroPlacement-v0", netlist="ariane133")
"""

from gymnasium.envs.registration import register, registry

from envs.multi import MultiDesignEnv
from envs.observation import MAP_CHANNELS, VECTOR_FEATURES
from envs.placement_env import MacroPlacementEnv

ENV_ID = "MacroPlacement-v0"

if ENV_ID not in registry:  # re-imports (e.g. in subprocess workers) must not register twice
    register(id=ENV_ID, entry_point="envs.placement_env:MacroPlacementEnv")

__all__ = ["ENV_ID", "MAP_CHANNELS", "VECTOR_FEATURES", "MacroPlacementEnv", "MultiDesignEnv"]
