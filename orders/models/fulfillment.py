"""Fulfillment orders: the units of one summary that leave one location by one delivery method."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import StrEnumType, UTCDateTime, non_negative, one_of, utcnow
from orders.errors import InvalidTransitionError
from orders.models.base import Record
from orders.models.enums import FulfillmentStatus as S

if TYPE_CHECKING:
    from orders.models.changes import OrderChange
    from orders.models.delivery import DeliveryMethod
    from orders.models.inventory import Location
    from orders.models.item_summary import OrderItemSummary
    from orders.models.summary import OrderSummary

# Warehouses skip steps they do not track (many ship straight from Allocated), so every open status
# leads to every later one; Fulfilled, Canceled and Rejected are final.
_OPEN = (S.DRAFT, S.ALLOCATED, S.ASSIGNED, S.PICKED, S.PACKED)
TRANSITIONS: dict[S, frozenset[S]] = {
    status: frozenset((*_OPEN[i + 1 :], S.FULFILLED, S.CANCELED, S.REJECTED))
    for i, status in enumerate(_OPEN)
}
TRANSITIONS.update({S.FULFILLED: frozenset(), S.CANCELED: frozenset(), S.REJECTED: frozenset()})


class FulfillmentOrder(Record):
    __tablename__ = "fulfillment_orders"
    __table_args__ = (
        one_of("status", S),
        Index(None, "location_id", "status"),
        # Fulfillment orders stuck in an open status (the console's dashboard and desk).
        Index("ix_fulfillment_orders_status_updated_at", "status", "updated_at"),
    )
    id_prefix = "fo"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    delivery_method_id: Mapped[str] = mapped_column(ForeignKey("delivery_methods.id"))
    status: Mapped[S] = mapped_column(StrEnumType(S), default=S.DRAFT)
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(200))
    # False for reshipments: what ships is not billed again.
    charge: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    change_id: Mapped[str | None] = mapped_column(ForeignKey("order_changes.id"))
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A shipment and a cancel can race for the same fulfillment order.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    summary: Mapped[OrderSummary] = relationship(back_populates="fulfillment_orders")
    location: Mapped[Location] = relationship()
    delivery_method: Mapped[DeliveryMethod] = relationship()
    change: Mapped[OrderChange | None] = relationship()
    lines: Mapped[list[FulfillmentOrderLine]] = relationship(
        back_populates="fulfillment_order",
        cascade="all, delete-orphan",
        order_by="FulfillmentOrderLine.created_at",
    )

    @property
    def is_open(self) -> bool:
        return self.status in _OPEN

    def move_to(self, status: S) -> None:
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransitionError(
                f"fulfillment order {self.id} cannot go from {self.status} to {status}"
            )
        self.status = status

    def mark_fulfilled(self, carrier: str, tracking_number: str, at: datetime | None = None) -> None:
        self.move_to(S.FULFILLED)
        self.carrier = carrier
        self.tracking_number = tracking_number
        self.fulfilled_at = at or utcnow()


class FulfillmentOrderLine(Record):
    __tablename__ = "fulfillment_order_lines"
    __table_args__ = tuple(non_negative("quantity", "quantity_canceled"))
    id_prefix = "fol"

    fulfillment_order_id: Mapped[str] = mapped_column(ForeignKey("fulfillment_orders.id"), index=True)
    order_item_summary_id: Mapped[str] = mapped_column(ForeignKey("order_item_summaries.id"), index=True)
    # Units still to ship on this line; canceled ones move to quantity_canceled.
    quantity: Mapped[int]
    quantity_canceled: Mapped[int] = mapped_column(default=0)

    fulfillment_order: Mapped[FulfillmentOrder] = relationship(back_populates="lines")
    item: Mapped[OrderItemSummary] = relationship()
