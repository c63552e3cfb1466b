"""Return orders (RMAs): opened by an agent, received (perhaps in parts) at a warehouse, or canceled.

Opening one moves units to ``return_initiated``; receiving moves them to ``returned``; money follows
only when a credit memo is written for what was received (``orders.refunds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from orders.changes import ChangeDraft, require_available, wanted_items, write_change
from orders.errors import Conflict, NotFound
from orders.events import RETURN_ORDER_RECEIVED, DomainEvent
from orders.models import (
    ChangeKind,
    OrderItemSummary,
    OrderSummary,
    ReturnOrder,
    ReturnOrderLine,
    ReturnStatus,
)
from orders.views import return_order_view
from orders.writes import write_pending

ZERO = Decimal(0)


def open_return(
    session: Session, summary: OrderSummary, wanted: Sequence[tuple[OrderItemSummary, int]], reason: str
) -> ReturnOrder:
    """A Submitted RMA for ``wanted`` after checking every line; the caller writes the change record."""
    for item, k in wanted:
        require_available(item, "return", k, item.quantity_available_to_return, "shipped and not returned")
    ro = ReturnOrder(
        summary=summary, order_summary_id=summary.id, status=ReturnStatus.SUBMITTED, reason=reason
    )
    session.add(ro)
    for item, k in wanted:
        item.initiate_return(k)
        session.add(
            ReturnOrderLine(
                return_order=ro, item=item, order_item_summary_id=item.id, reason=reason, quantity=k
            )
        )
    return ro


def create_return_order(
    session: Session,
    summary: OrderSummary,
    lines: Sequence[tuple[str, int]],
    *,
    reason: str = "",
    actor: str = "",
    run_id: str | None = None,
) -> ReturnOrder:
    """A Submitted RMA for shipped units the customer keeps; refused (nothing written) past that."""
    wanted = wanted_items(summary, lines)
    ro = open_return(session, summary, wanted, reason)
    draft = ChangeDraft(ChangeKind.RETURN, reason=reason, actor=actor, run_id=run_id, return_order=ro)
    # Nothing is credited yet: the amounts follow with the credit memo for what arrives.
    draft.lines = [(item, k, ZERO) for item, k in wanted]
    write_change(session, summary, draft)
    write_pending(session)
    return ro


def cancel_return_order(
    session: Session, ro: ReturnOrder, *, reason: str = "", actor: str = "", run_id: str | None = None
) -> ReturnOrder:
    """Units still expected will not come: they go back to the customer's. Received ones stay received.

    Canceled when nothing arrived, Closed when some did; an RMA already Closed or Canceled is left as is,
    so an expiry that meets a manual cancel does no harm.
    """
    if ro.status in (ReturnStatus.CLOSED, ReturnStatus.CANCELED):
        return ro
    summary = ro.summary
    draft = ChangeDraft(
        ChangeKind.RETURN, reason=reason or "return canceled", actor=actor, run_id=run_id, return_order=ro
    )
    for line in ro.lines:
        if line.quantity_outstanding > 0:
            draft.lines.append((line.item, line.quantity_outstanding, ZERO))
            line.item.cancel_return(line.quantity_outstanding)
    received = any(line.quantity_received > 0 for line in ro.lines)
    ro.move_to(ReturnStatus.CLOSED if received else ReturnStatus.CANCELED)
    write_change(session, summary, draft)
    write_pending(session)
    return ro


def _load(session: Session, return_order_id: str) -> ReturnOrder:
    ro = session.get(ReturnOrder, return_order_id, with_for_update=True, populate_existing=True)
    if ro is None:
        raise NotFound(f"no return order {return_order_id}")
    return ro


def receive_return(
    session: Session,
    return_order_id: str,
    lines: Sequence[tuple[str, int, str | None]],
    *,
    now: datetime,
) -> tuple[ReturnOrder, list[DomainEvent]]:
    """Record units that arrived: ``(item_id, quantity, condition)``. Partial receipts are fine.

    Raises ``Conflict`` (nothing changed) for an RMA that is not open, an item it does not hold, or more
    units than are still expected.
    """
    ro = _load(session, return_order_id)
    if ro.status not in (ReturnStatus.SUBMITTED, ReturnStatus.RECEIVED):
        raise Conflict(f"return order {ro.id} is {ro.status.value}: nothing more can be received")
    if not lines:
        raise Conflict("name at least one item and quantity received")
    by_item = {line.order_item_summary_id: line for line in ro.lines}
    merged: dict[str, int] = {}
    conditions: dict[str, str | None] = {}
    for item_id, quantity, condition in lines:
        if item_id not in by_item:
            raise Conflict(f"return order {ro.id} has no line for item {item_id}")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise Conflict(f"item {item_id}: a quantity is a whole number > 0, not {quantity!r}")
        merged[item_id] = merged.get(item_id, 0) + quantity
        conditions[item_id] = condition
    for item_id, k in merged.items():
        line = by_item[item_id]
        if k > line.quantity_outstanding:
            raise Conflict(
                f"item {line.item.sku} ({item_id}): cannot receive {k}: "
                f"only {line.quantity_outstanding} still expected on return order {ro.id}"
            )
    for item_id, k in merged.items():
        line = by_item[item_id]
        line.receive(k, conditions[item_id])
        line.item.receive_return(k)
    ro.move_to(ReturnStatus.RECEIVED)
    ro.received_at = now
    write_pending(session)
    payload: dict[str, Any] = {
        "return_order": return_order_view(ro),
        "received": [{"item_id": item_id, "quantity": k} for item_id, k in merged.items()],
    }
    return ro, [DomainEvent(RETURN_ORDER_RECEIVED, payload, ro.order_summary_id)]
