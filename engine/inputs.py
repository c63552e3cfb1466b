"""Checking a service action's inputs against the flow's declared ``input`` lines."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dsl.flowgraph import FlowGraph


class InputError(ValueError):
    """Bad inputs; ``errors`` lists ``{"field", "message"}`` for each (the API answers 422)."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _quantities(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not value:
        raise ValueError("must be a non-empty list")
    out = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValueError(f"item {index} must be an object with {key} and quantity")
        ident, quantity = item.get(key), item.get("quantity")
        if not isinstance(ident, str) or not ident:
            raise ValueError(f"item {index}: {key} must be a non-empty string")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise ValueError(f"item {index}: quantity must be a positive integer")
        out.append({key: ident, "quantity": quantity})
    return out


def coerce(type_name: str, value: Any) -> Any:
    if type_name == "text":
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        return value
    if type_name in ("decimal", "money"):
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ValueError('must be a decimal number (as a string such as "12.30")')
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("must be a decimal number") from None
        if not number.is_finite():
            raise ValueError("must be a finite number")
        return number
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if type_name == "date":
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD)") from None
    if type_name == "item_quantities":
        return _quantities(value, "item_id")
    if type_name == "sku_quantities":
        return _quantities(value, "sku")
    return value


def validate_inputs(graph: FlowGraph, raw: Mapping[str, Any] | None) -> dict[str, Any]:
    """The flow's inputs with defaults filled in, or :class:`InputError` naming every bad field."""
    raw = dict(raw or {})
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    declared = {decl.name for decl in graph.inputs}
    for name in sorted(set(raw) - declared):
        errors.append({"field": name, "message": "unknown input"})
    for decl in graph.inputs:
        if decl.name not in raw or raw[decl.name] is None:
            if decl.has_default:
                values[decl.name] = decl.default
            else:
                errors.append({"field": decl.name, "message": "is required"})
            continue
        try:
            values[decl.name] = coerce(decl.type, raw[decl.name])
        except ValueError as exc:
            errors.append({"field": decl.name, "message": str(exc)})
    if errors:
        raise InputError(errors)
    return values
