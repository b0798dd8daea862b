"""Imports run one way: ui -> rag -> index. A lower layer never imports a higher one, and
the UI is a client of rag only: it never reaches into index/ past the facade."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"index": {"rag", "ui"}, "rag": {"ui"}, "ui": {"index"}}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_downwards(layer: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) & FORBIDDEN[layer])
        for path in (ROOT / layer).rglob("*.py")
        if _imported_packages(path) & FORBIDDEN[layer]
    }
    assert not offenders, f"{layer}/ imports a layer it must not: {offenders}"
