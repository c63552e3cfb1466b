"""Collections loaded by queries built once: a fraction of what the ORM's lazy loader costs for the
same rows.

The lazy loader builds and caches its statement on every load, and any ORM query builds its row
processors on every execution; a shipment reads the same two collections for every order, so it
names its queries itself and runs them as Core queries (``engine.db.plain_load``).
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import bindparam
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from engine.db.plain_load import RecordQuery
from orders.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    OrderItemSummary,
    OrderSummary,
)

T = TypeVar("T")

# Each in the order of its relationship's ``order_by``, with the primary key after it so ties come
# back the same every time.
_SUMMARY_ITEMS = RecordQuery(
    OrderItemSummary,
    OrderItemSummary.order_summary_id == bindparam("b_parent"),
    order_by=(OrderItemSummary.line_number, OrderItemSummary.id),
)
_FULFILLMENT_ORDER_LINES = RecordQuery(
    FulfillmentOrderLine,
    FulfillmentOrderLine.fulfillment_order_id == bindparam("b_parent"),
    order_by=(FulfillmentOrderLine.created_at, FulfillmentOrderLine.id),
)


def _collection(session: Session, parent: Any, name: str, query: RecordQuery[T]) -> list[T]:
    """``parent.<name>``: as it is when already loaded, else read with ``query`` and set as loaded."""
    if name in instance_dict(parent):
        loaded: list[T] = getattr(parent, name)
        return loaded
    children = query.all(session, {"b_parent": parent.id})
    set_committed_value(parent, name, children)
    return children


def summary_items(session: Session, summary: OrderSummary) -> list[OrderItemSummary]:
    return _collection(session, summary, "items", _SUMMARY_ITEMS)


def fulfillment_order_lines(session: Session, fo: FulfillmentOrder) -> list[FulfillmentOrderLine]:
    return _collection(session, fo, "lines", _FULFILLMENT_ORDER_LINES)
