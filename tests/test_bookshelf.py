"""Bookshelf benchmarks: ibm01 counts, conventions, round trip, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import netlists
from netlists import NetlistFormatError, NodeKind, Orientation, netlist_differences, read_bookshelf, write_bookshelf


@pytest.fixture(scope="module")
def ibm01(shared_data):
    return read_bookshelf(shared_data / "bookshelf" / "ibm01" / "ibm01.aux")


def test_ibm01_counts(ibm01):
    nl = ibm01.netlist
    assert nl.n_nodes == 12_752
    assert nl.n_nets == 14_111
    assert len(nl.net_pins) == 50_566
    assert nl.count(NodeKind.PORT) == 246  # the pads (terminals)
    assert nl.count(NodeKind.HARD_MACRO) + nl.count(NodeKind.STD_CELL) == 12_752 - 246
    # Macros are the movable nodes taller than a 16-unit row, e.g. a22 (84 x 96).
    assert nl.node_kind[nl.node_id("a22")] == NodeKind.HARD_MACRO
    assert np.all(nl.node_height[nl.nodes_of(NodeKind.STD_CELL)] <= 16)
    assert np.all(nl.pin_dx == 0) and np.all(nl.pin_dy == 0)  # ibm01 pins have no offsets


def test_ibm01_floorplan_and_pads(ibm01):
    fp, pl, nl = ibm01.floorplan, ibm01.placement, ibm01.netlist
    assert (fp.width, fp.height, len(fp.core_rows)) == (2295.0, 2304.0, 144)
    p1 = nl.node_id("p1")  # "p1 0 2336 : FS", a 1 x 1 pad: centre = lower-left + 0.5
    assert (pl.x[p1], pl.y[p1], pl.orientation[p1]) == (0.5, 2336.5, Orientation.FS)
    assert pl.fixed[nl.nodes_of(NodeKind.PORT)].all()
    assert not pl.fixed[nl.nodes_of(NodeKind.STD_CELL)].any()


def test_drivers_come_first(ibm01, shared_data):
    nl = ibm01.netlist
    # "NetDegree : 2 / p198 B / a8117 B": no O pin, so the first pin drives.
    assert nl.node_names[nl.pin_node[nl.net_pins[0]]] == "p198"
    text = (shared_data / "bookshelf" / "ibm01" / "ibm01.nets").read_text().split("NetDegree")
    for net in (5, 100, 7000):
        pins = [line.split() for line in text[net + 1].splitlines()[1:] if line.strip()]
        outputs = [p[0] for p in pins if p[1] == "O"]
        driver = nl.node_names[nl.pin_node[nl.net_pins[nl.net_start[net]]]]
        assert driver == (outputs[0] if outputs else pins[0][0])


def test_round_trip(ibm01, tmp_path):
    again = read_bookshelf(write_bookshelf(ibm01, tmp_path, "copy"))
    assert netlist_differences(ibm01.netlist, again.netlist) == []
    assert again.placement.equals(ibm01.placement)
    assert again.floorplan == ibm01.floorplan


def test_offsets_weights_and_rotation_round_trip(tmp_path):
    (tmp_path / "t.aux").write_text("RowBasedPlacement : t.nodes t.nets t.wts t.pl t.scl\n")
    (tmp_path / "t.nodes").write_text(
        "UCLA nodes 1.0\nNumNodes : 3\nNumTerminals : 1\nm 40 20\nc 2 10\np 1 1 terminal\n"
    )
    (tmp_path / "t.nets").write_text(
        "UCLA nets 1.0\nNumNets : 1\nNumPins : 3\nNetDegree : 3 clk\n c I : 0.5 -1\n m O : 10 5\n p I\n"
    )
    (tmp_path / "t.wts").write_text("UCLA wts 1.0\nclk 2.5\nm 7\n")
    (tmp_path / "t.pl").write_text("UCLA pl 1.0\nm 100 50 : E\nc 0 0 : N /FIXED\np 0 80 : N\n")
    (tmp_path / "t.scl").write_text(
        "UCLA scl 1.0\nNumRows : 1\nCoreRow Horizontal\n Coordinate : 0\n"
        " Height : 10\n SubrowOrigin : 0 NumSites : 200\nEnd\n"
    )
    design = netlists.load(tmp_path / "t.aux")
    nl, pl = design.netlist, design.placement
    assert [NodeKind(k).name for k in nl.node_kind] == ["HARD_MACRO", "STD_CELL", "PORT"]
    assert nl.pin_names[nl.net_pins[0]] == "m/0"  # the O pin moved to the front
    assert (nl.pin_dx[nl.net_pins[0]], nl.pin_dy[nl.net_pins[0]]) == (10, 5)
    assert nl.net_weight.tolist() == [2.5]
    # E rotates the 40 x 20 macro: its box is 20 x 40, so the centre is (110, 70).
    assert (pl.x[0], pl.y[0]) == (110, 70)
    assert pl.fixed.tolist() == [False, True, True]
    again = read_bookshelf(write_bookshelf(design, tmp_path / "out"))
    assert netlist_differences(nl, again.netlist) == []
    assert again.placement.equals(pl)


@pytest.mark.parametrize(
    ("ext", "old", "new", "problem"),
    [
        (".nets", "NetDegree : 2 \n      p198 B", "NetDegree : 2 \n      zz9 B", "unknown node 'zz9'"),
        (".nodes", "NumNodes :          12752", "NumNodes :          12753", "NumNodes says 12753"),
        (".nodes", "a22          84         96", "a22          0         96", "size must be positive"),
        (".nets", "NumPins : 50566", "NumPins : 50565", "NumPins says"),
        (".pl", "p1           0        2336 : FS", "p1           0        2336 : XX", "unknown orientation"),
        (".scl", "Numrows : 144", "Numrows : 145", "NumRows says 145"),
    ],
)
def test_bad_input(shared_data, tmp_path, ext, old, new, problem):
    shutil.copytree(shared_data / "bookshelf" / "ibm01", tmp_path / "ibm01")
    path = tmp_path / "ibm01" / f"ibm01{ext}"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(NetlistFormatError, match=problem) as info:
        netlists.load(tmp_path / "ibm01")
    assert str(info.value).startswith(str(path))


def test_truncated_nets_file(shared_data, tmp_path):
    shutil.copytree(shared_data / "bookshelf" / "ibm01", tmp_path / "ibm01")
    path = tmp_path / "ibm01" / "ibm01.nets"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))
    with pytest.raises(NetlistFormatError, match="truncated"):
        netlists.load(tmp_path / "ibm01" / "ibm01.aux")
