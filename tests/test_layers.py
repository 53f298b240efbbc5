"""The import rule of the design: layers import downwards only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"netlists", "placer", "envs", "train"}
HEAVY = {"torch", "stable_baselines3", "sb3_contrib", "gymnasium", "matplotlib"}


def layer_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[0] == "placer" and len(parts) > 1 and parts[1] in ("agent", "cli"):
        return f"placer.{parts[1]}"
    return parts[0]


def allowed(layer: str, module: str) -> bool:
    top = module.split(".")[0]
    if layer == "netlists":
        return top not in OURS - {"netlists"}
    if layer == "placer":  # the core: netlists and numeric libraries only (plot.py may use matplotlib)
        return (top in {"netlists", "placer"} and not module.startswith(("placer.agent", "placer.cli"))) or (
            top not in OURS and top not in HEAVY - {"matplotlib"}
        )
    if layer == "envs":
        return (
            top in {"netlists", "envs", "gymnasium"}
            or (top == "placer" and not module.startswith(("placer.agent", "placer.cli")))
            or (top not in OURS and top not in HEAVY)
        )
    if layer == "placer.agent":
        return not module.startswith(("placer.cli", "train"))
    return True  # entry points (placer.cli, train.py) may import everything


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


SOURCES = sorted(
    p for folder in ("netlists", "placer", "envs") for p in (ROOT / folder).rglob("*.py") if "designs" not in p.parts
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
    layer = layer_of(path)
    bad = [m for m in imports(path) if not allowed(layer, m)]
    assert bad == [], f"{path.relative_to(ROOT)} ({layer}) imports {bad}"


def test_the_rule_catches_an_upward_import():
    assert not allowed("netlists", "placer.cost")
    assert not allowed("placer", "envs")
    assert not allowed("placer", "torch")
    assert not allowed("envs", "placer.agent")
    assert allowed("envs", "placer.cost")


def test_only_the_plot_module_imports_matplotlib():
    importers = [p.relative_to(ROOT).as_posix() for p in SOURCES
                 if any(m.split(".")[0] == "matplotlib" for m in imports(p))]  # fmt: skip
    assert importers in ([], ["placer/plot.py"])
