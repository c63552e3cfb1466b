"""What every service operation shares: reading the lines it was given, and writing its change record.

Each operation checks everything first (raising a ``DomainError`` with nothing touched) and only then
moves buckets and money, so a refusal never leaves half a change behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from orders import money
from orders.errors import QuantityError
from orders.models import (
    ChangeKind,
    OrderChange,
    OrderChangeLine,
    OrderItemSummary,
    OrderSummary,
    ReturnOrder,
)

ZERO = Decimal(0)


def wanted_items(
    summary: OrderSummary, lines: Sequence[tuple[str, int]]
) -> list[tuple[OrderItemSummary, int]]:
    """``(item_id, quantity)`` pairs as the summary's items, duplicates merged, in the order given.

    Unknown items and quantities that are not whole numbers > 0 are refused here, before any check of
    the buckets, so every operation reads its lines the same way.
    """
    items = {item.id: item for item in summary.items}
    merged: dict[str, int] = {}
    if not lines:
        raise QuantityError("name at least one item and quantity")
    for item_id, quantity in lines:
        if item_id not in items:
            raise QuantityError(f"order {summary.order_number} has no item {item_id}")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise QuantityError(f"item {item_id}: a quantity is a whole number > 0, not {quantity!r}")
        merged[item_id] = merged.get(item_id, 0) + quantity
    return [(items[item_id], quantity) for item_id, quantity in merged.items()]


def require_available(item: OrderItemSummary, verb: str, k: int, available: int, bucket: str) -> None:
    if k > available:
        raise QuantityError(f"item {item.sku} ({item.id}): cannot {verb} {k}: only {available} {bucket}")


def refund_due(summary: OrderSummary) -> Decimal:
    """What was captured (net of refunds) beyond the grand total: money the customer must get back."""
    over = summary.captured_total - summary.refunded_total - summary.grand_total
    return money.quantize(max(over, ZERO), summary.currency)


@dataclass
class ChangeDraft:
    """The parts of a change record, gathered while an operation runs and written once at its end."""

    kind: ChangeKind
    reason: str = ""
    actor: str = ""
    run_id: str | None = None
    lines: list[tuple[OrderItemSummary, int, Decimal]] = field(default_factory=list)
    amount: Decimal = ZERO
    shipping_amount: Decimal = ZERO
    refund_due: Decimal = ZERO
    charge_due: Decimal = ZERO
    return_order: ReturnOrder | None = None


def write_change(session: Session, summary: OrderSummary, draft: ChangeDraft) -> OrderChange:
    """The immutable change record of ``draft``; written with its lines in one go, never edited after."""
    change = OrderChange(
        summary=summary,
        order_summary_id=summary.id,
        kind=draft.kind,
        amount=draft.amount,
        shipping_amount=draft.shipping_amount,
        refund_due=draft.refund_due,
        charge_due=draft.charge_due,
        actor=draft.actor,
        reason=draft.reason,
        return_order=draft.return_order,
        return_order_id=draft.return_order.id if draft.return_order is not None else None,
        run_id=draft.run_id,
    )
    session.add(change)
    for item, quantity, amount in draft.lines:
        # Added one by one: SQLAlchemy 2 no longer cascades an object into the session through a backref.
        session.add(
            OrderChangeLine(
                change=change, item=item, order_item_summary_id=item.id, quantity=quantity, amount=amount
            )
        )
    return change
