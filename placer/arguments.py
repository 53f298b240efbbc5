"""Argument types and the parser shared by the command lines: every bad value is one line and exit 2."""

from __future__ import annotations

import argparse
import math
import zipfile
from pathlib import Path


class DefaultsShown(argparse.HelpFormatter):
    """Help that ends each option's text with its default, unless the text already names one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or "default" in text
            or default is None
            or default is False
            or default == argparse.SUPPRESS
        ):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
        return f"{text} (default: {shown.replace('%', '%%')})".lstrip()


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: error: ...``) and exit status 2.

    Its help shows every option's default (:class:`DefaultsShown`); its sub-command parsers are
    of the same kind.
    """

    def __init__(self, *args, formatter_class: type = DefaultsShown, **kwargs) -> None:
        super().__init__(*args, formatter_class=formatter_class, **kwargs)

    def error(self, message: str):  # noqa: D102 (argparse's)
        self.exit(2, f"{self.prog}: error: {message}\n")


def whole(low: int):
    """An argparse type: a whole number ``>= low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {value}")
        return value

    return parse


def finite(low: float, closed: bool = True):
    """An argparse type: a finite number ``>= low`` (``> low`` unless ``closed``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (value == low and not closed):
            raise argparse.ArgumentTypeError(
                f"expected a finite number {'>=' if closed else '>'} {low:g}, got {text!r}"
            )
        return value

    return parse


def share(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    value = finite(0.0)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def saved_model(text: str) -> str:
    """An argparse type: a model saved by ``train.py`` (a zip archive; the ``.zip`` may be left off)."""
    path = Path(text) if Path(text).is_file() or text.endswith(".zip") else Path(f"{text}.zip")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    if not zipfile.is_zipfile(path):
        raise argparse.ArgumentTypeError(f"{text!r} is not a saved model (expected the .zip that train.py writes)")
    return str(path)


def saved_policy(text: str) -> str:
    """An argparse type: a policy saved by ``train.py`` (:func:`saved_model`) or exported by it (an ``.onnx`` file)."""
    if text.endswith(".onnx"):
        if not Path(text).is_file():
            raise argparse.ArgumentTypeError(f"no such file: {text!r}")
        return text
    return saved_model(text)
