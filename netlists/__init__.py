"""Netlists: the data model, file readers and writers, and the designs bundled with the toolkit.

Load anything with :func:`load`::

    >>> import netlists
    >>> design = netlists.load("ariane133")
    >>> design.netlist.count(netlists.NodeKind.HARD_MACRO)
    133
"""

from netlists.bookshelf import read_bookshelf, write_bookshelf, write_pl
from netlists.errors import NetlistFormatError
from netlists.loader import DEFAULT, bundled_designs, load, plc_beside
from netlists.model import (
    Blockage,
    CoreRow,
    Design,
    Floorplan,
    Netlist,
    NodeKind,
    Orientation,
    Placement,
    netlist_differences,
)
from netlists.plc import parse_plc, read_plc, write_plc
from netlists.protobuf import read_pb, write_pb

__all__ = [
    "DEFAULT",
    "Blockage",
    "CoreRow",
    "Design",
    "Floorplan",
    "Netlist",
    "NetlistFormatError",
    "NodeKind",
    "Orientation",
    "Placement",
    "bundled_designs",
    "load",
    "plc_beside",
    "netlist_differences",
    "parse_plc",
    "read_bookshelf",
    "read_pb",
    "read_plc",
    "write_bookshelf",
    "write_pb",
    "write_pl",
    "write_plc",
]
