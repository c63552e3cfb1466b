"""engine.db.sqlite_time: the UTC types write SQLite's DATETIME text by isoformat, exactly as
SQLAlchemy's own processor writes it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from engine.db.sqlite_time import sqlite_utc_writer
from engine.models._types import UTCDateTime as EngineUTC
from orders.columns import UTCDateTime as OrdersUTC

SQLITE = sqlite.dialect()
SQLALCHEMY = sqlite.DATETIME().bind_processor(SQLITE)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])


def _writer(type_: object) -> object:
    return type_.dialect_impl(SQLITE).bind_processor(SQLITE)  # type: ignore[attr-defined]


@given(st.datetimes(timezones=ZONES))
def test_the_utc_types_write_the_utc_wall_time_as_sqlalchemy_would(value: datetime) -> None:
    expected = SQLALCHEMY(value.astimezone(UTC).replace(tzinfo=None))
    assert _writer(OrdersUTC())(value) == expected  # type: ignore[operator]
    assert _writer(EngineUTC())(value) == expected  # type: ignore[operator]


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30, 23, 59, 59, 999999)))
def test_every_wall_time_gets_sqlalchemys_text(value: datetime) -> None:
    assert sqlite_utc_writer(lambda v: v)(value.replace(tzinfo=UTC)) == SQLALCHEMY(value)


def test_whole_seconds_keep_their_microseconds() -> None:
    assert _writer(OrdersUTC())(datetime(2026, 12, 3, 12, 0, tzinfo=UTC)) == "2026-12-03 12:00:00.000000"  # type: ignore[operator]


def test_naive_timestamps_keep_each_types_rule() -> None:
    naive = datetime(2026, 12, 3, 12, 0, 0)
    with pytest.raises(ValueError, match="naive datetime"):
        _writer(OrdersUTC())(naive)  # type: ignore[operator]
    # The engine's own tables take a naive value as UTC.
    assert _writer(EngineUTC())(naive) == "2026-12-03 12:00:00.000000"  # type: ignore[operator]
    assert _writer(OrdersUTC())(None) is None  # type: ignore[operator]
    with pytest.raises(AttributeError):
        _writer(OrdersUTC())(date(2026, 12, 3))  # type: ignore[operator]


def test_other_databases_keep_sqlalchemys_processing() -> None:
    dialect = postgresql.dialect()
    processor = OrdersUTC().dialect_impl(dialect).bind_processor(dialect)
    stamp = datetime(2026, 12, 3, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert processor(stamp) == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
