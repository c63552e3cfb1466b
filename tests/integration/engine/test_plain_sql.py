"""engine.db.plain_sql: writes sent as compiled text leave the rows Connection.execute leaves, and are seen
by the connection's events as every statement is."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, event, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError

from engine.db import Database
from engine.db.plain_sql import execute_write
from engine.models._types import JSONType
from engine.transactions import wrote
from orders.columns import Money, StrEnumType, UTCDateTime
from orders.errors import MoneyError
from orders.models.enums import OrderStatus

_META = MetaData()
PROBE = Table(
    "plain_sql_probe",
    _META,
    Column("id", String(40), primary_key=True),
    Column("amount", Money),
    Column("at", UTCDateTime),
    Column("doc", JSONType),
    Column("status", StrEnumType(OrderStatus)),
    Column("count", Integer),
    Column("note", String(40), default="noted"),
    Column("touched", Integer, onupdate=lambda: next(_TOUCHES)),
)
_TOUCHES = itertools.count(1)
# An onupdate that reads the statement's other values, which only SQLAlchemy's execution context has.
CONTEXTUAL = Table(
    "plain_sql_contextual",
    _META,
    Column("id", String(40), primary_key=True),
    Column("count", Integer),
    Column("seen", Integer, onupdate=lambda context: context.get_current_parameters()["count"] * 10),
)
INSERT = PROBE.insert()
BUMP = (
    PROBE.update()
    .where(PROBE.c.id == bindparam("b_id"), PROBE.c.count == bindparam("b_count"))
    .values(count=bindparam("b_new"), amount=bindparam("b_amount"))
)
CLEAR = PROBE.update().where(PROBE.c.id == bindparam("b_id")).values(doc=None, count=7)
AT = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def probe(db: Database) -> Iterator[Database]:
    _META.create_all(db.engine)
    try:
        yield db
    finally:
        _META.drop_all(db.engine)


def _row(row_id: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": row_id,
        "amount": Decimal("12.3400"),
        "at": AT,
        "doc": {"a": [1, "two"], "b": None},
        "status": OrderStatus.CREATED,
        "count": 1,
        "note": "given",
    }
    return {**values, **changes}


def _stored(conn: Connection, row_id: str) -> tuple[Any, ...]:
    """The row as the database holds it (text, not read back through the column types)."""
    found = conn.execute(
        text("SELECT amount, at, doc, status, count, note FROM plain_sql_probe WHERE id = :id"),
        {"id": row_id},
    ).one()
    return tuple(str(value) for value in found)


def _sent(conn: Connection) -> list[tuple[str, bool]]:
    """Each statement sent while listening: its text, and whether it went out compiled by SQLAlchemy."""
    sent: list[tuple[str, bool]] = []

    def before(_c: Any, _cur: Any, statement: str, _p: Any, context: Any, _many: bool) -> None:
        sent.append((statement, context.compiled is not None))

    event.listen(conn, "before_cursor_execute", before)
    return sent


def test_an_insert_leaves_the_row_connection_execute_leaves(probe: Database) -> None:
    with probe.engine.begin() as conn:
        sent = _sent(conn)
        execute_write(conn, INSERT, _row("a"))
        conn.execute(INSERT, _row("b"))
        assert _stored(conn, "a") == _stored(conn, "b")
        # The first went out as text (no compiled statement behind it), the second compiled.
        assert [compiled for _text, compiled in sent[:2]] == [False, True]
        assert sent[0][0] == sent[1][0]


def test_executemany_and_the_rowcount_of_a_guarded_update(probe: Database) -> None:
    with probe.engine.begin() as conn:
        execute_write(conn, INSERT, [_row("a"), _row("b", count=2), _row("c")])
        bumped = execute_write(
            conn,
            BUMP,
            [
                {"b_id": "a", "b_count": 1, "b_new": 5, "b_amount": Decimal("1.5")},
                {"b_id": "b", "b_count": 1, "b_new": 5, "b_amount": Decimal("1.5")},  # stale: count is 2
                {"b_id": "c", "b_count": 1, "b_new": 5, "b_amount": Decimal("1.5")},
            ],
        )
        assert bumped.rowcount == 2
        rows = {r.id: (r.count, r.amount) for r in conn.execute(select(PROBE))}
    assert rows == {"a": (5, Decimal("1.5000")), "b": (2, Decimal("12.3400")), "c": (5, Decimal("1.5000"))}


def test_values_written_into_the_statement_go_out_with_it(probe: Database) -> None:
    with probe.engine.begin() as conn:
        execute_write(conn, INSERT, _row("a"))
        execute_write(conn, CLEAR, {"b_id": "a"})
        found = conn.execute(select(PROBE.c.doc, PROBE.c.count)).one()
    # JSON's own rule for None holds (JSON null), as with Connection.execute.
    assert tuple(found) == (None, 7)


def test_a_python_side_default_fills_what_the_row_leaves_out(probe: Database) -> None:
    row = _row("a")
    del row["note"]
    with probe.engine.begin() as conn:
        sent = _sent(conn)
        execute_write(conn, INSERT, row)
        assert conn.execute(select(PROBE.c.note)).scalar_one() == "noted"
        assert sent[0][1] is False


def test_an_onupdate_is_made_row_by_row(probe: Database) -> None:
    bump = PROBE.update().where(PROBE.c.id == bindparam("b_id")).values(count=PROBE.c.count + 1)
    with probe.engine.begin() as conn:
        execute_write(conn, INSERT, [_row("a"), _row("b")])
        sent = _sent(conn)
        execute_write(conn, bump, [{"b_id": "a"}, {"b_id": "b"}])
        touched = {row.id: row.touched for row in conn.execute(select(PROBE.c.id, PROBE.c.touched))}
    assert touched["a"] != touched["b"] and {touched["a"], touched["b"]} <= set(range(1, 1000))
    assert sent[0][1] is False


def test_a_default_that_reads_the_context_goes_through_connection_execute(probe: Database) -> None:
    recount = CONTEXTUAL.update().where(CONTEXTUAL.c.id == bindparam("b_id")).values(count=bindparam("count"))
    with probe.engine.begin() as conn:
        execute_write(conn, CONTEXTUAL.insert(), {"id": "a", "count": 1})
        sent = _sent(conn)
        execute_write(conn, recount, {"b_id": "a", "count": 4})
        assert tuple(conn.execute(select(CONTEXTUAL.c.count, CONTEXTUAL.c.seen)).one()) == (4, 40)
        assert sent[0][1] is True


def test_rows_with_different_names_go_through_connection_execute(probe: Database) -> None:
    other = _row("b")
    del other["count"]
    with probe.engine.begin() as conn, pytest.raises(StatementError, match="count"):
        # Connection.execute refuses an executemany whose rows name different columns, by name.
        execute_write(conn, INSERT, [_row("a"), other])


def test_the_session_sees_a_write_and_errors_are_sqlalchemys(probe: Database) -> None:
    with probe.session_factory() as session:
        execute_write(session.connection(), INSERT, _row("a"))
        assert wrote(session)
        with pytest.raises(IntegrityError):
            execute_write(session.connection(), INSERT, _row("a"))
        session.rollback()


def test_bad_money_is_refused_before_anything_is_sent(probe: Database) -> None:
    with probe.engine.begin() as conn:
        sent = _sent(conn)
        with pytest.raises(MoneyError):
            execute_write(conn, INSERT, _row("a", amount=Decimal("0.00001")))
        assert sent == []
