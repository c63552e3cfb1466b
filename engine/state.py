"""Runtime state of one run, independent of where it is kept (memory or database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine import codec
from engine.clock import as_utc


@dataclass
class RunState:
    id: str
    flow_id: str
    version_number: int
    subject_id: str | None
    node: str | None
    variables: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    step_count: int = 0
    # Visits per node: part of the idempotency key, so a loop that comes back to a node makes a new
    # key while a retry of the same visit keeps it.
    visits: dict[str, int] = field(default_factory=dict)
    attempt: int = 1
    # When the first attempt of the step now being tried began: every retry of the step (a manager's
    # too) decides as of that time, so it makes the same gateway calls with the same keys.
    first_attempt_at: datetime | None = None
    version_id: str | None = None
    parent_run_id: str | None = None
    parent_index: int | None = None
    error: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> RunState:
        """The state of a stored run: ``row`` is a ``FlowRun`` or a result row with its columns."""
        state = cls(
            id=row.id,
            flow_id=row.flow_id,
            version_number=row.version_number,
            subject_id=row.subject_id,
            node=row.current_node,
            status=row.status,
            step_count=row.step_count,
            version_id=row.version_id,
            parent_run_id=row.parent_run_id,
            parent_index=row.parent_index,
            error=row.error,
        )
        state.load_variables(row.variables)
        return state

    def dump_variables(self) -> dict[str, Any]:
        stored = {"vars": codec.encode(self.variables), "visits": dict(self.visits), "attempt": self.attempt}
        if self.first_attempt_at is not None:
            stored["first_attempt_at"] = self.first_attempt_at.isoformat()
        return stored

    def load_variables(self, stored: dict[str, Any] | None) -> None:
        stored = stored or {}
        self.variables = stored_variables(stored)
        self.visits = {str(k): int(v) for k, v in (stored.get("visits") or {}).items()}
        self.attempt = int(stored.get("attempt") or 1)
        first = stored.get("first_attempt_at")
        self.first_attempt_at = as_utc(datetime.fromisoformat(first)) if first else None


def stored_variables(stored: dict[str, Any] | None) -> dict[str, Any]:
    """A run's variables from its stored ``variables`` column (as ``dump_variables`` wrote it)."""
    decoded: dict[str, Any] = codec.decode((stored or {}).get("vars") or {})
    return decoded


@dataclass
class StepRecord:
    node_id: str
    kind: str
    attempt: int
    status: str  # completed | failed | waiting | retrying
    started_at: datetime
    finished_at: datetime | None = None
    inputs: dict[str, Any] | None = None
    outputs: Any = None
    error: str | None = None
    error_code: str | None = None
    seq: int = 0


@dataclass
class WaitSpec:
    """How a run parks: the engine keeps this and nothing else while the run waits."""

    kind: str  # event | timer | task | retry | call
    node_id: str
    due_at: datetime | None = None
    event_name: str | None = None
    task: dict[str, Any] | None = None
    children: list[ChildStart] = field(default_factory=list)


@dataclass
class ChildStart:
    flow_id: str
    inputs: dict[str, Any]
    index: int


@dataclass
class Failure:
    message: str
    category: str
    node_id: str | None
    # The node a person may run again after fixing the cause (None for an explicit ``fail``).
    retry_node: str | None = None


@dataclass
class Outcome:
    """What executing one node decided."""

    step: StepRecord | None
    next_node: str | None = None
    wait: WaitSpec | None = None
    finished: str | None = None  # completed | failed
    failure: Failure | None = None
    # Set when an action refused with NotAllowed: a service action that has committed nothing yet
    # turns this into "409, nothing changed".
    refused: str | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
