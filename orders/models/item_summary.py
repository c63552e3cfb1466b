"""One line of an order summary: its price, its quantity buckets and the money pools the rules draw on."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders import money
from orders.buckets import BUCKET_COLUMNS, QuantityBuckets
from orders.columns import Money, StrEnumType, UTCDateTime, non_negative, one_of, utcnow
from orders.models.base import Record
from orders.models.enums import ItemOrigin

if TYPE_CHECKING:
    from orders.models.changes import OrderChange
    from orders.models.delivery import DeliveryMethod
    from orders.models.inventory import Location
    from orders.models.order import OrderItem
    from orders.models.summary import OrderSummary

ZERO = Decimal(0)


class Pool(NamedTuple):
    """What is left of a line for one kind of operation: ``amount`` for ``units``."""

    amount: Decimal
    units: int


class OrderItemSummary(QuantityBuckets, Record):
    __tablename__ = "order_item_summaries"
    __table_args__ = (
        UniqueConstraint("order_summary_id", "line_number"),
        one_of("origin", ItemOrigin),
        *non_negative(*BUCKET_COLUMNS, "quantity_invoiced", "quantity_credited"),
        *non_negative("invoiced_amount", "canceled_amount", "credited_amount"),
    )
    id_prefix = "ois"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    # Null for lines an exchange added after capture; those point at their change instead.
    order_item_id: Mapped[str | None] = mapped_column(ForeignKey("order_items.id"), unique=True)
    origin: Mapped[ItemOrigin] = mapped_column(StrEnumType(ItemOrigin), default=ItemOrigin.ORDER)
    change_id: Mapped[str | None] = mapped_column(ForeignKey("order_changes.id"))
    line_number: Mapped[int]
    sku: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    delivery_method_id: Mapped[str | None] = mapped_column(ForeignKey("delivery_methods.id"))
    pickup_location_id: Mapped[str | None] = mapped_column(ForeignKey("locations.id"))

    # Fixed at capture: the line total of DESIGN.md and its parts.
    unit_price: Mapped[Decimal] = mapped_column(Money)
    adjustments: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    adjustment_share: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    tax: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    line_total: Mapped[Decimal] = mapped_column(Money)

    # Money pools, so that the pool rule can take exact parts of what is left.
    quantity_invoiced: Mapped[int] = mapped_column(default=0)
    invoiced_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    canceled_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # Discounts on the part not yet billed lower later invoices; discounts on billed parts are credits.
    discount_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    quantity_credited: Mapped[int] = mapped_column(default=0)
    credited_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    summary: Mapped[OrderSummary] = relationship(back_populates="items")
    order_item: Mapped[OrderItem | None] = relationship()
    change: Mapped[OrderChange | None] = relationship()
    delivery_method: Mapped[DeliveryMethod | None] = relationship()
    pickup_location: Mapped[Location | None] = relationship()

    def bucket_label(self) -> str:
        return f"item {self.sku} ({self.id})"

    @property
    def currency(self) -> str:
        return self.summary.currency

    @property
    def remaining_total(self) -> Decimal:
        """What this line is still worth to the customer after cancels, discounts and credits."""
        return self.line_total - self.canceled_amount - self.discount_amount - self.credited_amount

    def billing_pool(self) -> Pool:
        """Units neither invoiced nor canceled and their worth; invoices and cancels draw here."""
        return Pool(
            self.line_total - self.discount_amount - self.invoiced_amount - self.canceled_amount,
            self.quantity_ordered - self.quantity_invoiced - self.quantity_canceled,
        )

    def return_pool(self) -> Pool:
        """Invoiced units not yet credited, and what is left of what was invoiced for them."""
        return Pool(
            self.invoiced_amount - self.credited_amount, self.quantity_invoiced - self.quantity_credited
        )

    def _take(self, pool: Pool, k: int) -> Decimal:
        return money.pool_amount(pool.amount, pool.units, k, self.currency)

    def cancel_units(self, k: int) -> Decimal:
        """Cancel ``k`` unallocated units; returns the amount canceled by the pool rule."""
        self._check("cancel", k, "available to cancel", self.quantity_available_to_cancel)
        amount = self._take(self.billing_pool(), k)
        self.cancel(k)
        self.canceled_amount += amount
        return amount

    def invoice_units(self, k: int) -> Decimal:
        """Bill ``k`` shipped, not yet billed units; returns the amount by the pool rule."""
        self._check(
            "invoice", k, "shipped and not invoiced", self.quantity_fulfilled - self.quantity_invoiced
        )
        amount = self._take(self.billing_pool(), k)
        self.quantity_invoiced += k
        self.invoiced_amount += amount
        return amount

    def credit_units(self, k: int) -> Decimal:
        """Credit ``k`` returned, invoiced units; returns the amount by the pool rule."""
        limit = min(self.quantity_returned, self.quantity_invoiced) - self.quantity_credited
        self._check("credit", k, "returned, invoiced and not credited", limit)
        amount = self._take(self.return_pool(), k)
        self.quantity_credited += k
        self.credited_amount += amount
        return amount
