"""JSON encoding of run variables that keeps Decimals, dates and record references exact.

Variables are stored as JSON; a Decimal turned into a float would change money, so Decimals (and
dates) travel as tagged objects such as ``{"$dec": "12.30"}`` and come back as the same type.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

DEC = "$dec"
DATE = "$date"
DATETIME = "$datetime"
RECORD = "$record"


_PLAIN = frozenset({str, int, bool, type(None)})


def encode(value: Any) -> Any:
    """A JSON-ready copy of ``value``."""
    # The common shapes first, by exact type: run variables are mostly strings, numbers and dicts
    # of them, and each isinstance below costs more than the whole of their encoding.
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): encode(v) for k, v in value.items()}
    if kind is Decimal:
        return {DEC: str(value)}
    if kind is list:
        return [encode(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal):
        return {DEC: str(value)}
    if isinstance(value, float):
        return {DEC: repr(value)}
    if isinstance(value, datetime):
        return {DATETIME: value.isoformat()}
    if isinstance(value, date):
        return {DATE: value.isoformat()}
    if isinstance(value, BaseModel):
        return encode(value.model_dump())
    if isinstance(value, RecordRef):
        return {RECORD: value.kind, "id": value.id, "snapshot": encode(dict(value.snapshot))}
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [encode(v) for v in value]
    return str(value)


def jsonable(value: Any) -> Any:
    """Plain JSON for the outside world (outbox, API): Decimals as strings such as ``"12.30"``."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, Decimal | float):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump())
    if isinstance(value, RecordRef):
        return {**jsonable(dict(value.snapshot)), "id": value.id}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if DEC in value and len(value) == 1:
            return Decimal(value[DEC])
        if DATE in value and len(value) == 1:
            return date.fromisoformat(value[DATE])
        if DATETIME in value and len(value) == 1:
            return datetime.fromisoformat(value[DATETIME])
        if RECORD in value:
            return RecordRef(value[RECORD], str(value["id"]), decode(value.get("snapshot") or {}))
        return {k: decode(v) for k, v in value.items()}
    return value


class RecordRef:
    """A pointer to a domain record, bound with ``as``: read live through its loader, not as a copy."""

    __slots__ = ("id", "kind", "snapshot")

    def __init__(self, kind: str, id: str, snapshot: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self.id = id
        self.snapshot: Mapping[str, Any] = snapshot or {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RecordRef) and (self.kind, self.id) == (other.kind, other.id)

    def __hash__(self) -> int:
        return hash((self.kind, self.id))

    def __repr__(self) -> str:
        return f"RecordRef({self.kind!r}, {self.id!r})"


def new_token() -> str:
    """32 random hex digits (128 bits from the OS), the tail of every id: unguessable, and a quarter of
    what ``uuid4().hex`` costs (an order makes dozens)."""
    return os.urandom(16).hex()
