"""Invoices (what shipped is billed) and credit memos (what is given back)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import Money, StrEnumType, non_negative, one_of
from orders.models.base import Record
from orders.models.enums import DocumentLineKind

if TYPE_CHECKING:
    from orders.models.changes import OrderChange
    from orders.models.fulfillment import FulfillmentOrder
    from orders.models.item_summary import OrderItemSummary
    from orders.models.returns import ReturnOrder
    from orders.models.summary import OrderSummary

ZERO = Decimal(0)


class Invoice(Record):
    __tablename__ = "invoices"
    id_prefix = "invc"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    # Unique: one invoice per shipment, so a retried create_invoice finds the first instead of billing twice.
    fulfillment_order_id: Mapped[str | None] = mapped_column(ForeignKey("fulfillment_orders.id"), unique=True)
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    shipping_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    summary: Mapped[OrderSummary] = relationship(back_populates="invoices")
    fulfillment_order: Mapped[FulfillmentOrder | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.created_at"
    )


class InvoiceLine(Record):
    __tablename__ = "invoice_lines"
    __table_args__ = (one_of("kind", DocumentLineKind), *non_negative("quantity"))
    id_prefix = "invl"

    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"), index=True)
    # Null for the shipping line.
    order_item_summary_id: Mapped[str | None] = mapped_column(
        ForeignKey("order_item_summaries.id"), index=True
    )
    kind: Mapped[DocumentLineKind] = mapped_column(
        StrEnumType(DocumentLineKind), default=DocumentLineKind.ITEM
    )
    quantity: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(Money)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    item: Mapped[OrderItemSummary | None] = relationship()


class CreditMemo(Record):
    __tablename__ = "credit_memos"
    __table_args__ = tuple(non_negative("total", "refunded_amount"))
    id_prefix = "cm"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    change_id: Mapped[str | None] = mapped_column(ForeignKey("order_changes.id"), index=True)
    return_order_id: Mapped[str | None] = mapped_column(ForeignKey("return_orders.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    total: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    includes_shipping: Mapped[bool] = mapped_column(default=False)
    shipping_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # How much of the total has gone back through refunds; ensure_refunds tops it up to the total.
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    summary: Mapped[OrderSummary] = relationship(back_populates="credit_memos")
    change: Mapped[OrderChange | None] = relationship()
    return_order: Mapped[ReturnOrder | None] = relationship()
    lines: Mapped[list[CreditMemoLine]] = relationship(
        back_populates="credit_memo", cascade="all, delete-orphan", order_by="CreditMemoLine.created_at"
    )

    @property
    def refund_outstanding(self) -> Decimal:
        return self.total - self.refunded_amount


class CreditMemoLine(Record):
    __tablename__ = "credit_memo_lines"
    __table_args__ = (one_of("kind", DocumentLineKind), *non_negative("quantity"))
    id_prefix = "cml"

    credit_memo_id: Mapped[str] = mapped_column(ForeignKey("credit_memos.id"), index=True)
    order_item_summary_id: Mapped[str | None] = mapped_column(
        ForeignKey("order_item_summaries.id"), index=True
    )
    kind: Mapped[DocumentLineKind] = mapped_column(
        StrEnumType(DocumentLineKind), default=DocumentLineKind.ITEM
    )
    quantity: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(Money)

    credit_memo: Mapped[CreditMemo] = relationship(back_populates="lines")
    item: Mapped[OrderItemSummary | None] = relationship()
