"""A saved policy's network on ONNX Runtime: ``train.py export`` writes it, ``placer place`` plays it.

The exported graph is :meth:`PlacementNet.window <placer.agent.network.PlacementNet.window>`'s
logits: the network from a window of the maps to the logits of that window, with the batch
and the window's sides dynamic. Cutting the window out of the padded maps and setting the
logits outside it (``PADDING_LOGIT``) and of masked cells is done here in numpy, as the torch
policy does it, so both give the same logits to about 1e-5 and the same most likely cells.
The map size the policy trained on and its width travel in the file's metadata.

Playing needs only ``onnxruntime`` (and numpy); exporting needs torch, ``onnx`` and
``onnxscript`` (torch's exporter), all of them dependencies of the toolkit.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np

from placer.agent.window import PADDING_LOGIT, window_groups

SUFFIX = ".onnx"
MASKED_LOGIT = -1e8  # as sb3-contrib's masked distribution sets illegal cells
OPSET = 18
MAX_SIDE = 1024  # the largest map side an exported network takes
QUANTIZED_KEY = "quantized"  # metadata of a network quantized by placer.agent.quantize (its value: "int8")


class NetworkFileError(ValueError):
    """A file given as an exported policy network is not one."""


def is_onnx(path: str | Path) -> bool:
    """Whether ``path`` names an exported network (by its suffix)."""
    return Path(path).suffix == SUFFIX


class OnnxPolicy:
    """An exported policy network in an ONNX Runtime session (CPU).

    Args:
        path: A file written by :func:`export_onnx` (``train.py export``).
        threads: Intra-op threads of the session.

    Raises:
        NetworkFileError: The file is not an exported policy.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = max(1, threads), 1
        options.log_severity_level = 3  # warnings about unused initialisers are not the user's business
        options.enable_mem_pattern = False  # the batch shrinks as episodes end: no fixed allocation plan
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            meta = self.session.get_modelmeta().custom_metadata_map
            self.map_size, self.width = int(meta["map_size"]), int(meta["width"])
            self.quantized = meta.get(QUANTIZED_KEY)  # "int8", or None for the float network
        except (KeyError, ValueError) as error:
            raise NetworkFileError(f"{path}: not a policy exported by train.py export ({error})") from None
        except Exception as error:  # onnxruntime raises its own classes for files it cannot read
            raise NetworkFileError(f"{path}: not an ONNX model ONNX Runtime can load ({error})") from None

    def logits(self, maps: np.ndarray, vector: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Masked logits (``batch x actions``) of a batch of observations, as the torch policy gives them.

        Args:
            maps: The observations' ``uint8`` maps (``batch x channels x side x side``).
            vector: Their vectors (``batch x features``).
            masks: Their action masks (``batch x actions`` booleans).
        """
        batch, side = maps.shape[0], maps.shape[-1]
        logits = None
        # The grid channel over 0.5 once scaled (127/255 is under, 128/255 over); only the windows are scaled.
        for (r0, r1, c0, c1), rows in window_groups(maps[:, 0] > 127):
            window = maps[rows, :, r0:r1, c0:c1].astype(np.float32) / np.float32(255.0)  # as SB3 scales images
            inside = self.session.run(None, {"maps": window, "vector": vector[rows].astype(np.float32)})[0]
            if logits is None:
                logits = np.full((batch, inside.shape[1], side, side), PADDING_LOGIT, dtype=np.float32)
            logits[rows, :, r0:r1, c0:c1] = inside
        return np.where(masks, logits.reshape(batch, -1), np.float32(MASKED_LOGIT))


def export_onnx(checkpoint: str | Path, path: str | Path) -> Path:
    """Write the policy of ``checkpoint`` (a model saved by ``train.py``) as ONNX at ``path``; returns it.

    The file is written whole or not at all.
    """
    import onnx
    import torch as th
    from gymnasium import spaces
    from torch import nn
    from torch.export import Dim

    from envs.observation import MAP_CHANNELS
    from netlists.textio import atomic_path
    from placer.agent.network import PlacementNet
    from placer.agent.policy import SavedPolicy

    saved = SavedPolicy.of(checkpoint)
    weights = {k.removeprefix("features_extractor."): v for k, v in saved.weights.items()
               if k.startswith("features_extractor.")}  # fmt: skip
    side, vector = saved.map_size, weights["vector.0.weight"].shape[1]
    space = spaces.Dict({"maps": spaces.Box(0, 255, (len(MAP_CHANNELS), side, side), np.uint8),
                         "vector": spaces.Box(-10.0, 10.0, (vector,), np.float32)})  # fmt: skip
    network = PlacementNet(space, orientations=weights["head.weight"].shape[0], width=saved.width)
    network.load_state_dict(weights)
    network.eval()

    class WindowLogits(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, maps: th.Tensor, vector: th.Tensor) -> th.Tensor:
            return self.network.window(maps, vector)[0]

    example = (th.zeros(2, len(MAP_CHANNELS), 16, 24), th.zeros(2, vector))
    batch, rows, cols = Dim("batch"), 8 * Dim("rows_8", max=MAX_SIDE // 8), 8 * Dim("cols_8", max=MAX_SIDE // 8)
    shapes = {"maps": {0: batch, 2: rows, 3: cols}, "vector": {0: batch}}
    path = Path(path)
    exporter_log = logging.getLogger("torch.onnx")  # notes such as "torchvision is not installed" on stderr
    level = exporter_log.level
    exporter_log.setLevel(logging.ERROR)
    try:
        with atomic_path(path) as partial, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            # The exporter's own deprecation notices (torch and onnxscript about each other) are not the user's.
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message="# The axis name")  # both inputs share the batch axis, as meant
            program = th.onnx.export(WindowLogits().eval(), example, input_names=["maps", "vector"],
                                     output_names=["logits"], dynamic_shapes=shapes, opset_version=OPSET, dynamo=True,
                                     verbose=False)  # fmt: skip
            model = program.model_proto
            for key, value in (("map_size", side), ("width", saved.width)):
                model.metadata_props.add(key=key, value=str(value))
            onnx.save(model, str(partial))
    finally:
        exporter_log.setLevel(level)
    return path
