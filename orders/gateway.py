"""Payment gateways: the interface real processors implement, a registry by name, and the ``test`` one.

Every call carries an idempotency key; a gateway must return the first successful result for a key it
has seen and never act twice on it. Failures are ``GatewayDeclined`` (the processor said no; retrying
the same request will not help) or ``GatewayTimeout`` (no answer; the same key may be retried).
Plugins add processors with ``register_gateway(name, gateway)``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from orders.errors import PaymentError
from orders.models import GatewayCall


class GatewayError(PaymentError):
    """Base of what a gateway call can fail with."""


class GatewayDeclined(GatewayError):
    pass


class GatewayTimeout(GatewayError):
    pass


class UnknownGateway(GatewayError):
    pass


@dataclass(frozen=True)
class GatewayResult:
    reference: str
    amount: Decimal


class PaymentGateway(Protocol):
    """What a processor implements. ``session`` is the caller's, for gateways that keep records."""

    name: str

    def authorize(
        self, session: Session, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    def capture(
        self,
        session: Session,
        *,
        token: str,
        authorization_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult: ...

    def refund(
        self,
        session: Session,
        *,
        token: str,
        payment_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult: ...

    def void(
        self, session: Session, *, token: str, authorization_reference: str, idempotency_key: str
    ) -> GatewayResult: ...


_gateways: dict[str, PaymentGateway] = {}


def register_gateway(name: str, gateway: PaymentGateway, *, replace: bool = False) -> None:
    if name in _gateways and not replace:
        raise ValueError(f"payment gateway {name!r} is already registered")
    _gateways[name] = gateway


def get_gateway(name: str) -> PaymentGateway:
    try:
        return _gateways[name]
    except KeyError:
        raise UnknownGateway(f"unknown payment gateway {name!r}") from None


def gateway_names() -> list[str]:
    return sorted(_gateways)


APPROVED = "approved"
DECLINED = "declined"
TIMEOUT = "timeout"

KNOWN_TOKENS = ("tok_ok", "tok_decline", "tok_capture_fail", "tok_flaky")


class TestGateway:
    """CONTRACT.md's ``test`` gateway: the token decides; every call is counted per idempotency key.

    Calls are recorded in ``gateway_calls`` through a connection of their own, committed at once, as a
    real processor would remember them whatever happens to the caller's transaction.
    """

    __test__ = False  # not a pytest test class
    name = "test"

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
        if _writes_pending_on_sqlite(session):
            # SQLite has one writer: a second connection would wait for this very transaction. Record
            # in the caller's transaction instead (the count then lives and dies with it).
            outcome, reference, first_amount = self._record(
                session, operation, token, amount, idempotency_key
            )
        else:
            bind = session.get_bind()
            engine = bind.engine if isinstance(bind, Connection) else bind
            assert isinstance(engine, Engine)
            with Session(bind=engine, expire_on_commit=False) as own, own.begin():
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
        self, own: Session, operation: str, token: str, amount: Decimal | None, idempotency_key: str
    ) -> tuple[str, str | None, Decimal | None]:
        row = own.execute(
            select(GatewayCall)
            .where(
                GatewayCall.gateway == self.name,
                GatewayCall.idempotency_key == idempotency_key,
                GatewayCall.operation == operation,
            )
            .with_for_update()
        ).scalar_one_or_none()
        if row is None:
            row = GatewayCall(
                gateway=self.name,
                idempotency_key=idempotency_key,
                operation=operation,
                amount=amount,
                calls=0,
                outcome="pending",
            )
            own.add(row)
        row.calls += 1
        if row.outcome != APPROVED:
            row.outcome = self._decide(operation, token, row.calls)
            if row.outcome == APPROVED:
                row.reference = f"test_{operation}_{uuid.uuid4().hex[:16]}"
                row.amount = amount
        own.flush()
        return row.outcome, row.reference, row.amount

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


def _writes_pending_on_sqlite(session: Session) -> bool:
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return False
    if session.new or session.dirty or session.deleted:
        return True
    raw = session.connection().connection.dbapi_connection
    return bool(getattr(raw, "in_transaction", False))


def calls_for(session: Session, idempotency_key: str, operation: str | None = None) -> list[GatewayCall]:
    """What the test gateway recorded for a key (for tests and the bench)."""
    query = select(GatewayCall).where(GatewayCall.idempotency_key == idempotency_key)
    if operation is not None:
        query = query.where(GatewayCall.operation == operation)
    return list(session.execute(query.execution_options(populate_existing=True)).scalars())


register_gateway("test", TestGateway())
