"""Exchanges: some units come back and others go out, in one action.

The returned units open an RMA like any return and are credited when they arrive; the new units are
added to the order as lines of their own, valued like the units they replace (the same SKU elsewhere
on the order, or else the first returned line's unit value), and routed and reserved at once so an
exchange without stock is refused with nothing written. The customer pays the new units when they
ship and gets the returned ones back when they arrive: the net is the price difference, which the
change records (``charge_due`` when the new units cost more).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.orm import Session

from orders import money, routing
from orders.changes import ChangeDraft, wanted_items, write_change
from orders.errors import QuantityError
from orders.models import ChangeKind, ItemOrigin, OrderChange, OrderItemSummary, OrderSummary, ReturnOrder
from orders.returns import open_return
from orders.writes import write_pending

ZERO = Decimal(0)


@dataclass
class Exchange:
    change: OrderChange
    return_order: ReturnOrder
    new_items: list[OrderItemSummary] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)
    returned_value: Decimal = ZERO
    new_value: Decimal = ZERO

    @property
    def price_difference(self) -> Decimal:
        """What the customer pays more (positive) or gets back (negative) once both sides settle."""
        return self.new_value - self.returned_value


def _new_skus(new_lines: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    merged: dict[str, int] = {}
    if not new_lines:
        raise QuantityError("name at least one SKU and quantity to send")
    for sku, quantity in new_lines:
        if not isinstance(sku, str) or not sku.strip():
            raise QuantityError("a SKU to send must be a non-empty string")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise QuantityError(f"SKU {sku}: a quantity is a whole number > 0, not {quantity!r}")
        merged[sku.strip()] = merged.get(sku.strip(), 0) + quantity
    return list(merged.items())


def _value(source: OrderItemSummary, k: int, currency: str) -> Decimal:
    """``k`` units at ``source``'s unit value (its line total over its units), rounded once, half-even."""
    exact = Fraction(source.line_total) * k / source.quantity_ordered
    return money.quantize(Decimal(exact.numerator) / Decimal(exact.denominator), currency)


def exchange_items(
    session: Session,
    summary: OrderSummary,
    return_lines: Sequence[tuple[str, int]],
    new_lines: Sequence[tuple[str, int]],
    *,
    reason: str = "",
    actor: str = "",
    run_id: str | None = None,
    strategy: str = "fewest_splits",
) -> Exchange:
    currency = summary.currency
    wanted = wanted_items(summary, return_lines)
    skus = _new_skus(new_lines)
    # Quotes first, read-only: what the returned units will credit by the pool rule.
    quotes = [(item, k, money.pool_amount(*item.return_pool(), k, currency)) for item, k in wanted]
    ro = open_return(session, summary, wanted, reason)
    draft = ChangeDraft(ChangeKind.EXCHANGE, reason=reason, actor=actor, run_id=run_id, return_order=ro)
    draft.lines = list(quotes)
    returned_value = sum((q for _, _, q in quotes), ZERO)
    by_sku = {item.sku: item for item in summary.items if item.origin == ItemOrigin.ORDER}
    next_line = max((item.line_number for item in summary.items), default=0) + 1
    new_items: list[OrderItemSummary] = []
    new_value = ZERO
    for sku, k in skus:
        source = by_sku.get(sku, wanted[0][0])
        value = _value(source, k, currency)
        item = OrderItemSummary(
            summary=summary,
            order_summary_id=summary.id,
            origin=ItemOrigin.EXCHANGE,
            line_number=next_line,
            sku=sku,
            name=source.name if source.sku == sku else sku,
            delivery_method=source.delivery_method,
            delivery_method_id=source.delivery_method_id,
            pickup_location=source.pickup_location,
            pickup_location_id=source.pickup_location_id,
            unit_price=source.unit_price,
            line_total=value,
            quantity_ordered=k,
        )
        session.add(item)
        next_line += 1
        new_items.append(item)
        draft.lines.append((item, k, value))
        new_value += value
    write_pending(session)
    routed = routing.route_order(
        session,
        summary,
        strategy=strategy,
        lines=[(i.id, i.quantity_ordered) for i in new_items],
        reship=False,
    )
    if routed.unallocated_quantity:
        raise QuantityError(f"no stock to send {routed.unallocated_quantity} of the exchanged units")
    summary.added_total += new_value
    draft.amount = returned_value
    draft.charge_due = max(new_value - returned_value, ZERO)
    change = write_change(session, summary, draft)
    for item in new_items:
        item.change = change
    write_pending(session)
    return Exchange(change, ro, new_items, routed.allocations, returned_value, new_value)
