"""Gymnasium environments for macro placement.

Importing the package registers ``MacroPlacement-v0`` (placing macros one per step),
``RefinePlacement-v0`` (moving one macro of a whole placement per move, under annealing's
acceptance) and ``AnnealControl-v0`` (steering annealing's moves block by block)::

    import gymnasium as gym
    import envs  # noqa: F401  (registers the ids)

    env = gym.make("MacroPlacement-v0", netlist="ariane133")
"""

from gymnasium.envs.registration import register, registry

from envs.anneal_env import AnnealControlEnv
from envs.multi import MultiDesignEnv
from envs.observation import MAP_CHANNELS, VECTOR_FEATURES
from envs.placement_env import MacroPlacementEnv
from envs.refine_env import RefinePlacementEnv

ENV_ID = "MacroPlacement-v0"
ANNEAL_ENV_ID = "AnnealControl-v0"
REFINE_ENV_ID = "RefinePlacement-v0"

if ENV_ID not in registry:  # re-imports (e.g. in subprocess workers) must not register twice
    register(id=ENV_ID, entry_point="envs.placement_env:MacroPlacementEnv")
if ANNEAL_ENV_ID not in registry:
    register(id=ANNEAL_ENV_ID, entry_point="envs.anneal_env:AnnealControlEnv")
if REFINE_ENV_ID not in registry:
    register(id=REFINE_ENV_ID, entry_point="envs.refine_env:RefinePlacementEnv")

__all__ = [
    "ANNEAL_ENV_ID",
    "ENV_ID",
    "MAP_CHANNELS",
    "REFINE_ENV_ID",
    "VECTOR_FEATURES",
    "AnnealControlEnv",
    "MacroPlacementEnv",
    "MultiDesignEnv",
    "RefinePlacementEnv",
]
