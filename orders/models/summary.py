"""The living record of an order: current status and totals. Flows, agents and the API read this."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import Money, StrEnumType, UTCDateTime, non_negative, one_of, utcnow
from orders.models.base import CustomerColumns, Record
from orders.models.enums import Lifecycle, OrderStatus

if TYPE_CHECKING:
    from orders.models.billing import CreditMemo, Invoice
    from orders.models.changes import OrderChange
    from orders.models.fulfillment import FulfillmentOrder
    from orders.models.item_summary import OrderItemSummary
    from orders.models.order import Order
    from orders.models.payments import Payment, PaymentAuthorization, Refund
    from orders.models.returns import ReturnOrder

ZERO = Decimal(0)

# Stored totals: each is a running sum of what changes and payments did, so it is updated in the same
# transaction as the record that moved it and never recomputed from scratch on a read.
TOTAL_COLUMNS = (
    "ordered_total",
    "added_total",
    "canceled_total",
    "credited_total",
    "authorized_total",
    "invoiced_total",
    "captured_total",
    "refunded_total",
    "shipping_total",
)


class OrderSummary(CustomerColumns, Record):
    __tablename__ = "order_summaries"
    __table_args__ = (
        one_of("lifecycle", Lifecycle),
        *non_negative(
            "ordered_total", "canceled_total", "credited_total", "invoiced_total", "refunded_total"
        ),
        *non_negative("captured_total", "authorized_total"),
        Index(None, "status", "created_at"),
        # The console's default order and keyset cursor (newest first), and its orders per day.
        Index("ix_order_summaries_created_at_id", "created_at", "id"),
    )
    id_prefix = "os"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    order_number: Mapped[str] = mapped_column(String(64), unique=True)
    # No CHECK on status: flows set it, and the set of statuses may grow without a migration.
    status: Mapped[str] = mapped_column(String(32), default=OrderStatus.CREATED.value)
    lifecycle: Mapped[Lifecycle] = mapped_column(StrEnumType(Lifecycle), default=Lifecycle.MANAGED)
    channel: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    delivery_method_id: Mapped[str | None] = mapped_column(ForeignKey("delivery_methods.id"))

    # Fixed at capture.
    order_adjustments: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    shipping_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    shipping_tax: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # Shipping moves once each way: billed with the first shipment, canceled with the last unshipped
    # unit, refunded at most once.
    shipping_invoiced: Mapped[bool] = mapped_column(default=False)
    shipping_canceled: Mapped[bool] = mapped_column(default=False)
    shipping_refunded: Mapped[bool] = mapped_column(default=False)

    ordered_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    added_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    canceled_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    credited_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    authorized_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    invoiced_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    captured_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    refunded_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    shipping_total: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Concurrent writers (a shipment, an agent's cancel, a refund) meet on this row: a stale write fails
    # with StaleDataError instead of silently overwriting another's totals.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    order: Mapped[Order] = relationship()
    items: Mapped[list[OrderItemSummary]] = relationship(
        back_populates="summary", order_by="OrderItemSummary.line_number", cascade="all, delete-orphan"
    )
    changes: Mapped[list[OrderChange]] = relationship(
        back_populates="summary", order_by="OrderChange.created_at"
    )
    fulfillment_orders: Mapped[list[FulfillmentOrder]] = relationship(
        back_populates="summary", order_by="FulfillmentOrder.created_at"
    )
    authorizations: Mapped[list[PaymentAuthorization]] = relationship(
        back_populates="summary", order_by="PaymentAuthorization.created_at"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="summary", order_by="Payment.created_at")
    refunds: Mapped[list[Refund]] = relationship(back_populates="summary", order_by="Refund.created_at")
    invoices: Mapped[list[Invoice]] = relationship(back_populates="summary", order_by="Invoice.created_at")
    credit_memos: Mapped[list[CreditMemo]] = relationship(
        back_populates="summary", order_by="CreditMemo.created_at"
    )
    return_orders: Mapped[list[ReturnOrder]] = relationship(
        back_populates="summary", order_by="ReturnOrder.created_at"
    )

    @property
    def is_managed(self) -> bool:
        return self.lifecycle == Lifecycle.MANAGED

    @property
    def grand_total(self) -> Decimal:
        """DESIGN.md's ordered - canceled - credited, plus what exchanges added (zero without exchanges)."""
        return self.ordered_total + self.added_total - self.canceled_total - self.credited_total

    @property
    def balance_due(self) -> Decimal:
        return self.grand_total - (self.captured_total - self.refunded_total)

    @property
    def shipping_charge(self) -> Decimal:
        return self.shipping_amount + self.shipping_tax

    def totals(self) -> dict[str, Decimal]:
        """The ``totals`` object of CONTRACT.md's order summary, unrounded (format with orders.money)."""
        return {
            "ordered": self.ordered_total,
            "canceled": self.canceled_total,
            "credited": self.credited_total,
            "grand_total": self.grand_total,
            "authorized": self.authorized_total,
            "invoiced": self.invoiced_total,
            "captured": self.captured_total,
            "refunded": self.refunded_total,
            "balance_due": self.balance_due,
            "shipping": self.shipping_total,
        }

    def money_violations(self) -> list[str]:
        """DESIGN.md's invariants on totals, in words; empty when they hold."""
        problems = [f"{name} is negative" for name in TOTAL_COLUMNS if getattr(self, name) < 0]
        if self.refunded_total > self.captured_total:
            problems.append(f"refunded {self.refunded_total} exceeds captured {self.captured_total}")
        if self.captured_total > self.invoiced_total:
            problems.append(f"captured {self.captured_total} exceeds invoiced {self.invoiced_total}")
        return problems
