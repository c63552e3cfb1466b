"""A run's rows (``flow_runs``, ``flow_steps``; ``run_waits`` in ``engine.store_waits``), written and
read with plain SQL statements on the session's connection.

The driver writes a run's state, its new steps and its wait row at every commit point; through the
ORM's unit of work that bookkeeping cost more than the order actions themselves. These statements are
built once, skip the identity map and go out at once rather than at the next flush. The price: ORM
objects of these tables that a session already holds are not kept in step, so the driver expires the
ones it wrote (:func:`expire_cached`) and everyone else reads runs and waits fresh.

A run started by :func:`insert_run` is remembered in its session until the transaction commits or
rolls back the part that started it: nobody else can see it before the commit, so the driver takes
it from there without a read or a claim (:func:`take_fresh`). Its rows are written at its first save,
as the run stands then (a run that ends in the transaction that started it is inserted once, finished,
and its wait row never written), or just before the transaction commits if nothing saved it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.util import identity_key

from engine import codec
from engine.db import new_id
from engine.db.plain_sql import execute_write
from engine.models import FlowRun, FlowStep, OutboxEvent, RunWait
from engine.models._types import utcnow
from engine.models.run import RUNNING
from engine.models.wait import READY
from engine.state import RunState, StepRecord
from engine.transactions import UNWRITTEN_KEY

RUNS = cast(Table, FlowRun.__table__)
WAITS = cast(Table, RunWait.__table__)
STEPS = cast(Table, FlowStep.__table__)
OUTBOX = cast(Table, OutboxEvent.__table__)

FRESH_KEY = "ordo.fresh_runs"
# A simulation puts a callable here to hear of the rows these statements write (it sees ORM flushes
# on its own).
DESCRIBE_KEY = "ordo.describe_write"


class RunConflict(Exception):
    """Another driver moved the run on meanwhile (its revision is not the one this driver read)."""


@dataclass
class WaitRow:
    """A run's ``run_waits`` row as the driving transaction knows it."""

    id: str
    kind: str
    node_id: str | None
    due_at: datetime | None = None
    resume: Any = None
    pending_children: int = 0


@dataclass
class RunRow:
    """A run's rows as the driving transaction knows them: its state, its revision, its wait row."""

    state: RunState
    revision: int
    wait: WaitRow | None
    # Inserted by the transaction that drives it, which may also hold the change that started it: a
    # failed commit must then reach the caller instead of passing as a lost drive.
    shared: bool = False
    # A new run's rows as they would be inserted now; written at its first save, or before the
    # transaction commits (``_write_unwritten``), whichever comes first. None once they are written.
    unwritten_run: dict[str, Any] | None = None
    unwritten_wait: dict[str, Any] | None = None
    # The (nested) transaction the run was started in: a rollback of it takes the run back.
    started_in: Any = None


def describe(session: Session, change: str, table: Table, row_id: str, fields: dict[str, Any]) -> None:
    sink: Callable[[dict[str, Any]], None] | None = session.info.get(DESCRIBE_KEY)
    if sink is not None:
        described: dict[str, Any] = {"change": change, "table": table.name, "id": row_id}
        if change != "delete":
            described["fields"] = fields
        sink(described)


def conn_of(session: Session) -> Connection:
    return session.connection()


def bound(values: dict[str, Any]) -> dict[str, Any]:
    """Parameters for the statements below, whose bind names carry a ``b_`` (SQLAlchemy keeps the
    column names for the VALUES and SET clauses)."""
    return {f"b_{key}": value for key, value in values.items()}


# -- fresh runs -----------------------------------------------------------------------------------


def take_fresh(session: Session, run_id: str) -> RunRow | None:
    """The run if this transaction started it (and it is not driven yet): no read, no claim needed."""
    fresh: dict[str, RunRow] | None = session.info.get(FRESH_KEY)
    return fresh.pop(run_id, None) if fresh else None


def unwritten(session: Session) -> dict[str, RunRow]:
    found: dict[str, RunRow] = session.info.setdefault(UNWRITTEN_KEY, {})
    return found


def _write_unwritten(session: Session) -> None:
    """Before the transaction commits: the rows of the runs it started and nobody saved yet (a run
    started and left to the worker), as they were when it started."""
    if session.in_nested_transaction():
        return
    pending = session.info.get(UNWRITTEN_KEY)
    if not pending:
        return
    for row in list(pending.values()):
        _insert_rows(session, row)


def _forget_fresh(session: Session) -> None:
    # Committed: others may claim the runs now, so they are read and claimed like any other.
    if not session.in_nested_transaction():
        session.info.pop(FRESH_KEY, None)


def _forget_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """The runs started inside the rolled-back (nested) transaction are gone; those before it stay."""
    for key in (FRESH_KEY, UNWRITTEN_KEY):
        rows: dict[str, RunRow] | None = session.info.get(key)
        if not rows:
            continue
        for run_id, row in list(rows.items()):
            if _within(row.started_in, previous):
                del rows[run_id]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


event.listen(Session, "before_commit", _write_unwritten)
event.listen(Session, "after_commit", _forget_fresh)
event.listen(Session, "after_soft_rollback", _forget_rolled_back)


# -- runs -----------------------------------------------------------------------------------------

_INSERT_RUN = RUNS.insert()
_INSERT_WAIT = WAITS.insert()
_INSERT_STEPS = STEPS.insert()


def insert_run(
    session: Session,
    *,
    now: datetime,
    lease_s: float,
    version_id: str,
    version_number: int,
    flow_id: str,
    start_node: str | None,
    subject_id: str | None,
    variables: dict[str, Any],
    parent_run_id: str | None = None,
    parent_index: int | None = None,
    claimed_by: str | None = None,
) -> RunRow:
    """A run at its start node with a READY wait row, so it is durable before it takes one step."""
    state = RunState(
        id=new_id("run"),
        flow_id=flow_id,
        version_number=version_number,
        subject_id=subject_id,
        node=start_node,
        variables=variables,
        version_id=version_id,
        parent_run_id=parent_run_id,
        parent_index=parent_index,
    )
    run_values = {
        "id": state.id,
        "flow_id": flow_id,
        "version_id": version_id,
        "version_number": version_number,
        "subject_id": subject_id,
        "status": RUNNING,
        "variables": state.dump_variables(),
        "current_node": start_node,
        "parent_run_id": parent_run_id,
        "parent_index": parent_index,
        "step_count": 0,
        "error": None,
        # Wall-clock like every record's creation time; the run's own clock moves its steps and waits.
        "created_at": utcnow(),
        "updated_at": now,
        "revision": 1,
    }
    wait = WaitRow(new_id("wait"), READY, start_node, now)
    wait_values = {
        "id": wait.id,
        "run_id": state.id,
        "kind": READY,
        "node_id": start_node,
        "event_name": None,
        "subject_id": subject_id,
        "task_id": None,
        "due_at": now,
        "resume": None,
        "pending_children": 0,
        "claimed_by": claimed_by,
        "claimed_until": now + timedelta(seconds=lease_s) if claimed_by else None,
        "created_at": utcnow(),
    }
    # The rows go out at the run's first save (with what it did by then: a run that ends in this very
    # transaction is inserted once, as it ended) or just before the transaction commits.
    started_in = session.get_nested_transaction() or session.get_transaction() or session.begin()
    row = RunRow(
        state,
        1,
        wait,
        shared=True,
        unwritten_run=run_values,
        unwritten_wait=wait_values,
        started_in=started_in,
    )
    session.info.setdefault(FRESH_KEY, {})[state.id] = row
    unwritten(session)[state.id] = row
    return row


def _insert_rows(session: Session, row: RunRow) -> None:
    """A new run's rows as they were when it started (nothing saved it since)."""
    conn = conn_of(session)
    run_values, wait_values = row.unwritten_run, row.unwritten_wait
    if run_values is not None:
        execute_write(conn, _INSERT_RUN, run_values)
        describe(session, "insert", RUNS, row.state.id, run_values)
    if wait_values is not None:
        execute_write(conn, _INSERT_WAIT, wait_values)
        describe(session, "insert", WAITS, wait_values["id"], wait_values)
    row.unwritten_run = row.unwritten_wait = None
    unwritten(session).pop(row.state.id, None)


_LOAD_RUN = (
    select(
        RUNS.c.id,
        RUNS.c.flow_id,
        RUNS.c.version_id,
        RUNS.c.version_number,
        RUNS.c.subject_id,
        RUNS.c.status,
        RUNS.c.variables,
        RUNS.c.current_node,
        RUNS.c.parent_run_id,
        RUNS.c.parent_index,
        RUNS.c.step_count,
        RUNS.c.error,
        RUNS.c.revision,
        WAITS.c.id.label("wait_id"),
        WAITS.c.kind.label("wait_kind"),
        WAITS.c.node_id.label("wait_node"),
        WAITS.c.due_at.label("wait_due_at"),
        WAITS.c.resume.label("wait_resume"),
        WAITS.c.pending_children.label("wait_children"),
    )
    .select_from(RUNS.outerjoin(WAITS, WAITS.c.run_id == RUNS.c.id))
    .where(RUNS.c.id == bindparam("b_run_id"))
)


def load_run(session: Session, run_id: str) -> RunRow | None:
    """The run and its wait row as the database has them now (one query)."""
    found = conn_of(session).execute(_LOAD_RUN, {"b_run_id": run_id}).first()
    if found is None:
        return None
    state = RunState.from_row(found)
    wait = None
    if found.wait_id is not None:
        wait = WaitRow(
            found.wait_id,
            found.wait_kind,
            found.wait_node,
            found.wait_due_at,
            found.wait_resume,
            int(found.wait_children or 0),
        )
    return RunRow(state, int(found.revision or 1), wait)


_CLAIM = (
    WAITS.update()
    .where(
        WAITS.c.run_id == bindparam("b_run_id"),
        or_(
            WAITS.c.claimed_by.is_(None),
            WAITS.c.claimed_by == bindparam("b_worker"),
            WAITS.c.claimed_until < bindparam("b_now"),
        ),
    )
    .values(claimed_by=bindparam("b_worker"), claimed_until=bindparam("b_until"))
)
_RELEASE = (
    WAITS.update()
    .where(WAITS.c.run_id == bindparam("b_run_id"), WAITS.c.claimed_by == bindparam("b_worker"))
    .values(claimed_by=None, claimed_until=None)
)


def claim(session: Session, run_id: str, worker_id: str, now: datetime, lease_s: float) -> bool:
    """Take the run's wait row for ``worker_id`` unless another live claim holds it."""
    until = now + timedelta(seconds=lease_s)
    result = conn_of(session).execute(
        _CLAIM, bound({"run_id": run_id, "worker": worker_id, "now": now, "until": until})
    )
    return result.rowcount == 1


def release(session: Session, run_id: str, worker_id: str) -> None:
    execute_write(conn_of(session), _RELEASE, bound({"run_id": run_id, "worker": worker_id}))


_UPDATE_RUN = (
    RUNS.update()
    .where(RUNS.c.id == bindparam("b_run_id"), RUNS.c.revision == bindparam("b_old_revision"))
    .values(
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        variables=bindparam("b_variables"),
        current_node=bindparam("b_current_node"),
        step_count=bindparam("b_step_count"),
        updated_at=bindparam("b_updated_at"),
        revision=bindparam("b_new_revision"),
    )
)


def write_run(session: Session, row: RunRow, *, status: str, error: str | None, now: datetime) -> None:
    """The run's state, guarded by its revision: a run moved on by another driver raises RunConflict."""
    state = row.state
    changed = {
        "status": status,
        "error": error,
        "variables": state.dump_variables(),
        "current_node": state.node,
        "step_count": state.step_count,
        "updated_at": now,
    }
    if row.unwritten_run is not None:
        # Its first save: the row goes in as the run stands now.
        inserted = {**row.unwritten_run, **changed}
        execute_write(conn_of(session), _INSERT_RUN, inserted)
        describe(session, "insert", RUNS, state.id, inserted)
        row.unwritten_run = None
        if row.unwritten_wait is None:
            unwritten(session).pop(state.id, None)
        state.status = status
        return
    values = {"run_id": state.id, "old_revision": row.revision, "new_revision": row.revision + 1, **changed}
    if execute_write(conn_of(session), _UPDATE_RUN, bound(values)).rowcount != 1:
        raise RunConflict(state.id)
    row.revision += 1
    state.status = status
    describe(session, "update", RUNS, state.id, {k: v for k, v in values.items() if k != "run_id"})


def write_steps(session: Session, run_id: str, steps: list[StepRecord]) -> None:
    if not steps:
        return
    rows = [
        {
            "id": new_id("step"),
            "run_id": run_id,
            "seq": record.seq,
            "node_id": record.node_id,
            "kind": str(record.kind),
            "attempt": record.attempt,
            "status": record.status,
            "inputs": codec.encode(record.inputs) if record.inputs is not None else None,
            "outputs": codec.encode(record.outputs),
            "error": record.error,
            "error_code": record.error_code,
            "started_at": record.started_at,
            "finished_at": record.finished_at,
        }
        for record in steps
    ]
    execute_write(conn_of(session), _INSERT_STEPS, rows)
    for values in rows:
        describe(session, "insert", STEPS, values["id"], values)


# -- keeping ORM objects honest -------------------------------------------------------------------


def expire_cached(session: Session, run_id: str, wait_id: str | None) -> None:
    """Expire the ORM copies of rows written here that the session holds, so they are read again."""
    for key in (identity_key(FlowRun, run_id), identity_key(RunWait, wait_id) if wait_id else None):
        if key is None:
            continue
        obj = session.identity_map.get(key)
        if obj is not None:
            session.expire(obj)
