"""Return orders (RMAs): what the customer said they would send back, and what arrived."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import StrEnumType, UTCDateTime, non_negative, one_of, utcnow
from orders.errors import InvalidTransitionError, QuantityError
from orders.models.base import Record
from orders.models.enums import ReturnStatus as S

if TYPE_CHECKING:
    from orders.models.item_summary import OrderItemSummary
    from orders.models.summary import OrderSummary

# Received may repeat: goods can arrive in several parcels.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELED}),
    S.SUBMITTED: frozenset({S.RECEIVED, S.CLOSED, S.CANCELED}),
    S.RECEIVED: frozenset({S.RECEIVED, S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELED: frozenset(),
}


class ReturnOrder(Record):
    __tablename__ = "return_orders"
    # The status index serves "returns awaiting receipt" on the console's dashboard.
    __table_args__ = (one_of("status", S), Index("ix_return_orders_status", "status"))
    id_prefix = "ro"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    status: Mapped[S] = mapped_column(StrEnumType(S), default=S.DRAFT)
    reason: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # A receipt and the expiry timer can meet on the same RMA.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    summary: Mapped[OrderSummary] = relationship(back_populates="return_orders")
    lines: Mapped[list[ReturnOrderLine]] = relationship(
        back_populates="return_order", cascade="all, delete-orphan", order_by="ReturnOrderLine.created_at"
    )

    def move_to(self, status: S) -> None:
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransitionError(f"return order {self.id} cannot go from {self.status} to {status}")
        self.status = status
        if status == S.RECEIVED:
            self.received_at = utcnow()
        elif status in (S.CLOSED, S.CANCELED):
            self.closed_at = utcnow()


class ReturnOrderLine(Record):
    __tablename__ = "return_order_lines"
    __table_args__ = tuple(non_negative("quantity", "quantity_received"))
    id_prefix = "rol"

    return_order_id: Mapped[str] = mapped_column(ForeignKey("return_orders.id"), index=True)
    order_item_summary_id: Mapped[str] = mapped_column(ForeignKey("order_item_summaries.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    # Expected units.
    quantity: Mapped[int]
    quantity_received: Mapped[int] = mapped_column(default=0)
    condition: Mapped[str | None] = mapped_column(String(64))

    return_order: Mapped[ReturnOrder] = relationship(back_populates="lines")
    item: Mapped[OrderItemSummary] = relationship()

    @property
    def quantity_outstanding(self) -> int:
        return self.quantity - self.quantity_received

    def receive(self, k: int, condition: str | None = None) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0 or k > self.quantity_outstanding:
            raise QuantityError(
                f"return line {self.id}: cannot receive {k!r}: {self.quantity_outstanding} still expected"
            )
        self.quantity_received += k
        if condition is not None:
            self.condition = condition
