"""Placement algorithms on :mod:`netlists` designs, and the ``placer`` command line."""
