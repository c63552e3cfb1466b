"""SQLite's DATETIME column type, its text written by ``datetime.isoformat``.

SQLAlchemy's SQLite DATETIME writes each value through a dict of its fields and a ``%`` format: on an
order's hundred or so timestamps, more time than SQLite takes to store them. ``isoformat`` with
microseconds gives the same text (``2026-12-03 12:38:25.263247``, microseconds always present), so
rows written either way read, sort and compare alike. Reading is SQLAlchemy's own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect


class SQLiteDateTime(sqlite.DATETIME):
    """DATETIME on SQLite, for the UTC timestamp types (which hand it UTC values)."""

    def __init__(self, **kwargs: Any) -> None:
        # SQLAlchemy copies types with their settings (storage_format, regexp) as keywords.
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]

    def bind_processor(self, dialect: Dialect) -> Any:
        default = super().bind_processor(dialect)
        assert default is not None  # SQLite's DATETIME always formats its values
        if self._storage_format != sqlite.DATETIME._storage_format:
            return default  # a format of its own: SQLAlchemy's processor writes it

        def process(value: Any) -> Any:
            if type(value) is datetime:
                naive = value if value.tzinfo is None else value.replace(tzinfo=None)
                return naive.isoformat(" ", "microseconds")
            # A date, None, or something SQLAlchemy's processor refuses with its own error.
            return default(value)

        return process


def sqlite_utc_writer(to_utc: Callable[[Any], datetime | None]) -> Callable[[Any], str | None]:
    """The bind processor of a UTC timestamp type on SQLite, in one step: a UTC datetime straight to
    its text; anything else through ``to_utc`` (the type's own rule for naive or other-zone values,
    which may refuse them) first."""

    def process(value: Any) -> str | None:
        stamp: datetime | None = value
        if type(value) is not datetime or value.tzinfo is not UTC:
            stamp = to_utc(value)
            if stamp is None:
                return None
        assert stamp is not None
        return stamp.replace(tzinfo=None).isoformat(" ", "microseconds")

    return process
