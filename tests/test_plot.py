"""Figures: what is drawn where, labels and units, and files written."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PatchCollection
from test_raster import three_nodes

import netlists
from placer import plot
from placer.cost import CostModel


@pytest.fixture(scope="module")
def ariane():
    design = netlists.load("ariane133")
    return design, CostModel(design.netlist, design.floorplan).evaluate(design.placement)


def test_layout_draws_every_placed_hard_macro_in_microns(ariane):
    design, _ = ariane
    figure = plot.layout(design.netlist, design.floorplan, design.placement, title="ariane133", flylines=5)
    ax = figure.axes[0]
    boxes = [c for c in ax.collections if isinstance(c, PatchCollection)]
    assert len(boxes) == 1 and len(boxes[0].get_paths()) == 133
    assert ax.get_xlabel() == "x (µm)" and ax.get_ylabel() == "y (µm)" and ax.get_aspect() == 1.0
    assert ax.get_xlim() == (0.0, design.floorplan.width) and ax.get_legend() is not None
    assert figure.axes[1].get_ylabel() == "soft-macro and std-cell area per unit area"
    plot.close(figure)


def test_orientation_marks_sit_in_the_corner_the_lower_left_went_to():
    x, y, w, h = np.full(4, 50.0), np.full(4, 50.0), np.full(4, 20.0), np.full(4, 10.0)
    marks = plot._orientation_marks(x, y, w, h, np.array([0, 1, 2, 3]))  # N, FN, S, FS
    corners = marks.mean(axis=1)
    assert (corners[0] < (50, 50)).all()  # N: lower left
    assert corners[1][0] > 50 > corners[1][1]  # FN: lower right
    assert (corners[2] > (50, 50)).all()  # S: upper right
    assert corners[3][0] < 50 < corners[3][1]  # FS: upper left


def test_area_density_spreads_each_node_over_its_pixels():
    netlist, floorplan, placement = three_nodes()
    density = plot.area_density(netlist, placement, floorplan, np.array([0, 1]), pixels=200)
    assert density.shape == (100, 200)
    assert density.sum() == pytest.approx((40 * 20 + 30 * 30) * 1.0)  # 1 pixel per µm here
    assert density[80, 30] == pytest.approx(1.0) and density[10, 10] == 0.0


def test_maps_and_comparison_have_labelled_colour_bars(ariane, tmp_path):
    design, report = ariane
    figure = plot.density_map(report, design.floorplan)
    assert "density" in figure.axes[1].get_ylabel() and "0.4988" in figure.axes[0].get_title()
    plot.save_figure(figure, tmp_path / "density.svg")
    figure = plot.congestion_maps(report, design.floorplan)
    assert [a.get_title() for a in figure.axes[:2]] == ["horizontal congestion", "vertical congestion"]
    assert figure.axes[2].get_ylabel() == "routing demand / capacity"
    plot.save_figure(figure, tmp_path / "congestion.png")
    increments = np.arange(design.floorplan.rows * design.floorplan.cols, dtype=float).reshape(
        design.floorplan.rows, -1
    )
    figure = plot.cell_map(increments, design.floorplan, "wirelength increase (µm)", mask=increments > 10)
    assert figure.axes[1].get_ylabel() == "wirelength increase (µm)"
    plot.close(figure)
    figure = plot.comparison(design.netlist, design.floorplan, [("a", design.placement, report)] * 2)
    assert sum("proxy 0.6859" in a.get_title() for a in figure.axes) == 2
    plot.save_figure(figure, tmp_path / "compare.png")
    assert (tmp_path / "density.svg").read_text().startswith("<?xml")
    assert (tmp_path / "compare.png").read_bytes()[:4] == b"\x89PNG"


def test_macro_names_fit_their_macros_and_never_overlap(ariane):
    design, _ = ariane
    figure = plot.layout(design.netlist, design.floorplan, design.placement, names=True)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    ax = figure.axes[0]
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    assert len(boxes) == 133
    for i, a in enumerate(boxes):
        assert not any(a.overlaps(b) for b in boxes[i + 1 :]), f"name {i} overlaps another"
    plot.close(figure)
