"""``PlacementPolicy``: sb3-contrib's maskable actor-critic with the spatial network as both heads.

The features extractor (:class:`~placer.agent.network.PlacementNet`) already returns the
action logits and the value features; the policy splits them, passes the logits through
unchanged (no ``Linear(latent, cells)`` layer) and puts one linear unit on the value
features.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.save_util import load_from_zip_file
from torch import nn

from placer.agent.network import PlacementNet


class SplitLatent(nn.Module):
    """Splits the network's output into the logits (actor) and the value features (critic)."""

    def __init__(self, n_logits: int, value_features: int) -> None:
        super().__init__()
        self.latent_dim_pi, self.latent_dim_vf = n_logits, value_features

    def forward(self, features):
        """``(logits, value features)``."""
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features):
        """The logits."""
        return features[:, : self.latent_dim_pi]

    def forward_critic(self, features):
        """The value features."""
        return features[:, self.latent_dim_pi :]


class NoOptimizer:
    """The optimizer of a policy that only plays (``optimizer_class=NoOptimizer``): none.

    Constructing any torch optimizer first imports torch's compiler, 1.7 s of the default
    command's time on the 2-core VM, which playing never needs.
    """

    def __init__(self, params, **kwargs) -> None:
        del params, kwargs

    def load_state_dict(self, state, strict: bool = True) -> None:
        """A saved optimizer's state is not needed to play: dropped."""
        del state, strict


class PlacementPolicy(MaskableActorCriticPolicy):
    """Maskable actor-critic over :class:`PlacementNet` (pass to ``MaskablePPO`` as the policy).

    ``features_extractor_kwargs`` go to the network (``width``, ``value_features``); the
    number of orientations is read off the action space.
    """

    def __init__(self, observation_space: spaces.Dict, action_space: spaces.Discrete, lr_schedule, **kwargs: Any):
        grid = observation_space["maps"].shape[-1]
        network = dict(kwargs.pop("features_extractor_kwargs", None) or {})
        network.setdefault("orientations", int(action_space.n) // (grid * grid))
        kwargs.setdefault("features_extractor_class", PlacementNet)
        super().__init__(observation_space, action_space, lr_schedule, features_extractor_kwargs=network, **kwargs)

    def _build_mlp_extractor(self) -> None:
        extractor = self.features_extractor
        self.mlp_extractor = SplitLatent(extractor.n_logits, extractor.features_dim - extractor.n_logits)

    def _build(self, lr_schedule) -> None:
        self._build_mlp_extractor()
        self.action_net = nn.Identity()
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def distribution_and_values(self, observation, action_masks):
        """The masked action distribution and the values, from one pass through the network.

        (``evaluate_actions`` takes the same steps but returns no distribution; imitation's
        accuracy needs it.)
        """
        latent_pi, latent_vf = self.mlp_extractor(self.extract_features(observation))
        distribution = self._get_action_dist_from_latent(latent_pi)
        distribution.apply_masking(action_masks)
        return distribution, self.value_net(latent_vf)


@dataclass(frozen=True)
class SavedPolicy:
    """A checkpoint's policy as saved: the map size it trained on, its width and its weights."""

    map_size: int
    width: int
    weights: dict[str, th.Tensor]

    @classmethod
    def of(cls, source: str | Path | MaskablePPO | SavedPolicy) -> SavedPolicy:
        """The policy of a loaded model, or of a model saved by ``train.py``.

        A saved one is read without building the model (and its optimizer) around it.
        """
        if isinstance(source, SavedPolicy):
            return source
        if isinstance(source, MaskablePPO):
            policy = source.policy
            return cls(source.observation_space["maps"].shape[-1], policy.features_extractor.stem[0].out_channels,
                       policy.state_dict())  # fmt: skip
        data, params, _ = load_from_zip_file(source, device="cpu")
        weights = params["policy"]
        return cls(data["observation_space"]["maps"].shape[-1], weights["features_extractor.stem.0.weight"].shape[0],
                   weights)  # fmt: skip

    def playing(self, env) -> PlacementPolicy:
        """The policy for ``env`` (any map size) in evaluation mode, with no optimizer: for playing only."""
        network = {"width": self.width}
        policy = PlacementPolicy(env.observation_space, env.action_space, lambda _: 0.0,
                                 features_extractor_kwargs=network, optimizer_class=NoOptimizer)  # fmt: skip
        policy.load_state_dict(self.weights)
        policy.set_training_mode(False)
        return policy
