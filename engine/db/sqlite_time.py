"""How the UTC timestamp types write SQLite's DATETIME text: ``datetime.isoformat``, in one step.

SQLAlchemy's SQLite DATETIME writes each value through a dict of its fields and a ``%`` format, after
the timestamp type's own processing: on an order's hundred or so timestamps, more time than SQLite
takes to store them. ``isoformat`` with microseconds gives the same text (``2026-12-03 12:38:25.263247``,
microseconds always present), so rows written either way read, sort and compare alike. Reading, and
the column's DDL, stay SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def sqlite_utc_writer(to_utc: Callable[[Any], datetime | None]) -> Callable[[Any], str | None]:
    """The bind processor of a UTC timestamp type on SQLite: a UTC datetime straight to its text;
    anything else through ``to_utc`` (the type's own rule for naive or other-zone values, which may
    refuse them) first."""

    def process(value: Any) -> str | None:
        stamp: datetime | None = value
        if type(value) is not datetime or value.tzinfo is not UTC:
            stamp = to_utc(value)
            if stamp is None:
                return None
        assert stamp is not None
        return stamp.replace(tzinfo=None).isoformat(" ", "microseconds")

    return process


class WritesSQLiteText:
    """For a UTC timestamp ``TypeDecorator`` (placed before it among the bases): on SQLite, its
    ``process_bind_param`` and the text in one step (:func:`sqlite_utc_writer`); elsewhere unchanged."""

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)  # type: ignore[misc]
        to_utc = self.process_bind_param  # type: ignore[attr-defined]
        return sqlite_utc_writer(lambda value: to_utc(value, dialect))
