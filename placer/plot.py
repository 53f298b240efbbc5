"""Figures of placements (the only module of the toolkit that imports matplotlib).

matplotlib is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def _atomic_path(path) -> Iterator[str]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


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
    """Write an RGB ``uint8`` image as a PNG, atomically."""
    import matplotlib.image

    with _atomic_path(path) as tmp:
        matplotlib.image.imsave(tmp, image, format="png")


def cost_comparison(costs: dict[str, dict[str, float]], references: dict[str, float] | None = None):
    """Grouped bars of proxy cost: one group per design, one bar per method; returns the figure.

    Args:
        costs: ``costs[design][method]`` = proxy cost (e.g. the mean over seeds).
        references: Optional proxy cost of each design's reference placement, drawn as a
            dashed line over its group.
    """
    import matplotlib.pyplot as plt

    designs = list(costs)
    methods = sorted({m for per_design in costs.values() for m in per_design}, key=_method_rank)
    width = 0.8 / max(len(methods), 1)
    figure, axes = plt.subplots(figsize=(max(6.0, 1.6 * len(designs) * max(len(methods), 1) / 3), 4.5))
    for k, method in enumerate(methods):
        xs = [i + (k - (len(methods) - 1) / 2) * width for i, d in enumerate(designs) if method in costs[d]]
        ys = [costs[d][method] for d in designs if method in costs[d]]
        axes.bar(xs, ys, width * 0.95, label=method)
    for i, design in enumerate(designs):
        if references and design in references:
            label = "reference placement" if i == 0 else None
            axes.hlines(references[design], i - 0.45, i + 0.45, colors="black", linestyles="dashed", label=label)
    axes.set_xticks(range(len(designs)), designs, rotation=15)
    axes.set_ylabel("proxy cost (lower is better)")
    axes.set_title("proxy cost = wirelength + 0.5 density + 0.5 congestion", fontsize="medium")
    low = min(v for per_design in costs.values() for v in per_design.values())
    axes.set_ylim(bottom=max(0.0, 0.8 * low))
    axes.legend(fontsize="small", ncols=2)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


def _method_rank(method: str) -> tuple[int, str]:
    order = ("random", "greedy", "greedy+cd", "sa", "sa+cd")
    base = method.split(" ")[0]
    return (order.index(base) if base in order else len(order), method)


def save_figure(figure, path) -> None:
    """Write a figure (PNG or SVG by the suffix) atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        with _atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png")
    finally:
        plt.close(figure)


def training_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]], tags: tuple[str, ...] | None = None):
    """One panel per logged quantity against environment steps (e.g. from ``placer.agent.logs``)."""
    import matplotlib.pyplot as plt

    tags = tags or ("rollout/ep_rew_mean", "train/value_loss", "train/entropy_loss", "train/approx_kl")
    shown = [t for t in tags if t in curves]
    figure, axes = plt.subplots(1, max(len(shown), 1), figsize=(4 * max(len(shown), 1), 3.2), squeeze=False)
    for ax, tag in zip(axes[0], shown, strict=False):
        steps, values = curves[tag]
        ax.plot(steps, values, lw=1.2)
        ax.set_title(tag, fontsize="medium")
        ax.set_xlabel("environment steps")
        ax.grid(alpha=0.3)
    figure.tight_layout()
    return figure
