"""Due work: what a parked or runnable run waits for, claimed by workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base, new_id
from engine.models._types import JSONType, UTCDateTime, utcnow

READY = "ready"  # runnable now: a started run, or one resumed by an event, task or subflow
EVENT = "event"
TIMER = "timer"
TASK = "task"
RETRY = "retry"
CALL = "call"  # a parent waiting for its subflow runs


class RunWait(Base):
    __tablename__ = "run_waits"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("wait"))
    # One row per unfinished run: the row is the run's durable "what next", so a crash loses nothing.
    run_id: Mapped[str] = mapped_column(ForeignKey("flow_runs.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    node_id: Mapped[str | None] = mapped_column(String(120))
    event_name: Mapped[str | None] = mapped_column(String(120), index=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), index=True)
    task_id: Mapped[str | None] = mapped_column(String(64))
    # NULL while nothing can make it due but an outside signal (an event, a task, a subflow).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # What resumed it: ``{"via": "event"|"timeout"|"outcome"|..., ...}``. None is SQL NULL (not JSON
    # null), so a guarded ``UPDATE ... WHERE resume IS NULL`` can tell a wait nothing has woken yet.
    resume: Mapped[dict[str, Any] | None] = mapped_column(JSONType(none_as_null=True))
    pending_children: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
