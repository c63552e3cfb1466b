"""DESIGN.md's layers, checked on every module's imports: dependencies point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("dsl", "engine", "orders", "api", "designer")
# What each layer may not import at all.
FORBIDDEN = {
    "dsl": {"engine", "orders", "api", "designer"},
    "engine": {"orders", "api", "designer"},
    "orders": {"api", "designer"},
}
# Of the engine, orders uses its registry and its database base (and unit of work), nothing else.
ORDERS_MAY_USE = ("engine.registry", "engine.db")


def _imports(path: Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
    return found


def _modules(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_imports_one_above_it(layer: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules(layer)
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN[layer]
    ]
    assert wrong == []


def test_orders_uses_only_the_engines_registry_and_database_base() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _modules("orders")
        for name in _imports(path)
        if name.split(".")[0] == "engine"
        and not any(name == allowed or name.startswith(allowed + ".") for allowed in ORDERS_MAY_USE)
    ]
    assert wrong == []


def test_the_check_sees_the_layers_modules() -> None:
    assert all(_modules(layer) for layer in LAYERS)
    assert "engine.registry" in {name for path in _modules("orders") for name in _imports(path)}
