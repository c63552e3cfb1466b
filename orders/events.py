"""Domain events: what a service function raises for the caller to publish.

``orders`` cannot reach the engine's triggers, so functions return these and the API layer (or the
flow action, through ``ctx.emit``) hands them on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ORDER_SUMMARY_CREATED = "order_summary.created"
FULFILLMENT_ORDER_SHIPPED = "fulfillment_order.shipped"
RETURN_ORDER_RECEIVED = "return_order.received"
NOTIFICATION_REQUESTED = "notification.requested"


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any]
    subject_id: str
