"""Authorize what the order needs, capture exactly what was invoiced, through the order's gateway."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from engine.db.plain_load import RecordQuery
from orders import money
from orders.errors import NotAuthorized
from orders.gateway import authorization_expiry, check_amount, gateway_for
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
# The key suffix of an authorization a capture made anew, in place of lapsed ones.
REAUTH = ":reauth"
PAYMENTS = cast(Table, Payment.__table__)
ORDERS = cast(Table, Order.__table__)


def open_authorizations(summary: OrderSummary, at: datetime) -> list[PaymentAuthorization]:
    """Authorizations captures can draw on at ``at``, oldest first."""
    return [auth for auth in summary.authorizations if auth.usable_at(at)]


def lapse_expired(summary: OrderSummary, at: datetime) -> Decimal:
    """Mark the authorizations past their expiry at ``at`` as lapsed, and take what they held off the
    summary's authorized total: what lapsed."""
    lapsed = ZERO
    for auth in summary.authorizations:
        if auth.status == AuthorizationStatus.AUTHORIZED and auth.has_lapsed_by(at):
            amount = auth.lapse()
            summary.authorized_total -= amount
            lapsed += amount
    return lapsed


def plan_draws(remaining: Sequence[Decimal], outstanding: Decimal) -> tuple[list[Decimal], Decimal]:
    """What to take from each source, in order, towards ``outstanding`` (all of each until it is met),
    and the shortfall the sources cannot cover."""
    takes: list[Decimal] = []
    left = max(outstanding, ZERO)
    for held in remaining:
        take = min(held, left)
        takes.append(take)
        left -= take
    return takes, left


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
    session: Session, summary: OrderSummary, amount: Decimal, *, key: str, at: datetime
) -> PaymentAuthorization | None:
    """Authorize what ``amount`` needs beyond the authorizations usable at ``at``; None when it is
    already covered. Authorizations past their expiry are marked lapsed first: they cover nothing.

    A retry with the same ``key`` finds the authorization it made instead of asking again. It looks
    among the summary's authorizations, which the cover below needs loaded anyway: an authorization is
    always the summary's, so a query by key would only cost a read (one per order placed).
    """
    for auth in summary.authorizations:
        if auth.idempotency_key == key:
            return auth
    target = money.require_exact(amount, summary.currency)
    lapse_expired(summary, at)
    covered = sum((auth.remaining for auth in open_authorizations(summary, at)), ZERO)
    needed = target - covered
    if needed <= 0:
        write_pending(session)
        return None
    gateway_name, token = _gateway_and_token(session, summary)
    auth = _authorize(session, summary, gateway_name, token, needed, key=key, at=at)
    write_pending(session)
    return auth


def _authorize(
    session: Session,
    summary: OrderSummary,
    gateway_name: str,
    token: str,
    amount: Decimal,
    *,
    key: str,
    at: datetime,
) -> PaymentAuthorization:
    """A new authorization of ``amount``: the gateway's answer first, our rows after, so nothing is
    written for a declined or lost call. It lapses when the gateway says (from ``at``, the earliest
    the gateway can have given it)."""
    gateway = gateway_for(session, gateway_name)
    result = gateway.authorize(
        session, token=token, amount=amount, currency=summary.currency, idempotency_key=key
    )
    check_amount(result, amount, "authorization", key)
    auth = PaymentAuthorization(
        summary=summary,
        gateway=gateway_name,
        token=token,
        amount=amount,
        remaining=amount,
        status=AuthorizationStatus.AUTHORIZED,
        expires_at=authorization_expiry(gateway, result, at),
        idempotency_key=key,
        gateway_reference=result.reference,
    )
    session.add(auth)
    summary.authorized_total += amount
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


@dataclass(frozen=True)
class Captured:
    """What a capture took (one payment per authorization drawn on) and what it authorized anew for
    the part lapsed authorizations no longer covered."""

    payments: list[Payment]
    reauthorized: Decimal = ZERO


def capture_invoice(
    session: Session,
    invoice: Invoice,
    *,
    key: str,
    at: datetime,
    reauthorize: bool = True,
    keys_by_position: bool = False,
) -> Captured:
    """Capture exactly what of ``invoice`` is not captured yet, from the authorizations usable at
    ``at``, oldest first.

    Authorizations past their expiry are marked lapsed. When those still usable do not cover the
    invoice and no more is missing than lapsed, the shortfall is authorized anew on the order's
    payment method (keyed ``key:reauth``) before anything is captured. With ``reauthorize`` off, with
    more missing than lapsed, or when that is declined, nothing is captured.

    Each capture is keyed by its authorization (``key:<authorization id>``, the new one's
    ``key:reauth-capture``), so a retry, deciding as of the same ``at``, repeats exactly the calls of
    the first attempt. (``keys_by_position`` keys them as releases before this one did, ``key`` then
    ``key:N`` by position, for the retry of a capture such a release first tried.) A gateway
    answering for another amount than asked raises ``GatewayMismatch``.
    Nothing to capture (a 0.00 invoice, or a retry after success): no payments.
    """
    summary = invoice.summary
    outstanding = invoice.total - _authorizations_and_captured(session, invoice)
    if outstanding <= 0:
        return Captured([])
    lapse_expired(summary, at)
    # What lapsed and was not authorized anew yet (by an earlier capture): no more may be now.
    lapsed = sum(
        (
            auth.remaining
            for auth in summary.authorizations
            if auth.status == AuthorizationStatus.EXPIRED and auth.has_lapsed_by(at)
        ),
        ZERO,
    ) - sum(
        (auth.amount for auth in summary.authorizations if (auth.idempotency_key or "").endswith(REAUTH)),
        ZERO,
    )
    sources = open_authorizations(summary, at)
    takes, shortfall = plan_draws([auth.remaining for auth in sources], outstanding)
    gateway_name, token = _gateway_and_token(session, summary)
    renewed: PaymentAuthorization | None = None
    if shortfall > 0:
        # Only lapsing makes a shortfall that authorizing again mends, and for no more than lapsed;
        # any other is a fault to show.
        if not (reauthorize and shortfall <= lapsed):
            available = outstanding - shortfall
            raise NotAuthorized(
                f"cannot capture {money.quantize(outstanding, summary.currency)} {summary.currency}: "
                f"only {money.quantize(available, summary.currency)} is authorized"
                + (f" ({money.quantize(lapsed, summary.currency)} lapsed)" if lapsed > 0 else "")
            )
        renewed = _authorize(session, summary, gateway_name, token, shortfall, key=f"{key}{REAUTH}", at=at)
        sources.append(renewed)
        takes.append(shortfall)
    gateway = gateway_for(session, gateway_name)
    payments: list[Payment] = []
    for n, (auth, take) in enumerate(zip(sources, takes, strict=True)):
        if take <= 0:
            continue
        if keys_by_position:
            call_key = key if n == 0 else f"{key}:{n}"
        else:
            call_key = f"{key}:reauth-capture" if auth is renewed else f"{key}:{auth.id}"
        result = gateway.capture(
            session,
            token=token,
            authorization_reference=auth.gateway_reference or auth.id,
            amount=take,
            currency=summary.currency,
            idempotency_key=call_key,
        )
        check_amount(result, take, "capture", call_key)
        if auth.counted_as_authorized:  # (a lapsed one's rest is off the total already)
            summary.authorized_total -= take
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
    write_pending(session)
    return Captured(payments, shortfall if renewed is not None else ZERO)


def spare_authorizations(summary: OrderSummary, at: datetime) -> list[PaymentAuthorization]:
    """Authorizations usable at ``at`` that the order can do without, given what is left to capture
    (the balance due; nothing once the order is paid or canceled)."""
    return choose_spare(open_authorizations(summary, at), max(summary.balance_due, ZERO))


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


def release_funds(session: Session, summary: OrderSummary, *, key: str, at: datetime) -> Decimal:
    """Void the authorizations the order no longer needs (see :func:`spare_authorizations`), so the
    customer's card is not held for money that will never be captured: what was released. Those past
    their expiry at ``at`` are marked lapsed instead (there is nothing left to void).

    Each void is keyed ``key:<authorization id>``, so a retry repeats none that went through.
    """
    lapse_expired(summary, at)
    spare = spare_authorizations(summary, at)
    if not spare:
        write_pending(session)
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
        counted = auth.counted_as_authorized
        amount = auth.void()
        if counted:
            summary.authorized_total -= amount
        released += amount
    write_pending(session)
    return released
