"""Placement algorithms on :mod:`netlists` designs, and the ``placer`` command line."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rlplace")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
