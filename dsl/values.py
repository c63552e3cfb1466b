"""Run-time value rules shared by operators and functions: what counts as a list, a number, text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

CLOCK_KEY = "@clock"  # no flow text can name it: `@` is not part of the language's names


def is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray)


def is_number(value: object) -> bool:
    # bool is an int to Python, never to a flow
    return isinstance(value, int | Decimal | float) and not isinstance(value, bool)


def to_decimal(value: int | Decimal | float) -> Decimal:
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if is_number(value):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "record"
    if is_list(value):
        return "list"
    if isinstance(value, datetime | date):
        return "date"
    if isinstance(value, timedelta):
        return "duration"
    return type(value).__name__


def to_text(value: Any) -> str:
    """How a value reads inside an interpolated string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if is_list(value):
        return ", ".join(to_text(v) for v in value)
    return str(value)
