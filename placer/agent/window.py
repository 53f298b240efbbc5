"""The part of an observation's padded maps that a policy network computes, and the logit of the rest.

An observation's maps hold the design's grid centred in a larger square (``envs.observation``);
a network computes only a window around the design (sides multiples of 8, for its three
stride-2 levels) and gives every other cell ``PADDING_LOGIT``. Each observation gets its own
design's window, so its logits do not depend on what else is in the batch (the network pools
over the window, and its stride-2 levels see the design at the window's offset): a batch is
computed window by window (:func:`window_groups`). Torch-free, so that playing on ONNX Runtime
cuts the same windows.
"""

from __future__ import annotations

import numpy as np

PADDING_LOGIT = -20.0
"""What a policy's logit is outside :func:`design_window` (padding: masked anyway, never computed)."""


def design_window(inside: np.ndarray, multiple: int = 8) -> tuple[int, int, int, int]:
    """Rows and columns ``r0, r1, c0, c1`` (multiples of ``multiple``) covering the map cells ``inside``.

    ``inside`` is a ``max_grid x max_grid`` boolean map (the ``grid`` channel of one or more
    observations): the part a network needs to compute, the rest being padding.
    """
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if rows.size == 0:
        return 0, multiple, 0, multiple
    r0, r1 = rows[0] // multiple * multiple, -(-(rows[-1] + 1) // multiple) * multiple
    c0, c1 = cols[0] // multiple * multiple, -(-(cols[-1] + 1) // multiple) * multiple
    return int(r0), int(r1), int(c0), int(c1)


def window_groups(inside: np.ndarray, multiple: int = 8) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """The batch's observations grouped by their own :func:`design_window`: ``[(window, rows of the batch)]``.

    ``inside`` is the ``batch x max_grid x max_grid`` boolean ``grid`` channel of the batch.
    """
    windows = [design_window(sample, multiple) for sample in inside]
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    for row, window in enumerate(windows):
        groups.setdefault(window, []).append(row)
    return [(window, np.asarray(rows)) for window, rows in groups.items()]
