"""Runs of a flow version and the steps they took."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, new_id
from engine.models._types import JSONType, UTCDateTime, utcnow

RUNNING = "running"
WAITING = "waiting"
COMPLETED = "completed"
FAILED = "failed"
CANCELED = "canceled"
FINISHED = (COMPLETED, FAILED, CANCELED)


class FlowRun(Base):
    __tablename__ = "flow_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("run"))
    flow_id: Mapped[str] = mapped_column(ForeignKey("flow_definitions.id"), index=True)
    # Pinned: a run finishes on the version it started on, whatever is activated meanwhile.
    version_id: Mapped[str] = mapped_column(ForeignKey("flow_versions.id"))
    version_number: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default=RUNNING, index=True)
    variables: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    current_node: Mapped[str | None] = mapped_column(String(120))
    parent_run_id: Mapped[str | None] = mapped_column(ForeignKey("flow_runs.id"), index=True)
    parent_index: Mapped[int | None] = mapped_column(Integer)
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Two workers that somehow hold the same run: the second commit fails instead of doubling a step.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": revision}


class FlowStep(Base):
    __tablename__ = "flow_steps"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("step"))
    run_id: Mapped[str] = mapped_column(ForeignKey("flow_runs.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    node_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(12))
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    outputs: Mapped[Any] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
