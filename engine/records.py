"""Loading and saving a run's rows; shared by the driver, triggers and the worker."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dsl.flowgraph import FlowGraph
from engine import store, store_waits
from engine.db import new_id
from engine.models import FlowDefinition, FlowRun, FlowVersion, ProcessException, RunWait, Task
from engine.models.flow import ACTIVE
from engine.models.run import RUNNING, WAITING
from engine.models.wait import READY
from engine.registry import RunFailure
from engine.runtime import Runtime
from engine.state import Failure, RunState, StepRecord, WaitSpec
from engine.store import RunRow

log = logging.getLogger(__name__)


class FlowNotFound(LookupError):
    pass


def graph_for(session: Session, runtime: Runtime, version_id: str, flow_id: str) -> FlowGraph:
    # A version's source never changes once runs are pinned to it, so a compiled one needs no read.
    graphs = runtime.cached_graphs(version_id)
    if graphs is None:
        version = session.get(FlowVersion, version_id)
        if version is None:
            raise FlowNotFound(version_id)
        graphs = runtime.graphs(version.id, version.source)
    return graphs[flow_id]


def active_version(session: Session, flow_id: str) -> FlowVersion | None:
    return session.scalars(
        select(FlowVersion).where(FlowVersion.flow_id == flow_id, FlowVersion.status == ACTIVE)
    ).first()


def subflow_graph(
    session: Session, runtime: Runtime, version_id: str, flow_id: str
) -> tuple[FlowVersion, FlowGraph]:
    """A ``call``ed flow: from the caller's own source when it defines it, else the active version."""
    version = session.get(FlowVersion, version_id)
    if version is not None:
        graphs = runtime.graphs(version.id, version.source)
        if flow_id in graphs:
            return version, graphs[flow_id]
    active = active_version(session, flow_id)
    if active is None:
        raise FlowNotFound(f"no active version of flow {flow_id}")
    return active, runtime.graphs(active.id, active.source)[flow_id]


def state_of(run: FlowRun) -> RunState:
    return RunState.from_row(run)


def wait_of(session: Session, run_id: str) -> RunWait | None:
    # Fresh from the database: the driver writes wait rows past the ORM (engine.store).
    return session.scalars(
        select(RunWait).where(RunWait.run_id == run_id).execution_options(populate_existing=True)
    ).first()


def save(
    session: Session,
    runtime: Runtime,
    row: RunRow,
    steps: list[StepRecord],
    *,
    wait: WaitSpec | None,
    finished: str | None,
    failure: Failure | None,
    claimed_by: str | None,
) -> None:
    """Write the run's state, its new steps, its next wait, and any failure, in the open transaction.

    Raises ``RunConflict`` when another driver moved the run on since this one read it.
    """
    now = runtime.clock.now()
    state = row.state
    if finished is not None:
        status, error = finished, failure.message if failure else None
    else:
        status, error = (RUNNING if wait is None else WAITING), state.error
    store.write_run(session, row, status=status, error=error, now=now)
    store.write_steps(session, state.id, steps)
    if finished is not None:
        store_waits.delete_wait(session, row)
        if failure is not None:
            _raise_exception(session, runtime, state, failure)
        return
    if wait is None:
        claimed_until = now + timedelta(seconds=runtime.lease_s) if claimed_by is not None else None
        store_waits.write_wait(
            session,
            row,
            kind=READY,
            node_id=state.node,
            due_at=now,
            claimed_by=claimed_by,
            claimed_until=claimed_until,
        )
        return
    task_id = None
    if wait.task is not None:
        task_id = new_id("task")
        session.add(
            Task(
                id=task_id,
                kind=wait.task.get("kind", "approval"),
                role=wait.task["role"],
                prompt=wait.task["prompt"],
                outcomes=wait.task["outcomes"],
                subject_id=state.subject_id,
                run_id=state.id,
                node_id=wait.node_id,
                created_at=now,
            )
        )
    store_waits.write_wait(
        session,
        row,
        kind=wait.kind,
        node_id=wait.node_id,
        due_at=wait.due_at,
        event_name=wait.event_name,
        task_id=task_id,
        pending_children=len(wait.children),
    )


def _raise_exception(session: Session, runtime: Runtime, state: RunState, failure: Failure) -> None:
    now = runtime.clock.now()
    exception = ProcessException(
        category=failure.category,
        message=failure.message,
        subject_id=state.subject_id,
        run_id=state.id,
        step_node=failure.node_id,
        retry_node=failure.retry_node,
        created_at=now,
        updated_at=now,
    )
    session.add(exception)
    session.flush()
    info = RunFailure(
        session=session,
        subject_id=state.subject_id,
        run_id=state.id,
        flow_id=state.flow_id,
        node_id=failure.node_id,
        category=failure.category,
        message=failure.message,
        exception_id=exception.id,
    )
    for handler in runtime.registry.failure_handlers:
        try:
            # A savepoint would be cleaner, but SQLite's driver mishandles them; handlers must not raise.
            handler(info)
        except Exception:
            log.exception("run-failure handler %r failed for run %s", handler, state.id)


def flow_of(session: Session, flow_id: str) -> FlowDefinition | None:
    return session.get(FlowDefinition, flow_id)
