"""A run's wait row (``run_waits``) through plain statements: what the run waits for, the signal that
wakes it, and the subflows a parent waits on. The companion of ``engine.store``, which keeps the run's
own row and knows which runs are new in the transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.db import new_id
from engine.db.plain_sql import execute_write
from engine.models._types import utcnow
from engine.store import RUNS, WAITS, RunRow, WaitRow, bound, conn_of, describe, unwritten

_INSERT_WAIT = WAITS.insert()

_UPDATE_WAIT = (
    WAITS.update()
    .where(WAITS.c.id == bindparam("b_wait_id"))
    .values(
        kind=bindparam("b_kind"),
        node_id=bindparam("b_node_id"),
        event_name=bindparam("b_event_name"),
        task_id=bindparam("b_task_id"),
        due_at=bindparam("b_due_at"),
        # Written even when it looks unchanged: an event may have set it since this driver read the
        # row, and the new wait must not inherit the old wait's signal.
        resume=None,
        pending_children=bindparam("b_pending_children"),
        claimed_by=bindparam("b_claimed_by"),
        claimed_until=bindparam("b_claimed_until"),
    )
)
_DELETE_WAIT = WAITS.delete().where(WAITS.c.id == bindparam("b_wait_id"))


def write_wait(
    session: Session,
    row: RunRow,
    *,
    kind: str,
    node_id: str | None,
    due_at: datetime | None,
    event_name: str | None = None,
    task_id: str | None = None,
    pending_children: int = 0,
    claimed_by: str | None = None,
    claimed_until: datetime | None = None,
) -> None:
    """The run's one wait row says what it waits for now (made when it has none)."""
    values = {
        "kind": kind,
        "node_id": node_id,
        "event_name": event_name,
        "task_id": task_id,
        "due_at": due_at,
        "pending_children": pending_children,
        "claimed_by": claimed_by,
        "claimed_until": claimed_until,
    }
    conn = conn_of(session)
    if row.unwritten_wait is not None:
        # A new run's first wait row, written only now that it says what the run waits for.
        base = row.unwritten_wait
        inserted = {**base, **values}
        execute_write(conn, _INSERT_WAIT, inserted)
        describe(session, "insert", WAITS, base["id"], inserted)
        row.unwritten_wait = None
        unwritten(session).pop(row.state.id, None)
        row.wait = WaitRow(base["id"], kind, node_id, due_at, None, pending_children)
        return
    if row.wait is None:
        wait_id = new_id("wait")
        inserted = {
            **values,
            "id": wait_id,
            "run_id": row.state.id,
            "subject_id": row.state.subject_id,
            "resume": None,
            "created_at": utcnow(),
        }
        execute_write(conn, _INSERT_WAIT, inserted)
        describe(session, "insert", WAITS, wait_id, inserted)
    else:
        wait_id = row.wait.id
        execute_write(conn, _UPDATE_WAIT, bound({**values, "wait_id": wait_id}))
        describe(session, "update", WAITS, wait_id, values)
    row.wait = WaitRow(wait_id, kind, node_id, due_at, None, pending_children)


_SIGNAL_WAIT = (
    WAITS.update()
    .where(WAITS.c.id == bindparam("b_wait_id"))
    .values(resume=bindparam("b_resume"), due_at=bindparam("b_due_at"))
)
_COUNT_DOWN = (
    WAITS.update()
    .where(WAITS.c.id == bindparam("b_wait_id"), WAITS.c.pending_children > 0)
    .values(pending_children=WAITS.c.pending_children - 1)
)
_PENDING = select(WAITS.c.pending_children).where(WAITS.c.id == bindparam("b_wait_id"))


def signal_wait(session: Session, wait_id: str, resume: dict[str, Any], now: datetime) -> None:
    """Make the wait due now with what woke it (a subflow's end)."""
    values = {"wait_id": wait_id, "resume": resume, "due_at": now}
    execute_write(conn_of(session), _SIGNAL_WAIT, bound(values))
    describe(session, "update", WAITS, wait_id, {"resume": resume, "due_at": now})


def count_down_children(session: Session, wait_id: str) -> int:
    """One subflow fewer to wait for; how many are left. (The UPDATE's row lock orders two children
    that end at once.)"""
    conn = conn_of(session)
    execute_write(conn, _COUNT_DOWN, {"b_wait_id": wait_id})
    return int(conn.execute(_PENDING, {"b_wait_id": wait_id}).scalar_one_or_none() or 0)


_CHILDREN = (
    select(RUNS.c.id, RUNS.c.variables)
    .where(RUNS.c.parent_run_id == bindparam("b_parent_id"))
    .order_by(RUNS.c.parent_index)
)


def child_variables(session: Session, parent_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Each subflow run of ``parent_id`` with its stored variables, in the order they were called."""
    found = conn_of(session).execute(_CHILDREN, {"b_parent_id": parent_id})
    return [(child.id, child.variables) for child in found]


def delete_wait(session: Session, row: RunRow) -> None:
    if row.unwritten_wait is not None:
        # Ended before its wait row was ever needed.
        row.unwritten_wait = None
        unwritten(session).pop(row.state.id, None)
        row.wait = None
        return
    if row.wait is None:
        return
    execute_write(conn_of(session), _DELETE_WAIT, {"b_wait_id": row.wait.id})
    describe(session, "delete", WAITS, row.wait.id, {})
    row.wait = None
