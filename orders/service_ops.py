"""Cancel and discount: the service operations that change what the order is worth.

Money follows DESIGN.md: canceling unshipped units takes their part of the billing pool off the order;
a discount first lowers what is still to be invoiced and credits the rest against what was invoiced,
and whatever was captured beyond the new grand total is due back to the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.orm import Session

from orders import fulfillment, money
from orders.changes import ChangeDraft, refund_due, require_available, wanted_items, write_change
from orders.errors import Conflict
from orders.models import ChangeKind, OrderChange, OrderItemSummary, OrderSummary
from orders.writes import write_pending

ZERO = Decimal(0)


def _unshipped_units(summary: OrderSummary) -> int:
    return sum(item.quantity_available_to_cancel for item in summary.items)


def cancel_items(
    session: Session,
    summary: OrderSummary,
    lines: Sequence[tuple[str, int]],
    *,
    reason: str = "",
    actor: str = "",
    run_id: str | None = None,
) -> OrderChange:
    """Cancel units that have not shipped; allocated ones are taken off their fulfillment orders first.

    Each line's amount comes from its billing pool by the pool rule. The order's shipping is canceled
    with the last unshipped unit when it was never invoiced.
    """
    wanted = wanted_items(summary, lines)
    for item, k in wanted:
        require_available(item, "cancel", k, item.quantity_available_to_cancel, "can be canceled")
    draft = ChangeDraft(ChangeKind.CANCEL, reason=reason, actor=actor, run_id=run_id)
    for item, k in wanted:
        free = item.quantity_available_to_fulfill
        if k > free:
            fulfillment.release_units(session, item, k - free)
        amount = item.cancel_units(k)
        draft.lines.append((item, k, amount))
        draft.amount += amount
    if _unshipped_units(summary) == 0 and not summary.shipping_invoiced and not summary.shipping_canceled:
        summary.shipping_canceled = True
        draft.shipping_amount = summary.shipping_charge
        draft.amount += summary.shipping_charge
    summary.canceled_total += draft.amount
    draft.refund_due = refund_due(summary)
    fulfillment.refresh_status(summary)
    change = write_change(session, summary, draft)
    write_pending(session)
    return change


def _spread(
    total: Decimal, pools: list[tuple[OrderItemSummary, Decimal]], currency: str
) -> list[tuple[OrderItemSummary, Decimal]]:
    """``total`` shared over ``pools`` in proportion to their amounts, by the largest remainder.

    A share never exceeds its pool: each is at most its exact proportion rounded up to the minor unit,
    and a pool is a whole number of minor units at least as large as that proportion.
    """
    if total == 0 or not pools:
        return []
    shares = money.allocate_largest_remainder(total, [amount for _, amount in pools], currency)
    return [(item, share) for (item, _), share in zip(pools, shares, strict=True) if share]


def discount_limit(summary: OrderSummary) -> Decimal:
    """The largest discount the order can take now: what is left to bill plus what can still be credited."""
    billable = sum((max(i.billing_pool().amount, ZERO) for i in summary.items), ZERO)
    creditable = sum((max(i.return_pool().amount, ZERO) for i in summary.items), ZERO)
    return min(billable + creditable, max(summary.grand_total, ZERO))


def create_discount(
    session: Session,
    summary: OrderSummary,
    amount: Decimal,
    *,
    reason: str = "",
    actor: str = "",
    run_id: str | None = None,
) -> OrderChange:
    """Money off the order: the grand total drops by ``amount``.

    The part that fits lowers the lines' uninvoiced pools (so later invoices bill less), spread by the
    largest remainder; the rest is credited against invoiced, uncredited pools (so later returns credit
    less and the credits never add up past the invoice). ``refund_due`` on the change is what was
    captured beyond the new total.
    """
    currency = summary.currency
    value = money.require_exact(amount, currency)
    limit = discount_limit(summary)
    if value <= 0:
        raise Conflict(f"a discount must be more than 0, not {value}")
    if value > limit:
        raise Conflict(f"a discount of {value} is more than this order can take now ({limit})")
    billing = [(i, i.billing_pool().amount) for i in summary.items if i.billing_pool().amount > 0]
    future = min(value, sum((a for _, a in billing), ZERO))
    credit = value - future
    returns = [(i, i.return_pool().amount) for i in summary.items if i.return_pool().amount > 0]
    draft = ChangeDraft(ChangeKind.DISCOUNT, reason=reason, actor=actor, run_id=run_id, amount=value)
    shares: dict[str, Decimal] = {}
    for item, share in _spread(future, billing, currency):
        item.discount_amount += share
        shares[item.id] = shares.get(item.id, ZERO) + share
    for item, share in _spread(credit, returns, currency):
        item.credited_amount += share
        shares[item.id] = shares.get(item.id, ZERO) + share
    items = {i.id: i for i in summary.items}
    draft.lines = [(items[item_id], 0, share) for item_id, share in shares.items()]
    # A discount is a credit to the order whether or not money moves now; a credit memo written for
    # its refund documents that refund and does not count it again.
    summary.credited_total += value
    draft.refund_due = refund_due(summary)
    change = write_change(session, summary, draft)
    write_pending(session)
    return change
