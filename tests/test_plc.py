"""Placement files: header, body, round trip, and refusing a .plc made for another netlist."""

from __future__ import annotations

import pytest

import netlists
from netlists import Blockage, NetlistFormatError, Orientation, parse_plc, read_pb, read_plc, write_plc


def test_header_of_clustered_ariane133(shared_data):
    folder = shared_data / "ariane133_ng45_clustered"
    design = netlists.load(folder / "netlist.pb.txt.gz", plc=folder / "legalized.plc")
    fp = design.floorplan
    assert (fp.width, fp.height, fp.cols, fp.rows) == (1433.406, 1433.406, 24, 21)
    assert (fp.hroutes_per_micron, fp.vroutes_per_micron) == (57.031, 56.818)
    assert (fp.hrouting_alloc, fp.vrouting_alloc) == (39.583, 30.303)
    assert fp.smoothing_range == 0
    assert fp.congestion_cols is None
    assert design.recorded_costs == {
        "wirelength": 4763106.815,
        "wirelength_cost": 0.0736,
        "congestion_cost": 0.7259,
        "density_cost": 0.4988,
    }
    # Body line "19874 447.939 784.96 N 0" lands on the node with that file index.
    node = int(list(design.netlist.node_file_index).index(19874))
    assert (design.placement.x[node], design.placement.y[node]) == (447.939, 784.96)
    assert not design.placement.fixed[node]
    assert (design.placement.orientation == Orientation.S).sum() == 19  # per docs/proxy_cost.md


def test_blockages_and_defaults(shared_data):
    folder = shared_data / "ct_unit" / "simple_grouped_with_coords_with_blockage"
    fp = netlists.load(folder).floorplan
    assert fp.blockages == (Blockage(0, 0, 10, 10, 1.0), Blockage(490, 490, 500, 500, 1.0))
    assert fp.hroutes_per_micron == 70.33  # no routing line in this header: Circuit Training's default


def test_congestion_grid_line(tmp_path):
    text = "# Columns : 3  Rows : 4\n# Width : 30  Height : 40\n# Congestion Columns : 41  Congestion Rows : 40\n"
    (tmp_path / "a.plc").write_text(text)
    assert parse_plc(tmp_path / "a.plc").values["congestion_grid"] == (41.0, 40.0)


def test_round_trip(shared_data, tmp_path):
    folder = shared_data / "ariane133_ng45_clustered"
    design = netlists.load(folder / "netlist.pb.txt.gz", plc=folder / "initial.plc")
    write_plc(design, tmp_path / "out.plc")
    netlist, placement, hints = read_pb(folder / "netlist.pb.txt.gz")
    again = read_plc(tmp_path / "out.plc", netlist, placement, hints)
    assert again.placement.equals(design.placement)
    assert again.floorplan == design.floorplan
    assert again.recorded_costs == design.recorded_costs
    text = (tmp_path / "out.plc").read_text()
    assert "# HARD_MACROs     :       133" in text and "# SOFT_MACRO_PINs :     10630" in text


@pytest.mark.parametrize("name", ["ariane_one_hard", "ariane_port2soft", "sample_clustered_nomacro"])
def test_plc_for_another_netlist_is_refused(shared_data, name):
    folder = shared_data / "tilos_unit" / name
    with pytest.raises(NetlistFormatError, match="another netlist") as info:
        netlists.load(folder)
    assert str(info.value).startswith(str(folder / "initial.plc"))


def test_index_that_is_not_a_node(shared_data, tmp_path):
    folder = shared_data / "ct_unit" / "sample_clustered"
    bad = tmp_path / "bad.plc"
    bad.write_text((folder / "initial.plc").read_text().replace("\n8 170 310 N 0", "\n5 170 310 N 0"))
    with pytest.raises(NetlistFormatError, match=r"bad.plc:36: node index 5 is not a macro, port or std cell"):
        netlists.load(folder, plc=bad)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("2 125 375 N", "expected 'index x y orientation fixed'"),
        ("2 12x5 375 N 0", "bad number"),
        ("2 125 375 Q 0", "unknown orientation"),
        ("2 125 375 N 2", "fixed flag"),
        ("2 125 inf N 0", "finite"),
    ],
)
def test_bad_body_lines(shared_data, tmp_path, line, problem):
    folder = shared_data / "ct_unit" / "sample_clustered"
    bad = tmp_path / "bad.plc"
    bad.write_text((folder / "initial.plc").read_text().replace("\n2 125 375 N 0", "\n" + line))
    with pytest.raises(NetlistFormatError, match=problem) as info:
        netlists.load(folder, plc=bad)
    assert info.value.line == 34


def test_bad_canvas_in_header(shared_data, tmp_path):
    folder = shared_data / "ct_unit" / "sample_clustered"
    bad = tmp_path / "bad.plc"
    bad.write_text((folder / "initial.plc").read_text().replace("Width : 500.000", "Width : 0"))
    with pytest.raises(NetlistFormatError, match="must be > 0"):
        netlists.load(folder, plc=bad)
