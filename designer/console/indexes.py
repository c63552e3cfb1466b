"""Indexes the order console's queries need, declared on the domain's tables.

They live here, next to the queries they serve, until they move into the models; ``designer.records``
imports this module, so ``migrations.schema.load_all_models`` (and with it Alembic's autogenerate and
the test schema) sees them.

- order_summaries (created_at, id): the search's default order and keyset cursor, orders per day.
- fulfillment_orders (status, updated_at): fulfillment orders stuck in an open status (dashboard, desk).
- return_orders (status): returns awaiting receipt.
- process_exceptions (status, category): the queue's filters and the dashboard's counts per category.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Index, Table

from engine.models import ProcessException
from orders.models import FulfillmentOrder, OrderSummary, ReturnOrder


def _table(model: type[object]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


_summaries, _fos = _table(OrderSummary), _table(FulfillmentOrder)
_returns, _exceptions = _table(ReturnOrder), _table(ProcessException)

CONSOLE_INDEXES: tuple[Index, ...] = (
    Index("ix_order_summaries_created_at_id", _summaries.c.created_at, _summaries.c.id),
    Index("ix_fulfillment_orders_status_updated_at", _fos.c.status, _fos.c.updated_at),
    Index("ix_return_orders_status", _returns.c.status),
    Index("ix_process_exceptions_status_category", _exceptions.c.status, _exceptions.c.category),
)
