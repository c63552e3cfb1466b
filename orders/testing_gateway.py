"""CONTRACT.md's ``test`` gateway: the token decides, and every call is counted per idempotency key.

It stands in for a processor on the far side of a network, which remembers what it was asked whatever
happens to the caller's transaction: each call is one statement (an upsert counting the call) on a
connection pool of its own, committed at once. Those records are the processor's, not Ordo's, so on
PostgreSQL they commit without waiting for the disk (``synchronous_commit`` off on the gateway's own
connections only): a real processor costs Ordo a network call, not an fsync of Ordo's database.
"""

from __future__ import annotations

import os
import weakref
from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from engine.db import holds_writes, make_engine, new_id
from engine.db.plain_sql import execute_write
from orders.columns import utcnow
from orders.gateway import GatewayDeclined, GatewayResult, GatewayTimeout
from orders.models import GatewayCall

APPROVED = "approved"
DECLINED = "declined"
TIMEOUT = "timeout"

KNOWN_TOKENS = ("tok_ok", "tok_decline", "tok_capture_fail", "tok_flaky")

CALLS = cast(Table, GatewayCall.__table__)
_SEEN_AGAIN = (
    CALLS.update()
    .where(CALLS.c.id == bindparam("b_id"))
    .values(
        outcome=bindparam("b_outcome"),
        reference=bindparam("b_reference"),
        amount=bindparam("b_amount"),
    )
)
_upserts: dict[str, Any] = {}
_own_engines: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _count_call(dialect: str) -> Any:
    """INSERT the call as the first one, or count one more on the row already there; either way
    RETURNING the row as it now stands (``calls == 1``: this was the first)."""
    statement = _upserts.get(dialect)
    if statement is None:
        insert = postgresql.insert(CALLS) if dialect == "postgresql" else sqlite.insert(CALLS)
        statement = insert.on_conflict_do_update(
            index_elements=[CALLS.c.gateway, CALLS.c.idempotency_key, CALLS.c.operation],
            set_={"calls": CALLS.c.calls + 1, "updated_at": insert.excluded.updated_at},
        ).returning(CALLS.c.id, CALLS.c.calls, CALLS.c.outcome, CALLS.c.reference, CALLS.c.amount)
        _upserts[dialect] = statement
    return statement


def _own_engine(engine: Engine) -> Engine:
    """The processor's own connections: a pool apart from Ordo's, each statement its own commit."""
    own = _own_engines.get(engine)
    if own is None:
        options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "pool_size": 5, "max_overflow": 10}
        if engine.dialect.name == "postgresql":
            options["connect_args"] = {"options": "-c synchronous_commit=off"}
        own = make_engine(engine.url.render_as_string(hide_password=False), **options)
        _own_engines[engine] = own
    return own


class TestGateway:
    """The ``test`` processor. Tokens: ``tok_ok`` approves, ``tok_decline`` declines authorizations,
    ``tok_capture_fail`` declines captures, ``tok_flaky`` times out on a key's first call.
    Authorizations hold for seven days, as a card network's usually do."""

    __test__ = False  # not a pytest test class
    name = "test"
    authorization_hold = timedelta(days=7)

    def _decide(self, operation: str, token: str, attempt: int) -> str:
        if token == "tok_flaky":
            return TIMEOUT if attempt == 1 else APPROVED
        if token == "tok_ok":
            return APPROVED
        if token == "tok_decline":
            return DECLINED if operation == "authorize" else APPROVED
        if token == "tok_capture_fail":
            return DECLINED if operation == "capture" else APPROVED
        return DECLINED

    def _call(
        self, session: Session, operation: str, token: str, amount: Decimal | None, idempotency_key: str
    ) -> GatewayResult:
        if session.get_bind().dialect.name == "sqlite" and holds_writes(session):
            # SQLite has one writer: a second connection would wait for this very transaction. Record
            # in the caller's transaction instead (the count then lives and dies with it).
            outcome, reference, first_amount = self._record(
                session.connection(), operation, token, amount, idempotency_key
            )
        else:
            bind = session.get_bind()
            engine = bind.engine if isinstance(bind, Connection) else bind
            assert isinstance(engine, Engine)
            with _own_engine(engine).connect() as own:
                outcome, reference, first_amount = self._record(
                    own, operation, token, amount, idempotency_key
                )
        if outcome == TIMEOUT:
            raise GatewayTimeout(f"test gateway: {operation} timed out (token {token})")
        if outcome == DECLINED:
            raise GatewayDeclined(f"test gateway: {operation} declined (token {token})")
        assert reference is not None
        return GatewayResult(reference, first_amount if first_amount is not None else Decimal(0))

    def _record(
        self, conn: Connection, operation: str, token: str, amount: Decimal | None, idempotency_key: str
    ) -> tuple[str, str | None, Decimal | None]:
        first = self._decide(operation, token, 1)
        now = utcnow()
        row = conn.execute(
            _count_call(conn.dialect.name),
            {
                "id": new_id(GatewayCall.id_prefix),
                "gateway": self.name,
                "idempotency_key": idempotency_key,
                "operation": operation,
                "amount": amount,
                "outcome": first,
                "calls": 1,
                "reference": _reference(operation) if first == APPROVED else None,
                "updated_at": now,
                "created_at": now,
            },
        ).one()
        if row.calls == 1 or row.outcome == APPROVED:
            # The first call, decided as it was inserted; or a repeat of an approved one: its answer.
            return row.outcome, row.reference, row.amount
        outcome = self._decide(operation, token, row.calls)
        reference = _reference(operation) if outcome == APPROVED else None
        recorded = amount if outcome == APPROVED else row.amount
        execute_write(
            conn,
            _SEEN_AGAIN,
            {"b_id": row.id, "b_outcome": outcome, "b_reference": reference, "b_amount": recorded},
        )
        return outcome, reference, recorded

    def authorize(
        self, session: Session, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        return self._call(session, "authorize", token, amount, idempotency_key)

    def capture(
        self,
        session: Session,
        *,
        token: str,
        authorization_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult:
        return self._call(session, "capture", token, amount, idempotency_key)

    def refund(
        self,
        session: Session,
        *,
        token: str,
        payment_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult:
        return self._call(session, "refund", token, amount, idempotency_key)

    def void(
        self, session: Session, *, token: str, authorization_reference: str, idempotency_key: str
    ) -> GatewayResult:
        return self._call(session, "void", token, None, idempotency_key)


def _reference(operation: str) -> str:
    return f"test_{operation}_{os.urandom(8).hex()}"
