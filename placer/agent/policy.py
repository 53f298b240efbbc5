"""``PlacementPolicy``: sb3-contrib's maskable actor-critic with the spatial network as both heads.

The features extractor (:class:`~placer.agent.network.PlacementNet`) already returns the
action logits and the value features; the policy splits them, passes the logits through
unchanged (no ``Linear(latent, cells)`` layer) and puts one linear unit on the value
features.
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
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
