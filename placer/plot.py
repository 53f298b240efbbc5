"""Figures of placements (the only module of the toolkit that imports matplotlib)."""

from __future__ import annotations

import numpy as np


def show_image(image: np.ndarray, figure=None, title: str | None = None):
    """Show an RGB image in a window (reusing ``figure`` when given); returns the figure.

    With a non-interactive matplotlib backend the figure is drawn but no window opens.
    """
    import matplotlib.pyplot as plt

    if figure is None:
        figure, axes = plt.subplots(figsize=(6, 6 * image.shape[0] / image.shape[1]))
        axes.set_axis_off()
        axes.imshow(image)
    else:
        axes = figure.axes[0]
        axes.images[0].set_data(image)
    if title:
        axes.set_title(title)
    figure.canvas.draw_idle()
    if plt.get_backend().lower() != "agg":
        plt.pause(0.001)
    return figure


def close(figure) -> None:
    """Close a figure made by :func:`show_image`."""
    import matplotlib.pyplot as plt

    plt.close(figure)


def save_image(image: np.ndarray, path) -> None:
    """Write an RGB ``uint8`` image as a PNG, atomically (a temporary file, then a rename)."""
    import os
    import tempfile
    from pathlib import Path

    import matplotlib.image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.close(handle)
    try:
        matplotlib.image.imsave(tmp, image)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
