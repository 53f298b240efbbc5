"""The policy network: a small fully convolutional encoder-decoder over the env's grid maps.

It reads the observation of :mod:`envs.observation` (maps ``C x G x G`` scaled to [0, 1],
and the feature vector) and returns, per sample, one logit per grid cell and orientation
followed by features for the value head. Every layer is a convolution or acts on pooled
features, so the same weights serve every grid size; the logits come from a 1 x 1
convolution at full resolution (a spatial head), never from a dense layer over all cells.

Only the part of the padded map that holds the sample's design is computed (the design sits
centred, so this is a crop rounded to multiples of 8 cells; samples with the same crop go
together): a 24 x 21 design in a 128 x 128 map costs about a sixteenth of the full map.
"""

from __future__ import annotations

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from envs.observation import MAP_CHANNELS
from placer.agent.window import PADDING_LOGIT, window_groups


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.ReLU())


class PlacementNet(BaseFeaturesExtractor):
    """Encoder-decoder with skip connections and a global context from pooled features and the vector.

    Args:
        observation_space: The env's ``Dict`` space with ``maps`` and ``vector``.
        orientations: Logit channels per cell (1, or 4 when the action picks the orientation).
        width: Channels of the first layer (doubling twice going down).
        value_features: Size of the features handed to the value head.
        wirelength_prior: Initial weight of minus the wirelength channel in the logits, so
            that an untrained policy already leans towards the cells that lengthen wires
            least (``softmax(-prior * increase)`` over the legal cells, the increase scaled to
            [0, 1] on the grid); training moves on from there.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        orientations: int = 1,
        width: int = 16,
        value_features: int = 64,
        wirelength_prior: float = 10.0,
    ) -> None:
        channels, grid, _ = observation_space["maps"].shape
        if grid % 8:
            raise ValueError(f"the map side ({grid}) must be a multiple of 8")
        vector = observation_space["vector"].shape[0]
        self.grid, self.orientations, self.n_logits = grid, orientations, orientations * grid * grid
        super().__init__(observation_space, features_dim=self.n_logits + value_features)
        w = width
        self.stem, self.down1 = _conv(channels, w), _conv(w, 2 * w, 2)
        self.down2, self.down3 = _conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w, 2)
        self.vector = nn.Sequential(nn.Linear(vector, 4 * w), nn.ReLU())
        self.context = nn.Sequential(nn.Linear(12 * w, 4 * w), nn.ReLU())
        self.middle = _conv(4 * w, 4 * w)
        self.lift2 = nn.ConvTranspose2d(4 * w, 4 * w, 2, stride=2)  # learnt 2x upsampling (cheaper than resizing)
        self.lift1 = nn.ConvTranspose2d(2 * w, 2 * w, 2, stride=2)
        self.lift0 = nn.ConvTranspose2d(w, w, 2, stride=2)
        self.up2, self.up1, self.up0 = _conv(8 * w, 2 * w), _conv(4 * w, w), _conv(2 * w, w)
        self.head = nn.Conv2d(w + channels, orientations, 1)  # sees the decoder and the raw maps
        self.value = nn.Sequential(nn.Linear(12 * w, value_features), nn.ReLU())
        for module in self.modules():  # keep activations from fading through the ReLU layers
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        nn.init.normal_(self.head.weight, std=0.01)
        with th.no_grad():
            self.head.weight[:, w + MAP_CHANNELS.index("wirelength")] = -wirelength_prior

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """Logits (flattened ``orientation x row x col``) followed by value features.

        Each sample is computed on its own design's window (:func:`placer.agent.window.window_groups`),
        so what a sample gets does not depend on the rest of the batch.
        """
        maps, vector = observations["maps"], observations["vector"]
        batch = maps.shape[0]
        logits = maps.new_full((batch, self.orientations, self.grid, self.grid), PADDING_LOGIT)
        value = maps.new_zeros((batch, self.features_dim - self.n_logits))
        groups = window_groups((maps[:, 0] > 0.5).cpu().numpy())
        for (r0, r1, c0, c1), rows in groups:
            index = slice(None) if len(groups) == 1 else th.as_tensor(rows, device=maps.device)
            window = maps[index, :, r0:r1, c0:c1]
            # Channels-last input lets oneDNN's convolutions run 1.6x faster on CPU for these few channels.
            inside, value[index] = self.window(window.contiguous(memory_format=th.channels_last), vector[index],
                                               window)  # fmt: skip
            logits[index, :, r0:r1, c0:c1] = inside
        return th.cat([logits.flatten(1), value], dim=1)

    def window(
        self, maps: th.Tensor, vector: th.Tensor, head_maps: th.Tensor | None = None
    ) -> tuple[th.Tensor, th.Tensor]:
        """The logits (``batch x orientations x rows x cols``) and value features of a map window.

        ``maps`` is a window of the maps (sides multiples of 8, as
        :func:`~placer.agent.window.design_window` cuts them); ``head_maps`` the same window as
        the head should read it (default: ``maps``). This is what ``train.py export`` writes as ONNX.
        """
        x0 = self.stem(maps)
        x1 = self.down1(x0)
        x2 = self.down2(x1)
        x3 = self.down3(x2)
        pooled = th.cat([x3.mean(dim=(2, 3)), x3.amax(dim=(2, 3)), self.vector(vector)], dim=1)
        context = self.context(pooled)
        m = self.middle(x3 + context[:, :, None, None])
        u2 = self.up2(th.cat([self.lift2(m), x2], dim=1))
        u1 = self.up1(th.cat([self.lift1(u2), x1], dim=1))
        u0 = self.up0(th.cat([self.lift0(u1), x0], dim=1))
        logits = self.head(th.cat([u0, maps if head_maps is None else head_maps], dim=1))
        value = self.value(th.cat([m.mean(dim=(2, 3)), m.amax(dim=(2, 3)), context], dim=1))
        return logits, value
