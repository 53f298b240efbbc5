"""The part of an observation's padded maps that a policy network computes, and the logit of the rest.

An observation's maps hold the design's grid centred in a larger square (``envs.observation``);
a network computes only a window around the design (sides multiples of 8, for its three
stride-2 levels) and gives every other cell ``PADDING_LOGIT``. Torch-free, so that playing on
ONNX Runtime cuts the same window.
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
