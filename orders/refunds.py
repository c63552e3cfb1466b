"""Credit memos (what is given back) and refunds (the money going back through the gateway).

A memo from a change (a cancel or a discount) documents the refund that change made due: the change
already lowered the grand total, so the memo does not count again. A memo from a return order credits
the received, not yet credited units by the pool rule, and that credit is what lowers the grand total.
Refunds go back to the payments the money came from, newest first, never beyond what was captured.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orders.changes import ChangeDraft, refund_due, write_change
from orders.errors import Conflict
from orders.gateway import check_amount, gateway_for
from orders.models import (
    ChangeKind,
    CreditMemo,
    CreditMemoLine,
    DocumentLineKind,
    OrderChange,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReturnOrder,
    ReturnStatus,
)
from orders.writes import write_pending

ZERO = Decimal(0)


def memo_for_change(session: Session, change: OrderChange) -> CreditMemo:
    """The memo of the refund ``change`` made due; the existing one when it was written already."""
    existing = session.execute(select(CreditMemo).where(CreditMemo.change_id == change.id)).scalars().first()
    if existing is not None:
        return existing
    if change.kind not in (ChangeKind.CANCEL, ChangeKind.DISCOUNT):
        raise Conflict(f"a {change.kind.value} change has no refund of its own; credit its return order")
    summary = change.summary
    memo = CreditMemo(
        summary=summary,
        order_summary_id=summary.id,
        change=change,
        change_id=change.id,
        reason=change.reason or change.kind.value,
        total=change.refund_due,
    )
    session.add(memo)
    if change.refund_due:
        session.add(
            CreditMemoLine(
                credit_memo=memo, kind=DocumentLineKind.ADJUSTMENT, quantity=0, amount=change.refund_due
            )
        )
    write_pending(session)
    return memo


def _credited_on(session: Session, ro: ReturnOrder) -> dict[str, int]:
    rows = session.execute(
        select(CreditMemoLine.order_item_summary_id, func.sum(CreditMemoLine.quantity))
        .join(CreditMemo, CreditMemo.id == CreditMemoLine.credit_memo_id)
        .where(CreditMemo.return_order_id == ro.id, CreditMemoLine.kind == DocumentLineKind.ITEM)
        .group_by(CreditMemoLine.order_item_summary_id)
    ).all()
    return {str(item_id): int(quantity or 0) for item_id, quantity in rows}


def memo_for_return(
    session: Session,
    ro: ReturnOrder,
    *,
    include_shipping: bool = False,
    actor: str = "",
    run_id: str | None = None,
) -> CreditMemo:
    """Credit what ``ro`` received and no memo credited yet; shipping too when asked, at most once."""
    if ro.status in (ReturnStatus.DRAFT, ReturnStatus.CANCELED):
        raise Conflict(f"return order {ro.id} is {ro.status.value}: nothing was received to credit")
    summary = ro.summary
    credited = _credited_on(session, ro)
    todo = [
        (line, line.quantity_received - credited.get(line.order_item_summary_id, 0))
        for line in ro.lines
        if line.quantity_received > credited.get(line.order_item_summary_id, 0)
    ]
    memo = CreditMemo(
        summary=summary, order_summary_id=summary.id, return_order=ro, return_order_id=ro.id, reason=ro.reason
    )
    session.add(memo)
    draft = ChangeDraft(ChangeKind.RETURN, reason=ro.reason, actor=actor, run_id=run_id, return_order=ro)
    for line, k in todo:
        amount = line.item.credit_units(k)
        session.add(
            CreditMemoLine(
                credit_memo=memo,
                item=line.item,
                order_item_summary_id=line.item.id,
                kind=DocumentLineKind.ITEM,
                quantity=k,
                amount=amount,
            )
        )
        draft.lines.append((line.item, k, amount))
        draft.amount += amount
    if include_shipping and summary.shipping_invoiced and not summary.shipping_refunded:
        shipping = summary.shipping_charge
        summary.shipping_refunded = True
        if shipping:
            session.add(
                CreditMemoLine(credit_memo=memo, kind=DocumentLineKind.SHIPPING, quantity=0, amount=shipping)
            )
            memo.includes_shipping = True
            memo.shipping_amount = shipping
            draft.shipping_amount = shipping
            draft.amount += shipping
    memo.total = draft.amount
    summary.credited_total += draft.amount
    draft.refund_due = min(refund_due(summary), draft.amount)
    if draft.amount or draft.lines:
        write_change(session, summary, draft)
    write_pending(session)
    # Everything expected arrived and is credited now: the RMA is done.
    if ro.status == ReturnStatus.RECEIVED and all(line.quantity_outstanding == 0 for line in ro.lines):
        ro.move_to(ReturnStatus.CLOSED)
        write_pending(session)
    return memo


def ensure_refunds(
    session: Session, memo: CreditMemo, *, key: str, keys_by_position: bool = False
) -> list[Refund]:
    """Refund what of ``memo`` is not refunded yet, from captured payments, newest first.

    One gateway refund per payment drawn on, keyed ``key:<payment id>``, so a retried step repeats
    none of them, even when the payments to draw on changed in between (a key by position would then
    name another payment's refund); ``keys_by_position`` keys them as releases before this one did
    (``key``, then ``key:N``), for the retry of a refund such a release first tried. A gateway
    answering for another amount than asked raises ``GatewayMismatch``. Never more than the payments
    hold: if less was captured than the memo says, the rest stays outstanding on the memo.
    """
    summary = memo.summary
    outstanding = memo.refund_outstanding
    if outstanding <= 0:
        return []
    order = summary.order
    token = order.payment_token or ""
    sources = sorted(
        (p for p in summary.payments if p.status == PaymentStatus.CAPTURED and p.refundable > 0),
        key=lambda p: (p.created_at, p.id),
        reverse=True,
    )
    refunds: list[Refund] = []
    for n, payment in enumerate(sources):
        if outstanding <= 0:
            break
        take = min(payment.refundable, outstanding)
        call_key = (key if n == 0 else f"{key}:{n}") if keys_by_position else f"{key}:{payment.id}"
        result = gateway_for(session, payment.gateway).refund(
            session,
            token=token,
            payment_reference=payment.gateway_reference or payment.id,
            amount=take,
            currency=summary.currency,
            idempotency_key=call_key,
        )
        check_amount(result, take, "refund", call_key)
        payment.take_refund(take)
        refund = Refund(
            summary=summary,
            order_summary_id=summary.id,
            payment=payment,
            payment_id=payment.id,
            credit_memo=memo,
            credit_memo_id=memo.id,
            amount=take,
            status=RefundStatus.SUCCEEDED,
            gateway=payment.gateway,
            idempotency_key=call_key,
            gateway_reference=result.reference,
        )
        session.add(refund)
        refunds.append(refund)
        memo.refunded_amount += take
        summary.refunded_total += take
        outstanding -= take
    write_pending(session)
    return refunds
