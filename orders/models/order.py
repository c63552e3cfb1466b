"""The order exactly as captured: immutable history that summaries start from and never write back to."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import Money, StrEnumType, one_of
from orders.models.base import CustomerColumns, Immutable, Record
from orders.models.enums import Lifecycle


class Order(Immutable, CustomerColumns, Record):
    __tablename__ = "orders"
    __table_args__ = (one_of("lifecycle", Lifecycle),)
    id_prefix = "ord"

    order_number: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    lifecycle: Mapped[Lifecycle] = mapped_column(StrEnumType(Lifecycle), default=Lifecycle.MANAGED)
    delivery_method: Mapped[str | None] = mapped_column(String(64))
    adjustments: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    shipping_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    shipping_tax: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    payment_gateway: Mapped[str | None] = mapped_column(String(64))
    payment_token: Mapped[str | None] = mapped_column(String(200))

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", order_by="OrderItem.line_number", cascade="save-update, merge"
    )


class OrderItem(Immutable, Record):
    __tablename__ = "order_items"
    __table_args__ = (UniqueConstraint("order_id", "line_number", name="line"),)
    id_prefix = "oi"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    line_number: Mapped[int]
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Money)
    adjustments: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # Codes as the client sent them; the summary line links the resolved records.
    delivery_method: Mapped[str | None] = mapped_column(String(64))
    pickup_location: Mapped[str | None] = mapped_column(String(64))

    order: Mapped[Order] = relationship(back_populates="items")

    def immutable_parent(self) -> object | None:
        return self.order
