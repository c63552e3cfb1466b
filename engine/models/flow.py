"""Flow definitions and their versions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, new_id
from engine.models._types import UTCDateTime, utcnow

DRAFT = "draft"
ACTIVE = "active"
INACTIVE = "inactive"


class FlowDefinition(Base):
    __tablename__ = "flow_definitions"

    # Readable ids taken from the flow header (``create_fulfillment_orders``), not generated.
    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="custom")
    starter: Mapped[bool] = mapped_column(Boolean, default=False)
    trigger_event: Mapped[str | None] = mapped_column(String(120), index=True)
    action_name: Mapped[str | None] = mapped_column(String(120), index=True)
    cloned_from: Mapped[str | None] = mapped_column(String(120))
    active_version: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FlowVersion(Base):
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "number", name="uq_flow_versions_flow_number"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("fv"))
    flow_id: Mapped[str] = mapped_column(ForeignKey("flow_definitions.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=DRAFT)
    source: Mapped[str] = mapped_column(Text)
    # Bumped on every edit: the ETag of the version and the optimistic-concurrency check.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": revision}

    @property
    def etag(self) -> str:
        return f'"{self.id}-{self.revision}"'
