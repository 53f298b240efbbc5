"""Gymnasium environments for macro placement (imports :mod:`placer` and :mod:`netlists`)."""
