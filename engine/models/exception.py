"""Process exceptions: raised when a run cannot go on; people triage, retry or resolve them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, new_id
from engine.models._types import UTCDateTime, utcnow

NEW = "New"
TRIAGED = "Triaged"
RESOLVED = "Resolved"
VOIDED = "Voided"
ACTIVE_STATUSES = (NEW, TRIAGED)


class ProcessException(Base):
    __tablename__ = "process_exceptions"
    # The exceptions queue filters and the dashboard's counts per category.
    __table_args__ = (Index("ix_process_exceptions_status_category", "status", "category"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("pe"))
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10), default="High")
    status: Mapped[str] = mapped_column(String(10), default=NEW, index=True)
    message: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("flow_runs.id"), index=True)
    step_node: Mapped[str | None] = mapped_column(String(120))
    # The node to run again on retry (the failing action; for ``fail`` nodes, none).
    retry_node: Mapped[str | None] = mapped_column(String(120))
    assignee: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
