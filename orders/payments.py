"""Authorize what the order needs, capture exactly what was invoiced, through the order's gateway."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from engine.db.plain_load import RecordQuery
from orders import money
from orders.errors import NotAuthorized
from orders.gateway import gateway_for
from orders.models import (
    AuthorizationStatus,
    Invoice,
    Order,
    OrderSummary,
    Payment,
    PaymentAuthorization,
)
from orders.writes import write_pending

ZERO = Decimal(0)
PAYMENTS = cast(Table, Payment.__table__)
ORDERS = cast(Table, Order.__table__)


def open_authorizations(summary: OrderSummary) -> list[PaymentAuthorization]:
    """Authorizations with money left to capture, oldest first."""
    return [
        auth
        for auth in summary.authorizations
        if auth.status == AuthorizationStatus.AUTHORIZED and auth.remaining > 0
    ]


_PAYMENT_METHOD = select(ORDERS.c.payment_gateway, ORDERS.c.payment_token).where(
    ORDERS.c.id == bindparam("b_order")
)


def _gateway_and_token(session: Session, summary: OrderSummary) -> tuple[str, str]:
    order = instance_dict(summary).get("order")
    if order is not None:
        gateway, token = order.payment_gateway, order.payment_token
    else:
        # Two columns of the original order, not the whole record (a shipment never needs the rest).
        found = session.connection().execute(_PAYMENT_METHOD, {"b_order": summary.order_id}).one()
        gateway, token = found.payment_gateway, found.payment_token
    if not gateway or not token:
        raise NotAuthorized(f"order {summary.order_number} has no payment method")
    return gateway, token


def ensure_funds(
    session: Session, summary: OrderSummary, amount: Decimal, *, key: str
) -> PaymentAuthorization | None:
    """Authorize what ``amount`` needs beyond open authorizations; None when it is already covered.

    A retry with the same ``key`` finds the authorization it made instead of asking again. It looks
    among the summary's authorizations, which the cover below needs loaded anyway: an authorization is
    always the summary's, so a query by key would only cost a read (one per order placed).
    """
    for auth in summary.authorizations:
        if auth.idempotency_key == key:
            return auth
    target = money.require_exact(amount, summary.currency)
    covered = sum((auth.remaining for auth in open_authorizations(summary)), ZERO)
    needed = target - covered
    if needed <= 0:
        return None
    gateway_name, token = _gateway_and_token(session, summary)
    gateway = gateway_for(session, gateway_name)
    # The gateway's answer first, our rows after: nothing is written for a declined or lost call.
    result = gateway.authorize(
        session, token=token, amount=needed, currency=summary.currency, idempotency_key=key
    )
    auth = PaymentAuthorization(
        summary=summary,
        gateway=gateway_name,
        token=token,
        amount=needed,
        remaining=needed,
        status=AuthorizationStatus.AUTHORIZED,
        idempotency_key=key,
        gateway_reference=result.reference,
    )
    session.add(auth)
    summary.authorized_total += needed
    write_pending(session)
    return auth


_CAPTURED_FOR = select(func.coalesce(func.sum(PAYMENTS.c.amount), 0)).where(
    PAYMENTS.c.invoice_id == bindparam("b_invoice")
)


def captured_for(session: Session, invoice: Invoice) -> Decimal:
    """What was captured against the invoice so far (summed in the database: the summary's payments
    need not be loaded for it)."""
    return Decimal(session.connection().execute(_CAPTURED_FOR, {"b_invoice": invoice.id}).scalar_one())


# A capture needs both, and on a server each query is a round trip: the summary's authorizations, each
# row carrying what was captured against the invoice so far.
_AUTHORIZATIONS_AND_CAPTURED = RecordQuery(
    PaymentAuthorization,
    PaymentAuthorization.order_summary_id == bindparam("b_summary"),
    order_by=(PaymentAuthorization.created_at, PaymentAuthorization.id),
    extra=(_CAPTURED_FOR.scalar_subquery(),),
)


def _authorizations_and_captured(session: Session, invoice: Invoice) -> Decimal:
    """What was captured against ``invoice``; the summary's authorizations are loaded with it."""
    summary = invoice.summary
    rows = _AUTHORIZATIONS_AND_CAPTURED.with_extra(
        session, {"b_summary": summary.id, "b_invoice": invoice.id}
    )
    if "authorizations" not in instance_dict(summary):
        set_committed_value(summary, "authorizations", [auth for auth, _ in rows])
    if not rows:
        return captured_for(session, invoice)
    return Decimal(rows[0][1][0])


def capture_invoice(session: Session, invoice: Invoice, *, key: str) -> list[Payment]:
    """Capture exactly what of ``invoice`` is not captured yet, from open authorizations, oldest first.

    One gateway capture per authorization drawn on, keyed ``key`` (the first) and ``key:N`` after, so
    a retry repeats none of them. Nothing to capture (a 0.00 invoice, or a retry after success): [].
    """
    summary = invoice.summary
    outstanding = invoice.total - _authorizations_and_captured(session, invoice)
    if outstanding <= 0:
        return []
    sources = open_authorizations(summary)
    available = sum((auth.remaining for auth in sources), ZERO)
    if available < outstanding:
        raise NotAuthorized(
            f"cannot capture {money.quantize(outstanding, summary.currency)} {summary.currency}: "
            f"only {money.quantize(available, summary.currency)} is authorized"
        )
    gateway_name, token = _gateway_and_token(session, summary)
    gateway = gateway_for(session, gateway_name)
    payments: list[Payment] = []
    for n, auth in enumerate(sources):
        if outstanding <= 0:
            break
        take = min(auth.remaining, outstanding)
        call_key = key if n == 0 else f"{key}:{n}"
        result = gateway.capture(
            session,
            token=token,
            authorization_reference=auth.gateway_reference or auth.id,
            amount=take,
            currency=summary.currency,
            idempotency_key=call_key,
        )
        auth.draw(take)
        payment = Payment(
            summary=summary,
            authorization=auth,
            authorization_id=auth.id,
            invoice=invoice,
            invoice_id=invoice.id,
            amount=take,
            gateway=gateway_name,
            idempotency_key=call_key,
            gateway_reference=result.reference,
        )
        session.add(payment)
        payments.append(payment)
        summary.captured_total += take
        summary.authorized_total -= take
        outstanding -= take
    write_pending(session)
    return payments


def spare_authorizations(summary: OrderSummary) -> list[PaymentAuthorization]:
    """Open authorizations the order can do without, given what is left to capture (the balance due;
    nothing once the order is paid or canceled)."""
    return choose_spare(open_authorizations(summary), max(summary.balance_due, ZERO))


def choose_spare(
    sources: Sequence[PaymentAuthorization], still_needed: Decimal
) -> list[PaymentAuthorization]:
    """Newest first, each authorization whose remaining amount the others still cover ``still_needed``
    without. Only whole authorizations: a void releases all an authorization holds, so one that is
    partly needed is kept whole."""
    held = sum((auth.remaining for auth in sources), ZERO)
    spare: list[PaymentAuthorization] = []
    for auth in sorted(sources, key=lambda a: (a.created_at, a.id), reverse=True):
        if held - auth.remaining >= still_needed:
            spare.append(auth)
            held -= auth.remaining
    return spare


def release_funds(session: Session, summary: OrderSummary, *, key: str) -> Decimal:
    """Void the authorizations the order no longer needs (see :func:`spare_authorizations`), so the
    customer's card is not held for money that will never be captured: what was released.

    Each void is keyed ``key:<authorization id>``, so a retry repeats none that went through.
    """
    spare = spare_authorizations(summary)
    if not spare:
        return ZERO
    gateway_name, token = _gateway_and_token(session, summary)
    gateway = gateway_for(session, gateway_name)
    released = ZERO
    for auth in spare:
        gateway.void(
            session,
            token=token,
            authorization_reference=auth.gateway_reference or auth.id,
            idempotency_key=f"{key}:{auth.id}",
        )
        amount = auth.void()
        summary.authorized_total -= amount
        released += amount
    write_pending(session)
    return released
