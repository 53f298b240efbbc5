"""An int8 copy of an exported policy network, calibrated on the policy's own observations.

ONNX Runtime's static quantization (QDQ: int8 weights per output channel, uint8 activations
whose ranges are the minimum and maximum seen over calibration windows) runs the network's
convolutions about 1.7 x faster on one CPU thread: 13 ms against 23 ms for 4 windows of
128 x 128. The head (the last 1 x 1 convolution, which reads the decoder and the raw maps)
and the concatenation feeding it stay in float: quantized, they change the most likely
cell of a step twice as often (on Ariane133, 29 % of the steps against 11 %).

The calibration windows are what the policy sees when it plays: the float network plays a
few episodes on each calibration design (:func:`placer.agent.episodes.play`, recording),
and every few steps' windows are kept.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from netlists import Design
from placer.agent.runtime import QUANTIZED_KEY, OnnxPolicy
from placer.agent.window import design_window

CALIBRATION_DESIGNS = ("synthetic:0-7",)  # what train.py export --int8 calibrates on by default


def calibration_windows(
    network: str | Path, designs: Sequence[Design], *, episodes: int = 2, every: int = 4, seed: int = 0
) -> list[dict[str, np.ndarray]]:
    """Network inputs (``maps`` windows scaled to [0, 1], ``vector``) from the float ``network``'s own episodes.

    ``episodes`` episodes are played on each design (the first most likely, the others
    sampled, seeds from ``seed``) and every ``every``-th step of each is kept, one window per input.
    """
    import torch as th

    from envs import MacroPlacementEnv
    from placer.agent.episodes import play
    from placer.agent.placing import map_size

    policy = OnnxPolicy(network)

    def logits(batch: dict[str, np.ndarray], masks: np.ndarray) -> th.Tensor:
        return th.from_numpy(policy.logits(batch["maps"], batch["vector"], masks))

    windows = []
    for design in designs:
        first = MacroPlacementEnv(design, max_grid=map_size(policy, design))
        envs = [first] + [copy.copy(first) for _ in range(max(episodes, 1) - 1)]
        for episode in play(envs, logits, seed, record=True):
            steps = episode.trajectory
            for maps, vector in zip(steps.maps[::every], steps.vectors[::every], strict=True):
                r0, r1, c0, c1 = design_window(maps[0] > 127)
                windows.append({"maps": maps[None, :, r0:r1, c0:c1].astype(np.float32) / np.float32(255.0),
                                "vector": vector[None].astype(np.float32)})  # fmt: skip
    return windows


def quantize_network(network: str | Path, path: str | Path, windows: Sequence[dict[str, np.ndarray]]) -> Path:
    """Write ``network`` (exported by ``train.py export``) quantized to int8 at ``path``, calibrated on ``windows``.

    The file is written whole or not at all, with the source's metadata and ``quantized: int8``.

    Raises:
        ValueError: No calibration windows.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from netlists.textio import atomic_path

    if not windows:
        raise ValueError("quantizing needs calibration windows (the policy played no step)")

    class Windows(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(windows)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.left, None)

    source = onnx.load(str(network))
    head = _head_nodes(source.graph)
    path = Path(path)
    quiet = logging.getLogger()  # the quantizer logs its progress through the root logger
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as work, atomic_path(path) as partial, \
                contextlib.redirect_stdout(io.StringIO()):  # fmt: skip
            prepared = Path(work) / "prepared.onnx"
            quant_pre_process(str(network), str(prepared), skip_symbolic_shape=True)
            quantized = Path(work) / "int8.onnx"
            quantize_static(str(prepared), str(quantized), Windows(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=head)  # fmt: skip
            model = onnx.load(str(quantized))
            del model.metadata_props[:]
            for prop in source.metadata_props:
                model.metadata_props.add(key=prop.key, value=prop.value)
            model.metadata_props.add(key=QUANTIZED_KEY, value="int8")
            onnx.save(model, str(partial))
    finally:
        quiet.setLevel(level)
    return path


def _head_nodes(graph) -> list[str]:
    """The names of the node that writes the graph's output (the head) and of the nodes feeding it directly."""
    output = graph.output[0].name
    head = next(node for node in graph.node if output in node.output)
    feeding = [node.name for node in graph.node if set(node.output) & set(head.input)]
    return [head.name, *feeding]
