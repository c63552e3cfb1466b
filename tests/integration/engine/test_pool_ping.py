"""Pooled PostgreSQL connections are pinged before use when they sat idle, and only then."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import exc, text
from sqlalchemy.engine import Engine

from engine.db import make_engine
from tests.conftest import PG_URL, require_or_skip


@pytest.fixture
def pg_url() -> str:
    if not PG_URL:
        require_or_skip("PostgreSQL tests need ORDO_TEST_DATABASE_URL")
    return PG_URL


def _engine(url: str, after: float) -> Iterator[Engine]:
    engine = make_engine(url, ping_after_idle=after, pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def patient(pg_url: str) -> Iterator[Engine]:
    """Pings a connection idle for more than an hour: never, in a test."""
    yield from _engine(pg_url, 3600)


@pytest.fixture
def eager(pg_url: str) -> Iterator[Engine]:
    """Pings every connection that was idle at all."""
    yield from _engine(pg_url, 0)


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each ping the pool sends, True when the connection answered."""
    pings: list[bool] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        try:
            answered = ping(dbapi_connection)
        except Exception:
            pings.append(False)
            raise
        pings.append(answered)
        return answered

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(pg_url: str, pid: int) -> None:
    other = make_engine(pg_url)
    try:
        with other.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            conn.commit()
        # Until the backend is gone, the connection would still answer.
        for _ in range(100):
            with other.connect() as conn:
                alive = conn.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
                if alive.scalar_one() == 0:
                    return
            time.sleep(0.02)
    finally:
        other.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use(
    eager: Engine, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(eager)
    pings = _count_pings(eager, monkeypatch)
    _kill(pg_url, first)
    with eager.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first
    # The dead one failed its ping; the new one, just connected, needed none.
    assert pings == [False]


def test_a_connection_used_a_moment_ago_is_not_pinged(
    patient: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(patient)
    pings = _count_pings(patient, monkeypatch)
    for _ in range(3):
        with patient.connect() as conn:
            conn.execute(text("SELECT 1 + 1"))
    assert _backend_pid(patient) == first
    assert pings == []


def test_an_idle_connection_that_answers_is_pinged_and_kept(
    eager: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(eager)
    pings = _count_pings(eager, monkeypatch)
    assert _backend_pid(eager) == first
    assert pings == [True]


def test_without_the_ping_the_killed_connection_fails_once_then_the_pool_reconnects(
    patient: Engine, pg_url: str
) -> None:
    """What skipping the ping costs: the one statement that meets the dead connection."""
    first = _backend_pid(patient)
    _kill(pg_url, first)
    with patient.connect() as conn:
        with pytest.raises(exc.DBAPIError) as raised:
            conn.execute(text("SELECT 1"))
        conn.rollback()
    assert raised.value.connection_invalidated
    assert _backend_pid(patient) != first
