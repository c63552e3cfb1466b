"""Records the HTTP layer keeps for itself: API keys and stored idempotent responses."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ApiKey(Base):
    """A caller's key. Only a hash of the secret is kept, so a leaked database leaks no keys."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    # The first characters of the key, shown in listings so people can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    secret_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IdempotencyRecord(Base):
    """The first response to a request with an ``Idempotency-Key``, replayed for repeats (Stripe's rule)."""

    __tablename__ = "idempotency_records"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Keys are scoped per caller, so two integrators cannot collide on the same key.
    api_key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    # Null while the first request is still running; a concurrent repeat waits for it or gets 409.
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_body: Mapped[object | None] = mapped_column(JSON, nullable=True)
    response_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the first request created, written in the same transaction as it: a repeat after that request
    # failed or died part-way answers with the resource instead of creating it again.
    resource_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Which request holds the claim: whatever a request does to the record later names it, so a request
    # that lost its claim to a take-over cannot touch the one that replaced it.
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
