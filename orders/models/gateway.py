"""What a payment gateway was asked, per idempotency key: the built-in test gateway's memory.

Written in a transaction of its own (as a real processor's records would be), so the calls it saw
survive a step that rolls back and a process that restarts.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orders.columns import Money, UTCDateTime, non_negative, utcnow
from orders.models.base import Record


class GatewayCall(Record):
    __tablename__ = "gateway_calls"
    __table_args__ = (
        UniqueConstraint("gateway", "idempotency_key", "operation"),
        *non_negative("calls"),
    )
    id_prefix = "gwc"

    gateway: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(250), index=True)
    operation: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(Money)
    # approved, declined or timeout: the outcome of the latest call; approved is final.
    outcome: Mapped[str] = mapped_column(String(16), default="pending")
    calls: Mapped[int] = mapped_column(default=0)
    reference: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
