"""engine.sqlite_time: SQLite timestamps written by isoformat are SQLAlchemy's own text, exactly."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from engine.models._types import UTCDateTime as EngineUTC
from engine.sqlite_time import SQLiteDateTime
from orders.columns import UTCDateTime as OrdersUTC

DIALECT = sqlite.dialect()
OURS = SQLiteDateTime().bind_processor(DIALECT)
SQLALCHEMY = sqlite.DATETIME().bind_processor(DIALECT)


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
def test_naive_timestamps_are_written_as_sqlalchemy_writes_them(value: datetime) -> None:
    assert OURS(value) == SQLALCHEMY(value)


@given(st.datetimes(timezones=st.just(UTC)))
def test_utc_timestamps_are_written_as_their_utc_wall_time(value: datetime) -> None:
    assert OURS(value) == SQLALCHEMY(value.replace(tzinfo=None))


def test_whole_seconds_keep_their_microseconds() -> None:
    assert OURS(datetime(2026, 12, 3, 12, 0, 0)) == "2026-12-03 12:00:00.000000"


def test_dates_and_none_go_to_sqlalchemys_processor() -> None:
    assert OURS(date(2026, 12, 3)) == SQLALCHEMY(date(2026, 12, 3))
    assert OURS(None) is None
    with pytest.raises(TypeError):
        OURS("2026-12-03")


def test_a_storage_format_of_its_own_is_left_to_sqlalchemy() -> None:
    fmt = "%(year)04d/%(month)02d/%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
    custom = SQLiteDateTime(storage_format=fmt).bind_processor(DIALECT)
    assert custom(datetime(2026, 12, 3, 1, 2, 3)) == "2026/12/03 01:02:03"


ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
SQLITE = sqlite.dialect()


@given(st.datetimes(timezones=ZONES))
def test_the_utc_types_write_the_utc_wall_time_in_one_step(value: datetime) -> None:
    expected = SQLALCHEMY(value.astimezone(UTC).replace(tzinfo=None))
    orders_writer = OrdersUTC().dialect_impl(SQLITE).bind_processor(SQLITE)
    engine_writer = EngineUTC().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert orders_writer(value) == expected
    assert engine_writer(value) == expected


def test_naive_timestamps_keep_each_types_rule() -> None:
    naive = datetime(2026, 12, 3, 12, 0, 0)
    with pytest.raises(ValueError, match="naive datetime"):
        OrdersUTC().dialect_impl(SQLITE).bind_processor(SQLITE)(naive)
    # The engine's own tables take a naive value as UTC.
    assert EngineUTC().dialect_impl(SQLITE).bind_processor(SQLITE)(naive) == "2026-12-03 12:00:00.000000"
    assert OrdersUTC().dialect_impl(SQLITE).bind_processor(SQLITE)(None) is None
