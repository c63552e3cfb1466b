"""Change records: the immutable what, which lines, how much, who and why of every service action.

Summary totals are the original order plus these; the records are never edited, only added.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import Money, StrEnumType, one_of
from orders.models.base import ID_LENGTH, Immutable, Record
from orders.models.enums import ChangeKind

if TYPE_CHECKING:
    from orders.models.item_summary import OrderItemSummary
    from orders.models.returns import ReturnOrder
    from orders.models.summary import OrderSummary

ZERO = Decimal(0)


class OrderChange(Immutable, Record):
    __tablename__ = "order_changes"
    __table_args__ = (one_of("kind", ChangeKind),)
    id_prefix = "chg"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    kind: Mapped[ChangeKind] = mapped_column(StrEnumType(ChangeKind))
    # What the change took off the order (canceled or credited), shipping included, as a positive amount.
    amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    shipping_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    # What must go back to the customer now (captured beyond the new total) or be charged (exchanges).
    refund_due: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    charge_due: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    actor: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    return_order_id: Mapped[str | None] = mapped_column(ForeignKey("return_orders.id"))
    # The engine's run and step that made the change: plain ids, the engine owns those tables.
    run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    step_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))

    summary: Mapped[OrderSummary] = relationship(back_populates="changes")
    return_order: Mapped[ReturnOrder | None] = relationship()
    lines: Mapped[list[OrderChangeLine]] = relationship(back_populates="change", cascade="save-update, merge")


class OrderChangeLine(Immutable, Record):
    __tablename__ = "order_change_lines"
    id_prefix = "chgl"

    change_id: Mapped[str] = mapped_column(ForeignKey("order_changes.id"), index=True)
    order_item_summary_id: Mapped[str] = mapped_column(ForeignKey("order_item_summaries.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=0)
    amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)

    change: Mapped[OrderChange] = relationship(back_populates="lines")
    item: Mapped[OrderItemSummary] = relationship()

    def immutable_parent(self) -> object | None:
        return self.change
