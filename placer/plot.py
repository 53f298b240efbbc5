"""Figures of placements (the only module of the toolkit that imports matplotlib).

Layouts in microns with equal aspect: the canvas and its grid, hard macros with an
orientation mark in the corner where their N-orientation lower-left corner went, soft macros
and std cells shaded by the area they cover (one image, so 150k cells draw as fast as ten),
blockages, ports and, on request, macro names and the flylines of the heaviest nets. Also the
density and congestion maps, any per-cell map (such as a macro's wirelength increase), layouts
side by side with their cost terms, proxy-cost bars and training curves.

Every function returns a matplotlib figure; :func:`save_figure` writes PNG or SVG.
matplotlib is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from netlists import Floorplan, Netlist, NodeKind, Placement
from netlists.model import ORIENTATION_MATRICES
from netlists.textio import atomic_path

HARD, FIXED, HIGHLIGHT, BLOCKAGE = "#5a7fbf", "#9a9a9a", "#eb8c28", "#dc5050"
SOFT_CMAP = "Greens"
READABLE_PT = 5.0  # font size of macro names worth writing at the figures' 120 dpi


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

    with atomic_path(path) as tmp:
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
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=120, format=Path(path).suffix.lstrip(".") or "png", bbox_inches="tight")
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


def _new_axes(floorplan: Floorplan, ax=None, width: float = 7.0):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    aspect = floorplan.height / floorplan.width
    figure, ax = plt.subplots(figsize=(width, max(2.5, min(width * aspect, 12.0)) + 0.6))
    return figure, ax


def _frame(ax, floorplan: Floorplan, title: str | None) -> None:
    ax.set_xlim(0, floorplan.width)
    ax.set_ylim(0, floorplan.height)
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    if title:
        ax.set_title(title, fontsize="medium")


def area_density(netlist: Netlist, placement: Placement, floorplan: Floorplan, nodes: np.ndarray,
                 pixels: int = 400) -> np.ndarray:  # fmt: skip
    """Node area per image pixel over the pixel's area, ``(rows, cols)`` with row 0 at the bottom.

    Each node's area is spread evenly over the pixels its box touches, with a 2-D difference
    array, so the cost is linear in the nodes whatever their number.
    """
    nodes = nodes[placement.is_placed[nodes]]
    scale = pixels / max(floorplan.width, floorplan.height)
    cols, rows = max(1, round(floorplan.width * scale)), max(1, round(floorplan.height * scale))
    x, y = placement.x[nodes] * scale, placement.y[nodes] * scale
    half_w, half_h = netlist.node_width[nodes] * scale / 2, netlist.node_height[nodes] * scale / 2
    c0 = np.clip(np.floor(x - half_w), 0, cols - 1).astype(int)
    c1 = np.clip(np.ceil(x + half_w), c0 + 1, cols).astype(int)
    r0 = np.clip(np.floor(y - half_h), 0, rows - 1).astype(int)
    r1 = np.clip(np.ceil(y + half_h), r0 + 1, rows).astype(int)
    share = netlist.node_area[nodes] * scale * scale / ((c1 - c0) * (r1 - r0))
    diff = np.zeros((rows + 1, cols + 1))
    np.add.at(diff, (r0, c0), share)
    np.add.at(diff, (r0, c1), -share)
    np.add.at(diff, (r1, c0), -share)
    np.add.at(diff, (r1, c1), share)
    return np.cumsum(np.cumsum(diff, axis=0), axis=1)[:rows, :cols]


def _orientation_marks(x, y, w, h, orientation) -> np.ndarray:
    """Short diagonals across the corner where each macro's N-orientation lower-left corner is now."""
    m = ORIENTATION_MATRICES[orientation]
    sx = np.sign(m[:, 0] * -1 + m[:, 1] * -1)  # where (-1, -1) goes: which corner
    sy = np.sign(m[:, 2] * -1 + m[:, 3] * -1)
    size = 0.25 * np.minimum(w, h)
    cx, cy = x + sx * w / 2, y + sy * h / 2
    return np.stack([np.column_stack([cx - sx * size, cy]), np.column_stack([cx, cy - sy * size])], axis=1)


def layout(
    netlist: Netlist,
    floorplan: Floorplan,
    placement: Placement,
    *,
    ax=None,
    title: str | None = None,
    names: bool = False,
    flylines: int = 0,
    highlight=(),
    pixels: int = 400,
):
    """The placement drawn in microns; returns the figure.

    Args:
        netlist: The netlist.
        floorplan: Canvas, grid and blockages.
        placement: Where the nodes are (unplaced ones are left out).
        ax: Axes to draw into (a new figure by default).
        title: Title of the axes.
        names: Write each hard macro's name (its last path component) inside it.
        flylines: Draw the nets of this many heaviest nets (by weight, then degree) as lines
            from the driver to each sink.
        highlight: Hard macros drawn in orange.
        pixels: Resolution of the soft-macro and std-cell shading along the longer side.
    """
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    ax_given = ax
    figure, ax = _new_axes(floorplan, ax)
    kind, placed = netlist.node_kind, placement.is_placed
    cells = np.flatnonzero((kind == NodeKind.SOFT_MACRO) | (kind == NodeKind.STD_CELL))
    density = area_density(netlist, placement, floorplan, cells, pixels)
    shade = ax.imshow(np.clip(density, 0, 1), origin="lower", extent=(0, floorplan.width, 0, floorplan.height),
                      cmap=SOFT_CMAP, vmin=0, vmax=1, alpha=0.8, interpolation="nearest")  # fmt: skip
    grid_x = np.arange(1, floorplan.cols) * floorplan.cell_width
    grid_y = np.arange(1, floorplan.rows) * floorplan.cell_height
    ax.vlines(grid_x, 0, floorplan.height, colors="#d8d8d8", lw=0.4, zorder=1)
    ax.hlines(grid_y, 0, floorplan.width, colors="#d8d8d8", lw=0.4, zorder=1)
    ax.add_patch(Rectangle((0, 0), floorplan.width, floorplan.height, fill=False, lw=1.2, ec="black", zorder=5))
    for b in floorplan.blockages:
        ax.add_patch(Rectangle((b.x_min, b.y_min), b.x_max - b.x_min, b.y_max - b.y_min, fc=BLOCKAGE, alpha=0.35,
                               hatch="//", ec=BLOCKAGE, zorder=2))  # fmt: skip
    hard = np.flatnonzero((kind == NodeKind.HARD_MACRO) & placed)
    x, y = placement.x[hard], placement.y[hard]
    w, h = netlist.node_width[hard], netlist.node_height[hard]
    marked = {int(n) for n in highlight}
    colours = [HIGHLIGHT if int(n) in marked else FIXED if placement.fixed[n] else HARD for n in hard]
    boxes = [Rectangle((xi - wi / 2, yi - hi / 2), wi, hi) for xi, yi, wi, hi in zip(x, y, w, h, strict=True)]
    ax.add_collection(PatchCollection(boxes, facecolors=colours, edgecolors="#1e2838", linewidths=0.5, zorder=3))
    marks = _orientation_marks(x, y, w, h, placement.orientation[hard].astype(int))
    ax.add_collection(LineCollection(marks, colors="white", linewidths=0.8, zorder=4))
    ports = np.flatnonzero((kind == NodeKind.PORT) & placed)
    ax.scatter(placement.x[ports], placement.y[ports], s=4, c="black", marker="s", zorder=6, clip_on=False)
    if flylines:
        _flylines(ax, netlist, placement, flylines)
    if names:
        _frame(ax, floorplan, title)  # the scale must be set before fitting text to boxes
        _names(ax, netlist, hard, x, y, w, h, grow=ax_given is None)
    _frame(ax, floorplan, title)
    handles = [Patch(fc=HARD, ec="#1e2838", label="hard macro"), Patch(fc=FIXED, label="fixed macro"),
               Patch(fc="#5aa05a", alpha=0.6, label="soft macros / cells"),
               Line2D([], [], marker="s", ls="", ms=3, color="black", label="port")]  # fmt: skip
    if floorplan.blockages:
        handles.append(Patch(fc=BLOCKAGE, alpha=0.35, hatch="//", label="blockage"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncols=len(handles),
              fontsize="small", frameon=False)  # fmt: skip
    colorbar = figure.colorbar(shade, ax=ax, fraction=0.046, pad=0.03)
    colorbar.set_label("soft-macro and std-cell area per unit area")
    return figure


def _names(ax, netlist: Netlist, hard, x, y, w, h, grow: bool) -> None:
    """Each macro's name (last path component) along its longer side, in the largest font that fits it.

    With ``grow``, the figure is first made larger (up to 4x) until most names are readable.
    """
    labels = [netlist.node_names[node].rsplit("/", 1)[-1] for node in hard]
    sizes = _label_sizes(ax, labels, w, h)
    if grow and sizes.size and np.median(sizes) < READABLE_PT:
        ax.figure.set_size_inches(ax.figure.get_size_inches() * min(4.0, READABLE_PT / np.median(sizes)))
        sizes = _label_sizes(ax, labels, w, h)
    for label, size, xi, yi, wi, hi in zip(labels, sizes, x, y, w, h, strict=True):
        if size >= READABLE_PT * 0.7:  # smaller is unreadable: leave it out rather than overflow
            ax.text(xi, yi, label, ha="center", va="center", fontsize=size, rotation=90 if hi > wi else 0,
                    color="white", zorder=7)  # fmt: skip


def _label_sizes(ax, labels: list[str], w, h) -> np.ndarray:
    """The font size (points) at which each label fits its macro, at most 7."""
    figure = ax.figure
    width_points = ax.get_position().width * figure.get_figwidth() * 72
    points_per_um = width_points / (ax.get_xlim()[1] - ax.get_xlim()[0])
    long_side, short_side = np.maximum(w, h) * points_per_um, np.minimum(w, h) * points_per_um
    chars = np.array([max(len(label), 1) for label in labels])
    return np.minimum(np.minimum(7.0, 0.9 * long_side / (0.62 * chars)), 0.8 * short_side)


def _flylines(ax, netlist: Netlist, placement: Placement, count: int) -> None:
    from matplotlib.collections import LineCollection

    px, py = placement.pin_positions(netlist)
    degree = netlist.net_degree
    order = np.lexsort((-degree, -netlist.net_weight))[:count]
    segments = []
    for net in order:
        pins = netlist.net_pins[netlist.net_start[net] : netlist.net_start[net + 1]]
        driver = pins[0]
        segments += [((px[driver], py[driver]), (px[p], py[p])) for p in pins[1:]]
    segments = [s for s in segments if np.isfinite(s).all()]
    ax.add_collection(LineCollection(segments, colors="#c03030", linewidths=0.9, alpha=0.75, zorder=8))


def cell_map(values: np.ndarray, floorplan: Floorplan, label: str, *, ax=None, title: str | None = None,
             mask: np.ndarray | None = None, cmap: str = "viridis"):  # fmt: skip
    """A per-grid-cell quantity (``rows x cols``, row 0 at the bottom) as a heat map; ``mask`` greys cells out."""
    figure, ax = _new_axes(floorplan, ax, width=6.0)
    shown = np.ma.masked_array(values, mask=None if mask is None else ~np.asarray(mask, dtype=bool))
    ax.set_facecolor("#cccccc")
    image = ax.imshow(shown, origin="lower", extent=(0, floorplan.width, 0, floorplan.height), cmap=cmap,
                      interpolation="nearest")  # fmt: skip
    _frame(ax, floorplan, title)
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03).set_label(label)
    return figure


def density_map(report, floorplan: Floorplan, *, ax=None):
    """The density of each placement-grid cell, with the density cost in the title."""
    return cell_map(report.density_map, floorplan, "density (covered area / cell area)", ax=ax,
                    title=f"density (cost {report.density_cost:.4f})", cmap="magma")  # fmt: skip


def congestion_maps(report, floorplan: Floorplan):
    """Horizontal and vertical routing congestion side by side, on one colour scale."""
    import matplotlib.pyplot as plt

    aspect = floorplan.height / floorplan.width
    figure, axes = plt.subplots(1, 2, figsize=(11, 5.5 * aspect + 0.8), squeeze=True)
    top = max(float(report.h_congestion.max()), float(report.v_congestion.max()), 1e-9)
    for ax, values, name in zip(axes, (report.h_congestion, report.v_congestion), ("horizontal", "vertical"),
                                strict=True):  # fmt: skip
        image = ax.imshow(values, origin="lower", extent=(0, floorplan.width, 0, floorplan.height), cmap="inferno",
                          vmin=0, vmax=top, interpolation="nearest")  # fmt: skip
        _frame(ax, floorplan, f"{name} congestion")
    figure.colorbar(image, ax=list(axes), fraction=0.03, pad=0.02).set_label("routing demand / capacity")
    figure.suptitle(f"congestion cost {report.congestion_cost:.4f}", fontsize="medium")
    return figure


def comparison(netlist: Netlist, floorplan: Floorplan, entries):
    """Layouts side by side, each titled with its label and cost terms.

    Args:
        netlist: The netlist.
        floorplan: The canvas.
        entries: ``(label, placement, report)`` triples.
    """
    import matplotlib.pyplot as plt

    entries = list(entries)
    aspect = floorplan.height / floorplan.width
    figure, axes = plt.subplots(1, len(entries), figsize=(6.5 * len(entries), 6.5 * aspect + 1.8), squeeze=False)
    for ax, (label, placement, report) in zip(axes[0], entries, strict=True):
        title = (f"{label}\nproxy {report.proxy_cost:.4f}: WL {report.wirelength_cost:.4f}, "
                 f"density {report.density_cost:.4f}, congestion {report.congestion_cost:.4f}")  # fmt: skip
        layout(netlist, floorplan, placement, ax=ax, title=title)
    return figure
