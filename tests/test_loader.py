"""One call loads every real design; the bundle matches the reference data."""

from __future__ import annotations

import pytest

import netlists
from netlists import NetlistFormatError, NodeKind, netlist_differences
from tests.conftest import SHARED_DATA

NETLISTS = sorted(
    str(p.relative_to(SHARED_DATA))
    for pattern in ("**/*.pb.txt", "**/*.pb.txt.gz", "**/*.aux")
    for p in SHARED_DATA.glob(pattern)
)
FLAT = {p for p in NETLISTS if p.startswith("flat/")}


@pytest.mark.parametrize("relative", [pytest.param(p, marks=pytest.mark.slow) if p in FLAT else p for p in NETLISTS])
def test_every_real_netlist_loads_with_one_call(shared_data, relative):
    design = netlists.load(shared_data / relative)
    assert design.netlist.n_nodes > 0
    assert len(design.placement) == design.netlist.n_nodes
    assert design.floorplan.width > 0


def test_reference_data_was_found():
    assert len(NETLISTS) >= 20 or not SHARED_DATA.is_dir()


@pytest.mark.parametrize("name", netlists.bundled_designs())
def test_bundle_matches_reference_data(shared_data, name):
    source = shared_data / "ariane133_ng45_clustered" if name == "ariane133" else None
    for group in ("ct_unit", "tilos_unit"):
        if (shared_data / group / name).is_dir():
            source = shared_data / group / name
    assert source is not None, f"bundled design {name} has no reference copy"
    bundled = netlists.load(name)
    reference_netlist = netlists.load(source, plc=None).netlist
    assert netlist_differences(bundled.netlist, reference_netlist) == []
    if bundled.plc_source:
        plc_name = bundled.plc_source.rsplit("/", 1)[-1]
        reference = netlists.load(source, plc=source / plc_name, netlist_positions=True)  # as bundled ones load
        assert bundled.placement.equals(reference.placement)
        assert bundled.floorplan == reference.floorplan


def test_bundled_names_and_placements():
    assert {"ariane133", "macro_tiles_10x10", "sample_clustered"} <= set(netlists.bundled_designs())
    legalized = netlists.load("ariane133")
    assert legalized.plc_source.endswith("legalized.plc")
    initial = netlists.load("ariane133", plc="initial")
    assert initial.recorded_costs["wirelength_cost"] == 0.0497
    bare = netlists.load("macro_tiles_10x10", plc=None)
    assert bare.plc_source == ""
    assert bare.floorplan.width == pytest.approx(1290.994 / 2, abs=1e-3)  # sqrt(250000 / 0.6)
    assert (bare.floorplan.cols, bare.floorplan.rows) == (10, 10)
    assert bare.netlist.count(NodeKind.HARD_MACRO) == 100


def test_unknown_source_lists_bundled_names(tmp_path):
    with pytest.raises(NetlistFormatError, match="no such file, folder or bundled design.*ariane133"):
        netlists.load("no_such_design")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(NetlistFormatError, match="unknown netlist format"):
        netlists.load(tmp_path / "x.txt")
    with pytest.raises(NetlistFormatError, match="no netlist"):
        netlists.load(tmp_path)
    with pytest.raises(NetlistFormatError, match="file not found"):
        netlists.load("ariane133", plc="nonexistent")


@pytest.mark.parametrize(
    ("name", "plc"),
    [
        ("x.pb.txt.gz", "x.plc"),
        ("x.pb.txt", "x.plc"),
        ("x.pbtxt", "x.plc"),
        ("a.b.aux", "a.b.plc"),
        ("x.gz", "x.gz.plc"),
    ],  # fmt: skip
)
def test_plc_beside_a_netlist_has_the_same_stem(name, plc):
    assert netlists.plc_beside(f"/d/{name}").as_posix() == f"/d/{plc}"


def test_a_plc_beside_a_netlist_file_is_applied_by_default(tmp_path):
    design = netlists.load("ariane133")
    pb = tmp_path / "block.pb.txt"
    netlists.write_pb(design.netlist, design.placement, pb)
    bare = netlists.load(pb)
    assert bare.plc_source == "" and not bare.grid_stated
    netlists.write_plc(design, tmp_path / "block.plc")
    found = netlists.load(pb)
    assert found.plc_source == str(tmp_path / "block.plc") and found.grid_stated
    assert (found.floorplan.cols, found.floorplan.rows) == (24, 21)
    assert netlists.load(pb, plc=None).plc_source == "", "plc=None still means none"
