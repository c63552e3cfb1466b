"""A transaction that only read ends with COMMIT (psycopg keeps its prepared statements); one that wrote,
or holds changes not yet written, still rolls back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Engine

from engine.db import Database, make_engine
from engine.models import OutboxEvent
from engine.store import OUTBOX
from engine.transactions import UNWRITTEN_KEY, wrote
from tests.conftest import PG_URL, require_or_skip


def endings_of(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "commit", lambda _conn: seen.append("commit"))
    event.listen(engine, "rollback", lambda _conn: seen.append("rollback"))
    return seen


def _outbox_row(event_id: str) -> dict[str, object]:
    return {
        "id": event_id,
        "name": "test.event",
        "payload": {},
        "subject_id": None,
        "created_at": datetime.now(UTC),
        "published_at": None,
    }


def _outbox_ids(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(OUTBOX.c.id)).scalars())


def test_a_session_that_only_read_is_committed(db: Database) -> None:
    endings = endings_of(db.engine)
    with db.session_factory() as session:
        session.execute(select(OUTBOX.c.id)).all()
        assert not wrote(session)
    assert endings == ["commit"]


def test_a_session_that_wrote_is_rolled_back(db: Database) -> None:
    endings = endings_of(db.engine)
    with db.session_factory() as session:
        session.execute(select(OUTBOX.c.id)).all()
        session.connection().execute(OUTBOX.insert(), _outbox_row("evt_written"))
        session.execute(select(OUTBOX.c.id)).all()  # a read after the write changes nothing
        assert wrote(session)
    assert endings == ["rollback"]
    assert _outbox_ids(db) == []


def test_changes_not_yet_written_are_rolled_back_not_committed(db: Database) -> None:
    with db.session_factory() as session:
        session.execute(select(OUTBOX.c.id)).all()
        session.add(OutboxEvent(**_outbox_row("evt_pending")))
        assert wrote(session)
    assert _outbox_ids(db) == []


def test_a_read_after_a_commit_starts_clean(db: Database) -> None:
    with db.session_factory() as session:
        session.connection().execute(OUTBOX.insert(), _outbox_row("evt_kept"))
        session.commit()
        session.execute(select(OUTBOX.c.id)).all()
        assert not wrote(session)
    assert _outbox_ids(db) == ["evt_kept"]


@pytest.fixture
def lone_pg() -> Iterator[Database]:
    """PostgreSQL through a pool of one connection, so every session gets the same one."""
    if not PG_URL:
        require_or_skip("PostgreSQL tests need ORDO_TEST_DATABASE_URL")
    database = Database(PG_URL, pool_size=1, max_overflow=0)
    try:
        yield database
    finally:
        database.dispose()


def _prepared(database: Database, marker: str) -> int:
    with database.session_factory() as session:
        found = session.execute(
            text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :marker"),
            {"marker": f"%{marker}%"},
        ).scalar_one()
    return int(found)


def test_prepared_statements_outlive_sessions_that_read(lone_pg: Database) -> None:
    query = text("SELECT 'kept' AS marker_kept, CAST(:n AS integer) + 1")
    for n in range(8):  # psycopg prepares a statement on its fifth use
        with lone_pg.session_factory() as session:
            assert session.execute(query, {"n": n}).one()[1] == n + 1
    assert _prepared(lone_pg, "marker_kept") == 1


def test_a_rollback_would_have_dropped_them(lone_pg: Database) -> None:
    """What the above guards against: the same reads, each session closed with a rollback."""
    query = text("SELECT 'dropped' AS marker_dropped, CAST(:n AS integer) + 1")
    for n in range(8):
        with lone_pg.session_factory() as session:
            session.execute(query, {"n": n}).one()
            session.rollback()
    assert _prepared(lone_pg, "marker_dropped") == 0


def test_a_session_that_closes_unused_sends_nothing(db: Database) -> None:
    endings = endings_of(db.engine)
    with db.session_factory():
        pass
    assert endings == []


def test_runs_waiting_to_be_written_count_as_a_write(db: Database) -> None:
    with db.session_factory() as session:
        session.execute(select(OUTBOX.c.id)).all()
        session.info[UNWRITTEN_KEY] = {"run_x": object()}
        assert wrote(session)
        session.info.pop(UNWRITTEN_KEY)
        assert not wrote(session)


def test_sqlite_engines_take_the_ping_option_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", ping_after_idle=1)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()


def test_a_commit_that_fails_at_close_is_swallowed_and_its_connection_discarded(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing a session that only read commits; when that COMMIT fails (a connection lost, a server
    refusing it), the close must not raise over whatever the caller is handling, and the connection is
    thrown away, not pooled: one whose COMMIT failed before reaching the server is still inside its
    transaction (on PostgreSQL it would hold its locks), which the pool would take for ended."""
    calls: list[str] = []

    def refuse(_dbapi_connection: object) -> None:
        calls.append("commit")
        raise RuntimeError("the commit was refused")

    monkeypatch.setattr(db.engine.dialect, "do_commit", refuse)
    with db.session_factory() as session:
        session.execute(select(OUTBOX.c.id)).all()
        raw = session.connection().connection.dbapi_connection
    assert calls == ["commit"]  # it was tried, it failed, and the block above did not raise
    monkeypatch.undo()
    if db.dialect == "postgresql":
        assert raw is not None and raw.closed
    else:
        with pytest.raises(sqlite3.ProgrammingError):
            raw.execute("SELECT 1")  # type: ignore[union-attr]
    with db.session_factory() as session:
        session.connection().execute(OUTBOX.insert(), _outbox_row("evt_after"))
        session.commit()
    assert _outbox_ids(db) == ["evt_after"]
