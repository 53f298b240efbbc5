"""A .plc that is cut, broken or out of range is refused with one line; a valid one is scored exactly.

Every case is a variant of a real file (the clustered Ariane133's ``legalized.plc``), each
asserting either a ``NetlistFormatError`` whose one-line message names the file and the
problem, or, where the variant is still valid, the same score as the original to the digit.
"""

from __future__ import annotations

import functools
import random
import re

import pytest

from netlists import NetlistFormatError, read_pb, read_plc
from placer.cli import main
from placer.cost import CostModel

HEADER_VALUES = {  # a header line of the file, and the values it holds
    "# Columns : 24  Rows : 21": ("24", "21"),
    "# Width : 1433.406  Height : 1433.406": ("1433.406", "1433.406"),
    "# Routes per micron, hor : 57.031  ver : 56.818": ("57.031", "56.818"),
    "# Routes used by macros, hor : 39.583  ver : 30.303": ("39.583", "30.303"),
    "# Smoothing factor : 0": ("0",),
}
NOT_NUMBERS = ("nan", "NaN", "inf", "-inf", "1e999", "-1e999", "x", "1.2.3", "--1", "0x10", "")


@pytest.fixture(scope="module")
def ariane(shared_data):
    folder = shared_data / "ariane133_ng45_clustered"
    netlist, placement, hints = read_pb(folder / "netlist.pb.txt.gz")
    return folder, (folder / "legalized.plc").read_text().splitlines(), (netlist, placement, hints)


@functools.cache
def reference_cost(folder) -> float:
    netlist, placement, hints = read_pb(folder / "netlist.pb.txt.gz")
    design = read_plc(folder / "legalized.plc", netlist, placement, hints)
    return CostModel(design.netlist, design.floorplan).evaluate(design.placement).proxy_cost


def refused(ariane, tmp_path, lines: list[str], match: str, **kwargs) -> None:
    _, _, (netlist, placement, hints) = ariane
    path = tmp_path / "variant.plc"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(NetlistFormatError, match=match) as error:
        read_plc(path, netlist, placement, hints, **kwargs)
    assert "\n" not in str(error.value) and str(error.value).startswith(str(path))


def scored(ariane, tmp_path, lines: list[str], **kwargs) -> float:
    _, _, (netlist, placement, hints) = ariane
    path = tmp_path / "variant.plc"
    path.write_text("\n".join(lines) + "\n")
    design = read_plc(path, netlist, placement, hints, **kwargs)
    return CostModel(design.netlist, design.floorplan).evaluate(design.placement).proxy_cost


def body_start(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if line and not line.startswith("#"))


@pytest.mark.parametrize("keep", [0.0, 0.01, 0.25, 0.5, 0.8537, 0.99, 0.9993])
def test_a_cut_body_is_refused_naming_what_is_missing(ariane, tmp_path, keep):
    _, lines, _ = ariane
    start = body_start(lines)
    cut = start + int(keep * (len(lines) - start))
    refused(
        ariane,
        tmp_path,
        lines[:cut],
        rf"places {cut - start} of the 1410 macros and ports .* missing {1410 - cut + start}",
    )


def test_an_empty_or_header_only_file_is_refused(ariane, tmp_path):
    _, lines, _ = ariane
    refused(ariane, tmp_path, [], "Columns : 24  Rows : 21' is missing")
    refused(ariane, tmp_path, lines[: body_start(lines)], "places 0 of the 1410")


@pytest.mark.parametrize("line", list(HEADER_VALUES))
@pytest.mark.parametrize("token", NOT_NUMBERS)
@pytest.mark.parametrize("position", [0, -1])
def test_a_header_value_that_is_not_a_finite_number_is_refused(ariane, tmp_path, line, token, position):
    _, lines, _ = ariane
    values = HEADER_VALUES[line]
    old = values[position]
    new_line = re.sub(rf"(?<![\d.]){re.escape(old)}(?![\d.])", token, line, count=1) if position == 0 else (
        line[: line.rindex(old)] + token + line[line.rindex(old) + len(old) :])  # fmt: skip
    variant = [new_line if x == line else x for x in lines]
    refused(ariane, tmp_path, variant, r"not a number|not a finite number|malformed|must be a whole number")


@pytest.mark.parametrize(
    ("line", "new", "match"),
    [
        ("# Routes per micron, hor : 57.031  ver : 56.818", "# Routes per micron, hor : -57.031  ver : 56.818", "> 0"),
        ("# Routes per micron, hor : 57.031  ver : 56.818", "# Routes per micron, hor : 57.031  ver : 0", "> 0"),
        ("# Routes used by macros, hor : 39.583  ver : 30.303", "# Routes used by macros, hor : -1  ver : 3", ">= 0"),
        ("# Smoothing factor : 0", "# Smoothing factor : 2.7", "whole number"),
        ("# Smoothing factor : 0", "# Smoothing factor : -1", ">= 0"),
        ("# Columns : 24  Rows : 21", "# Columns : 2.5  Rows : 21", "whole number"),
        ("# Columns : 24  Rows : 21", "# Columns : 0  Rows : 21", ">= 1"),
        ("# Columns : 24  Rows : 21", "# Columns : 100000  Rows : 100000", "more than 4,194,304 cells"),
        ("# Width : 1433.406  Height : 1433.406", "# Width : 0  Height : 1433.406", "> 0"),
        ("# Width : 1433.406  Height : 1433.406", "# Width : 1433.406", "malformed"),
        ("# Columns : 24  Rows : 21", "# Columns : 24", "malformed"),
    ],
)
def test_header_values_out_of_range_or_malformed_are_refused(ariane, tmp_path, line, new, match):
    _, lines, _ = ariane
    refused(ariane, tmp_path, [new if x == line else x for x in lines], match)


@pytest.mark.parametrize("extra", ["# Congestion Columns : 0  Congestion Rows : 5",
                                   "# Congestion Columns : 3000  Congestion Rows : 3000",
                                   "# Blockage : 10 10 5 20 1", "# Blockage : 0 0 10 10 1.5",
                                   "# Blockage : 0 0 nan 10 1", "# Overlap threshold : -0.1",
                                   "# Columns : 24  Rows : 21", "# HARD_MACROs : 13.5"])  # fmt: skip
def test_bad_or_repeated_extra_header_lines_are_refused(ariane, tmp_path, extra):
    _, lines, _ = ariane
    refused(ariane, tmp_path, [extra, *lines], r"must be|cells|blockage needs|finite|repeats|whole")


@pytest.mark.parametrize("required", ["# Columns : 24  Rows : 21", "# Width : 1433.406  Height : 1433.406"])
def test_a_missing_grid_or_canvas_line_is_refused(ariane, tmp_path, required):
    _, lines, _ = ariane
    refused(ariane, tmp_path, [x for x in lines if x != required], "is missing")


@pytest.mark.parametrize("seed", range(6))
def test_a_node_placed_twice_is_refused(ariane, tmp_path, seed):
    _, lines, _ = ariane
    start = body_start(lines)
    rng = random.Random(seed)
    i = rng.randrange(start, len(lines))
    index = lines[i].split()[0]
    twin = f"{index} 10.0 10.0 N 0"
    at = rng.randrange(start, len(lines))
    refused(ariane, tmp_path, [*lines[:at], twin, *lines[at:]], f"node index {index} is placed twice")


@pytest.mark.parametrize("seed", range(8))
def test_a_reordered_or_spaced_body_still_scores_exactly(ariane, tmp_path, seed):
    folder, lines, _ = ariane
    start = body_start(lines)
    body = lines[start:]
    random.Random(seed).shuffle(body)
    spaced = [f"  {line.replace(' ', '   ')}  " if k % 3 == seed % 3 else line for k, line in enumerate(body)]
    variant = lines[:start] + [""] + spaced
    assert scored(ariane, tmp_path, variant) == reference_cost(folder)


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_netlist_positions_are_used_only_when_asked(ariane, tmp_path, keep, shared_data):
    folder, lines, (netlist, placement, hints) = ariane
    start = body_start(lines)
    cut = lines[: start + int(keep * (len(lines) - start))]
    refused(ariane, tmp_path, cut, "missing")
    cost = scored(ariane, tmp_path, cut, netlist_positions=True)
    # the same as the netlist file's positions overwritten by the kept lines, done by hand
    by_index = {int(f): i for i, f in enumerate(netlist.node_file_index)}
    expected = placement.copy()
    for line in cut[start:]:
        index, x, y, *_ = line.split()
        expected.x[by_index[int(index)]], expected.y[by_index[int(index)]] = float(x), float(y)
    design = read_plc(tmp_path / "variant.plc", netlist, placement, hints, netlist_positions=True)
    assert design.placement.x.tolist() == expected.x.tolist()
    assert cost == CostModel(design.netlist, design.floorplan).evaluate(expected).proxy_cost


def test_the_command_line_refuses_in_one_line_and_accepts_the_option(ariane, tmp_path, capsys):
    folder, lines, _ = ariane
    cut = tmp_path / "cut.plc"
    cut.write_text("\n".join(lines[:1204]) + "\n")
    for command in ("info", "eval"):
        assert main([command, str(folder), "--plc", str(cut)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"placer: error: {cut}: places ") and "\n" not in err
    assert main(["eval", str(folder), "--plc", str(cut), "--netlist-positions", "--json"]) == 0
    assert main(["eval", str(folder), "--json"]) == 0  # the whole file
