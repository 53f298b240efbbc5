"""The ``placer`` command line: ``placer info DESIGN [--plc PLC] [--json]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import netlists
from netlists import Design, NetlistFormatError, NodeKind
from netlists.plc import node_type_counts
from netlists.protobuf import format_number


def design_summary(design: Design) -> dict[str, object]:
    """Counts and floorplan of a design, as printed by ``placer info``."""
    nl, fp = design.netlist, design.floorplan
    hard = nl.nodes_of(NodeKind.HARD_MACRO)
    return {
        "design": nl.name,
        "netlist_file": design.source,
        "plc_file": design.plc_source or None,
        "hard_macros": nl.count(NodeKind.HARD_MACRO),
        "soft_macros": nl.count(NodeKind.SOFT_MACRO),
        "std_cells": nl.count(NodeKind.STD_CELL),
        "ports": nl.count(NodeKind.PORT),
        "pins": nl.n_pins,
        "macro_pins": node_type_counts(nl)["MACRO_PINs"],
        "nets": nl.n_nets,
        "weighted_nets": nl.weighted_net_count,
        "total_macro_area": nl.macro_area,
        "hard_macro_area": float(nl.node_area[hard].sum()),
        "canvas_width": fp.width,
        "canvas_height": fp.height,
        "grid_cols": fp.cols,
        "grid_rows": fp.rows,
        "hroutes_per_micron": fp.hroutes_per_micron,
        "vroutes_per_micron": fp.vroutes_per_micron,
        "hrouting_alloc": fp.hrouting_alloc,
        "vrouting_alloc": fp.vrouting_alloc,
        "smoothing_range": fp.smoothing_range,
        "congestion_grid": None if fp.congestion_cols is None else [fp.congestion_cols, fp.congestion_rows],
        "blockages": len(fp.blockages),
        "recorded_costs": design.recorded_costs,
    }


def _print_table(summary: dict[str, object]) -> None:
    width = max(len(key) for key in summary)
    for key, value in summary.items():
        if isinstance(value, float):
            value = format_number(value)
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {format_number(v)}" for k, v in value.items()) or "-"
        elif value is None:
            value = "-"
        print(f"{key:<{width}}  {value}")


def _info(args: argparse.Namespace) -> int:
    summary = design_summary(netlists.load(args.design, plc=_plc_arg(args.plc)))
    if args.json:
        print(json.dumps(summary))
    else:
        _print_table(summary)
    return 0


def _plc_arg(value: str | None) -> str | None:
    """``--plc none`` loads no placement; no ``--plc`` means the design's own."""
    if value is None:
        return netlists.DEFAULT
    return None if value.lower() == "none" else value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``placer``."""
    parser = argparse.ArgumentParser(prog="placer", description="Chip macro placement toolkit.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bundled = ", ".join(netlists.bundled_designs())
    info = commands.add_parser(
        "info",
        help="print a design's counts and floorplan",
        description=f"Print counts and floorplan of a design. DESIGN is a .pb.txt[.gz], a Bookshelf .aux, "
        f"a folder holding one, or a bundled design: {bundled}.",
    )
    info.add_argument("design", metavar="DESIGN")
    info.add_argument(
        "--plc",
        help="placement file, or the stem of one in the design's folder (e.g. initial); "
        "'none' for none (default: the folder's legalized.plc, else initial.plc)",
    )
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(run=_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``placer``; returns the exit status. Bad input prints one line and returns 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except NetlistFormatError as error:
        print(f"placer: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `placer info X | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
