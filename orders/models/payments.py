"""Money through a gateway: authorizations held, captures taken from them, refunds of captures."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import Money, StrEnumType, UTCDateTime, non_negative, one_of, utcnow
from orders.errors import MoneyError
from orders.models.base import Record
from orders.models.enums import AuthorizationStatus, PaymentStatus, RefundStatus

if TYPE_CHECKING:
    from orders.models.billing import CreditMemo, Invoice
    from orders.models.summary import OrderSummary

ZERO = Decimal(0)


class GatewayColumns:
    """Every gateway call carries an idempotency key; the unique key lets a retried step find its record."""

    gateway: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    gateway_reference: Mapped[str | None] = mapped_column(String(200))


class PaymentAuthorization(GatewayColumns, Record):
    __tablename__ = "payment_authorizations"
    __table_args__ = (one_of("status", AuthorizationStatus), *non_negative("amount", "remaining"))
    id_prefix = "pa"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    token: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Money)
    remaining: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[AuthorizationStatus] = mapped_column(
        StrEnumType(AuthorizationStatus), default=AuthorizationStatus.PENDING
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Two captures drawing on one authorization meet here.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    summary: Mapped[OrderSummary] = relationship(back_populates="authorizations")

    @property
    def counted_as_authorized(self) -> bool:
        """Whether what it holds is in the summary's authorized total (a lapsed one's is not)."""
        return self.status == AuthorizationStatus.AUTHORIZED

    def draw(self, amount: Decimal) -> None:
        """Take ``amount`` of a capture from what this authorization still holds."""
        if self.status not in (AuthorizationStatus.AUTHORIZED, AuthorizationStatus.EXPIRED):
            raise MoneyError(f"authorization {self.id} is {self.status}: nothing can be captured from it")
        if amount <= 0 or amount > self.remaining:
            raise MoneyError(f"authorization {self.id}: cannot capture {amount}: {self.remaining} remains")
        self.remaining -= amount
        if self.remaining == 0:
            self.status = AuthorizationStatus.CLOSED

    def usable_at(self, when: datetime) -> bool:
        """Whether captures can draw on this authorization as of ``when``: it holds something and had not
        lapsed by then. One marked lapsed since still counts for a step deciding as of an earlier time
        (a retry of an attempt made before it lapsed must repeat that attempt's capture)."""
        if self.remaining <= 0 or self.has_lapsed_by(when):
            return False
        if self.expires_at is None:
            return self.status == AuthorizationStatus.AUTHORIZED
        return self.status in (AuthorizationStatus.AUTHORIZED, AuthorizationStatus.EXPIRED)

    def has_lapsed_by(self, when: datetime) -> bool:
        """Whether its expiry had come at ``when`` (whatever its status says)."""
        return self.expires_at is not None and self.expires_at <= when

    def lapse(self) -> Decimal:
        """Mark an authorization past its expiry as lapsed: what it held, which ``remaining`` goes on
        showing (only a step deciding as of a time before the expiry may still draw on it)."""
        if self.status != AuthorizationStatus.AUTHORIZED:
            raise MoneyError(f"authorization {self.id} is {self.status}: it cannot lapse")
        self.status = AuthorizationStatus.EXPIRED
        return self.remaining

    def void(self) -> Decimal:
        """Give back what this authorization still holds (voided at the gateway): what was released."""
        if self.status not in (AuthorizationStatus.AUTHORIZED, AuthorizationStatus.EXPIRED):
            raise MoneyError(f"authorization {self.id} is {self.status}: there is nothing to void")
        released, self.remaining = self.remaining, ZERO
        self.status = AuthorizationStatus.VOIDED
        return released


class Payment(GatewayColumns, Record):
    __tablename__ = "payments"
    __table_args__ = (one_of("status", PaymentStatus), *non_negative("amount", "refunded_amount"))
    id_prefix = "pay"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    authorization_id: Mapped[str | None] = mapped_column(ForeignKey("payment_authorizations.id"), index=True)
    invoice_id: Mapped[str | None] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=ZERO)
    status: Mapped[PaymentStatus] = mapped_column(StrEnumType(PaymentStatus), default=PaymentStatus.CAPTURED)
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    summary: Mapped[OrderSummary] = relationship(back_populates="payments")
    authorization: Mapped[PaymentAuthorization | None] = relationship()
    invoice: Mapped[Invoice | None] = relationship()

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.refunded_amount if self.status == PaymentStatus.CAPTURED else ZERO

    def take_refund(self, amount: Decimal) -> None:
        if amount <= 0 or amount > self.refundable:
            raise MoneyError(f"payment {self.id}: cannot refund {amount}: {self.refundable} is refundable")
        self.refunded_amount += amount


class Refund(GatewayColumns, Record):
    __tablename__ = "refunds"
    __table_args__ = (one_of("status", RefundStatus), *non_negative("amount"))
    id_prefix = "rf"

    order_summary_id: Mapped[str] = mapped_column(ForeignKey("order_summaries.id"), index=True)
    payment_id: Mapped[str] = mapped_column(ForeignKey("payments.id"), index=True)
    credit_memo_id: Mapped[str | None] = mapped_column(ForeignKey("credit_memos.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[RefundStatus] = mapped_column(StrEnumType(RefundStatus), default=RefundStatus.PENDING)

    summary: Mapped[OrderSummary] = relationship(back_populates="refunds")
    payment: Mapped[Payment] = relationship()
    credit_memo: Mapped[CreditMemo | None] = relationship()
