"""Layout images drawn with numpy: sizes, colours where the nodes are, orientation of the axes."""

from __future__ import annotations

import numpy as np
from random_designs import centre_pin_netlist

from netlists import Blockage, Floorplan, NodeKind, Placement
from placer import plot
from placer.raster import BLOCKAGE, HARD, HIGHLIGHT, PORT, layout_image


def three_nodes():
    netlist = centre_pin_netlist("three", ["macro", "cluster", "port"],
                                 [NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO, NodeKind.PORT], [40.0, 30.0, 0.0],
                                 [20.0, 30.0, 0.0], [[0, 1, 2]])  # fmt: skip
    floorplan = Floorplan(200.0, 100.0, 4, 2, blockages=(Blockage(150.0, 0.0, 200.0, 20.0),))
    placement = Placement(np.array([30.0, 150.0, 100.0]), np.array([80.0, 60.0, 0.0]), np.zeros(3, np.int8),
                          np.zeros(3, bool))  # fmt: skip
    return netlist, floorplan, placement


def test_nodes_are_drawn_where_they_are_with_y_up():
    netlist, floorplan, placement = three_nodes()
    image = layout_image(netlist, floorplan, placement, size=400)
    assert image.shape == (200, 400, 3) and image.dtype == np.uint8
    # The macro spans x 10..50, y 70..90 (image rows 20..60 from the top at 2 px per µm).
    assert tuple(image[40, 60]) == HARD
    assert tuple(image[150, 60]) != HARD, "nothing at the mirrored spot: y points up"
    assert tuple(image[190, 350]) == BLOCKAGE
    assert tuple(image[199, 200]) == PORT
    soft = image[90, 300].astype(int)  # the cluster shades the background towards green
    assert soft[1] > soft[0] and soft[1] < 255
    highlighted = layout_image(netlist, floorplan, placement, size=400, highlight=[0])
    assert tuple(highlighted[40, 60]) == HIGHLIGHT


def test_unplaced_nodes_are_not_drawn_and_cells_can_be_tinted():
    netlist, floorplan, placement = three_nodes()
    placement.x[0] = placement.y[0] = np.nan
    cells = np.zeros((2, 4), dtype=bool)
    cells[1, 0] = True  # top-left grid cell
    image = layout_image(netlist, floorplan, placement, size=400, cells=cells)
    assert tuple(image[40, 60]) != HARD
    assert image[40, 60, 1] > image[40, 60, 0], "legal cells are tinted green"
    assert tuple(image[150, 60]) == (255, 255, 255)


def test_show_image_draws_into_one_figure():
    netlist, floorplan, placement = three_nodes()
    image = layout_image(netlist, floorplan, placement, size=100)
    figure = plot.show_image(image, title="three")
    assert plot.show_image(image[::-1], figure) is figure
    assert figure.axes[0].get_title() == "three"
    plot.close(figure)
