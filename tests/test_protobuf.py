"""Circuit Training text-proto netlists: parsing, counts on real designs, round trips, errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from netlists import NetlistFormatError, NodeKind, Orientation, netlist_differences, read_pb, write_pb

# The small example of docs/proxy_cost.md section 2.1, written out in full, with mixed-case types.
SMALL = """# Block : small
# FP bbox: {0.0 0.0} {200.0 100.0}
node { name: "__metadata__" attr { key: "soft_macro_area_bloating_ratio" value { f: 2.0 } } }
node { name: "P0" input: "M0/A"
  attr { key: "type" value { placeholder: "PORT" } } attr { key: "side" value { placeholder: "LEFT" } }
  attr { key: "x" value { f: 0 } } attr { key: "y" value { f: 40 } } }
node { name: "M0" attr { key: "type" value { placeholder: "MACRO" } } attr { key: "width" value { f: 60 } }
  attr { key: "height" value { f: 30 } } attr { key: "x" value { f: 50 } } attr { key: "y" value { f: 50 } }
  attr { key: "orientation" value { placeholder: "S" } } }
node { name: "M0/A" attr { key: "type" value { placeholder: "MACRO_PIN" } }
  attr { key: "macro_name" value { placeholder: "M0" } }
  attr { key: "x_offset" value { f: -30 } } attr { key: "y_offset" value { f: 0 } } }
node { name: "M0/B" input: "Grp_0/Pinput" attr { key: "type" value { placeholder: "MACRO_PIN" } }
  attr { key: "macro_name" value { placeholder: "M0" } }
  attr { key: "x_offset" value { f: 30 } } attr { key: "y_offset" value { f: 0 } } }
node { name: "Grp_0" attr { key: "type" value { placeholder: "macro" } } attr { key: "width" value { f: 10 } }
  attr { key: "height" value { f: 20 } } attr { key: "x" value { f: 120 } } attr { key: "y" value { f: 60 } } }
node { name: "Grp_0/Pinput" attr { key: "type" value { placeholder: "macro_pin" } }
  attr { key: "macro_name" value { placeholder: "Grp_0" } }
  attr { key: "x_offset" value { f: 0 } } attr { key: "y_offset" value { f: 0 } } }
node { name: "Grp_0/Poutput_single_0" input: "M0/A" attr { key: "type" value { placeholder: "macro_pin" } }
  attr { key: "macro_name" value { placeholder: "Grp_0" } } attr { key: "weight" value { f: 3 } }
  attr { key: "x_offset" value { f: 0 } } attr { key: "y_offset" value { f: 0 } } }
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "netlist.pb.txt"
    path.write_text(SMALL)
    return path


def test_small_example_by_hand(small):
    netlist, placement, hints = read_pb(small)
    assert netlist.name == "small"
    assert netlist.node_names == ("P0", "M0", "Grp_0")
    assert list(netlist.node_kind) == [NodeKind.PORT, NodeKind.HARD_MACRO, NodeKind.SOFT_MACRO]
    assert list(netlist.node_file_index) == [0, 1, 4]  # __metadata__ does not count; pins do
    assert netlist.metadata["soft_macro_area_bloating_ratio"] == 2.0
    assert netlist.pin_names == ("P0", "M0/A", "M0/B", "Grp_0/Pinput", "Grp_0/Poutput_single_0")
    assert list(netlist.pin_file_index) == [-1, 2, 3, 5, 6]
    # Three nets in file order of their drivers; each starts with its driver.
    nets = [list(netlist.net_pins[a:b]) for a, b in zip(netlist.net_start[:-1], netlist.net_start[1:], strict=True)]
    assert nets == [[0, 1], [2, 3], [4, 1]]
    assert list(netlist.net_weight) == [1, 1, 3]
    assert netlist.weighted_net_count == 5
    assert netlist.node_side[0] == "LEFT"
    assert placement.fixed.tolist() == [True, False, False]
    assert placement.orientation[1] == Orientation.S
    assert (hints.width, hints.height) == (200.0, 100.0)
    # Pin positions follow the orientation: S mirrors both offsets.
    px, py = placement.pin_positions(netlist)
    assert px.tolist() == [0.0, 80.0, 20.0, 120.0, 120.0]
    assert py.tolist() == [40.0, 50.0, 50.0, 60.0, 60.0]


def test_arrays_are_read_only(small):
    netlist, _, _ = read_pb(small)
    with pytest.raises(ValueError):
        netlist.node_width[0] = 1.0
    with pytest.raises(AttributeError):
        netlist.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize("suffix", [".pb.txt", ".pb.txt.gz"])
def test_round_trip_small(small, tmp_path, suffix):
    netlist, placement, _ = read_pb(small)
    out = tmp_path / f"again{suffix}"
    write_pb(netlist, placement, out)
    again, placement2, _ = read_pb(out)
    assert netlist_differences(netlist, again) == []
    assert placement2.equals(placement)


def test_names_with_quotes_and_backslashes_round_trip(small, tmp_path):
    text = SMALL.replace('"M0/B"', r'"M0/B\"q\\"')
    (tmp_path / "q.pb.txt").write_text(text)
    netlist, placement, _ = read_pb(tmp_path / "q.pb.txt")
    assert 'M0/B"q\\' in netlist.pin_names
    write_pb(netlist, placement, tmp_path / "q2.pb.txt")
    assert netlist_differences(netlist, read_pb(tmp_path / "q2.pb.txt")[0]) == []


def test_clustered_ariane133_counts(shared_data):
    netlist, placement, _ = read_pb(shared_data / "ariane133_ng45_clustered" / "netlist.pb.txt.gz")
    assert netlist.count(NodeKind.HARD_MACRO) == 133
    assert netlist.count(NodeKind.SOFT_MACRO) == 782
    assert netlist.count(NodeKind.PORT) == 495
    assert netlist.count(NodeKind.STD_CELL) == 0
    assert netlist.n_nets == 12_422
    assert netlist.weighted_net_count == 22_584
    assert int((netlist.pin_file_index >= 0).sum()) == 18_477  # MACRO_PINs in the .plc header
    assert placement.is_placed.all()


def test_clustered_ariane133_round_trip(shared_data, tmp_path):
    netlist, placement, _ = read_pb(shared_data / "ariane133_ng45_clustered" / "netlist.pb.txt.gz")
    write_pb(netlist, placement, tmp_path / "a.pb.txt.gz")
    again, placement2, _ = read_pb(tmp_path / "a.pb.txt.gz")
    assert netlist_differences(netlist, again) == []
    assert placement2.equals(placement)


@pytest.mark.slow
def test_flat_ariane133_counts(shared_data):
    netlist, placement, hints = read_pb(shared_data / "flat" / "ariane133_ng45" / "ariane.pb.txt.gz")
    assert netlist.count(NodeKind.HARD_MACRO) == 133
    assert netlist.count(NodeKind.STD_CELL) == 88_411
    assert netlist.count(NodeKind.PORT) == 495
    assert (hints.width, hints.height) == (1599.99, 1600.06)
    assert netlist.node_ref[netlist.nodes_of(NodeKind.STD_CELL)[0]] != ""


# ------------------------------------------------------------------------------- bad input
def _expect_error(path, *fragments):
    with pytest.raises(NetlistFormatError) as info:
        read_pb(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    for fragment in fragments:
        assert fragment in message
    return info.value


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.pb.txt", "file not found")


def test_truncated_gzip(small, tmp_path):
    data = gzip.compress(small.read_bytes())
    bad = tmp_path / "cut.pb.txt.gz"
    bad.write_bytes(data[: len(data) // 2])
    _expect_error(bad, "gzip")


def test_file_cut_inside_a_node(small, tmp_path):
    text = small.read_text()
    bad = tmp_path / "cut.pb.txt"
    bad.write_text(text[: text.index('node { name: "Grp_0/Pinput"') + 40])
    _expect_error(bad, "truncated")


@pytest.mark.parametrize(
    ("old", "new", "fragments", "line"),
    [
        (
            'input: "M0/A"\n  attr { key: "type" value { placeholder: "PORT"',
            'input: "M9/A"\n  attr { key: "type" value { placeholder: "PORT"',
            ['"P0"', 'input "M9/A" names an unknown pin or node'],
            4,
        ),
        ('key: "width" value { f: 60 }', 'key: "width" value { f: 0 }', ['"M0"', "positive"], 7),
        ('key: "height" value { f: 20 }', 'key: "height" value { f: -2 }', ['"Grp_0"', "positive"], 16),
        (
            'placeholder: "MACRO_PIN" } }\n  attr { key: "macro_name" value { placeholder: "M0" } }\n  '
            'attr { key: "x_offset" value { f: -30 }',
            'placeholder: "MACRO_PIN" } }\n  attr { key: "macro_name" '
            'value { placeholder: "M7" } }\n  attr { key: "x_offset" value { f: -30 }',
            ['"M0/A"', "not a macro"],
            10,
        ),
        ('key: "x" value { f: 120 }', 'key: "x" value { f: 1x20 }', ["not a number"], 17),
        ('placeholder: "S"', 'placeholder: "Q"', ["unknown orientation"], 7),
        ('placeholder: "macro" }', 'placeholder: "blob" }', ["type must be one of"], 16),
        ('node { name: "Grp_0" attr', 'node { name: "M0" attr', ["name used by two nodes"], 16),
        (
            '  attr { key: "x_offset" value { f: 30 }',
            '  bogus text here\n  attr { key: "x_offset" value { f: 30 }',
            ["unexpected text"],
            15,
        ),
    ],
)
def test_malformed_input_names_file_line_and_problem(small, tmp_path, old, new, fragments, line):
    text = small.read_text()
    assert old in text
    bad = tmp_path / "bad.pb.txt"
    bad.write_text(text.replace(old, new, 1))
    error = _expect_error(bad, *fragments)
    assert error.line == line


def test_write_refuses_what_the_format_cannot_say(small, tmp_path):
    netlist, placement, _ = read_pb(small)
    # Make the port's own pin drive a second net: one pin may drive only one net in a .pb.txt.
    from netlists import Netlist

    two_nets = Netlist(
        **{
            f: getattr(netlist, f)
            for f in netlist.__dataclass_fields__
            if f not in ("net_start", "net_pins", "net_weight")
        },
        net_start=np.r_[netlist.net_start, netlist.net_start[-1] + 2],
        net_pins=np.r_[netlist.net_pins, 0, 2],
        net_weight=np.r_[netlist.net_weight, 1.0],
    )
    with pytest.raises(ValueError, match="drives two nets"):
        write_pb(two_nets, placement, tmp_path / "x.pb.txt")
    assert not (tmp_path / "x.pb.txt").exists()
