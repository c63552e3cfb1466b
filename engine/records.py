"""Loading and saving a run's rows; shared by the driver, triggers and the worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from dsl.flowgraph import FlowGraph
from engine import codec
from engine.db import new_id
from engine.models import FlowDefinition, FlowRun, FlowStep, FlowVersion, ProcessException, RunWait, Task
from engine.models.flow import ACTIVE
from engine.models.wait import READY
from engine.registry import RunFailure
from engine.runtime import Runtime
from engine.state import Failure, RunState, StepRecord, WaitSpec

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


def subflow_graph(session: Session, runtime: Runtime, version_id: str, flow_id: str) -> tuple[str, FlowGraph]:
    """A ``call``ed flow: from the caller's own source when it defines it, else the active version."""
    version = session.get(FlowVersion, version_id)
    if version is not None:
        graphs = runtime.graphs(version.id, version.source)
        if flow_id in graphs:
            return version.id, graphs[flow_id]
    active = active_version(session, flow_id)
    if active is None:
        raise FlowNotFound(f"no active version of flow {flow_id}")
    return active.id, runtime.graphs(active.id, active.source)[flow_id]


def state_of(run: FlowRun) -> RunState:
    state = RunState(
        id=run.id,
        flow_id=run.flow_id,
        version_number=run.version_number,
        subject_id=run.subject_id,
        node=run.current_node,
        status=run.status,
        step_count=run.step_count,
        version_id=run.version_id,
        parent_run_id=run.parent_run_id,
        parent_index=run.parent_index,
        error=run.error,
    )
    state.load_variables(run.variables)
    return state


def new_run(
    session: Session,
    runtime: Runtime,
    *,
    version: FlowVersion,
    graph: FlowGraph,
    subject_id: str | None,
    inputs: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
    parent_index: int | None = None,
    claimed_by: str | None = None,
) -> FlowRun:
    """A run at its start node with a READY wait, so it is durable before it takes one step."""
    variables: dict[str, Any] = {"input": dict(inputs or {})}
    if event is not None:
        variables["event"] = event
    state = RunState(
        id="",
        flow_id=graph.id,
        version_number=version.number,
        subject_id=subject_id,
        node=graph.start,
        variables=variables,
    )
    # The id is made here rather than by an INSERT flushed now: the rows go with the caller's next flush.
    run = FlowRun(
        id=new_id("run"),
        flow_id=graph.id,
        version_id=version.id,
        version_number=version.number,
        subject_id=subject_id,
        status="running",
        variables=state.dump_variables(),
        current_node=graph.start,
        parent_run_id=parent_run_id,
        parent_index=parent_index,
        step_count=0,
    )
    session.add(run)
    now = runtime.clock.now()
    session.add(
        RunWait(
            run_id=run.id,
            kind=READY,
            node_id=graph.start,
            subject_id=subject_id,
            due_at=now,
            claimed_by=claimed_by,
            claimed_until=now + timedelta(seconds=runtime.lease_s) if claimed_by else None,
        )
    )
    return run


def wait_of(session: Session, run_id: str) -> RunWait | None:
    return session.scalars(select(RunWait).where(RunWait.run_id == run_id)).first()


@dataclass
class Held:
    """A run's rows as the driving session holds them: read once per drive instead of once per save.

    ``save`` keeps it current. After a rollback the driver calls :meth:`forget`: the rows may have been
    inserted by the rolled-back transaction, so they are looked up again (and written again from
    memory when they are gone).
    """

    run: FlowRun | None = None
    wait: RunWait | None = None

    def forget(self) -> None:
        self.run = self.wait = None


def _held_run(session: Session, held: Held, run_id: str) -> FlowRun | None:
    if held.run is not None and held.run in session:
        return held.run
    return session.get(FlowRun, run_id)


def _held_wait(session: Session, held: Held, run_id: str) -> RunWait | None:
    if held.wait is not None and held.wait in session:
        return held.wait
    return wait_of(session, run_id)


def save(
    session: Session,
    runtime: Runtime,
    state: RunState,
    steps: list[StepRecord],
    *,
    wait: WaitSpec | None,
    finished: str | None,
    failure: Failure | None,
    claimed_by: str | None,
    held: Held | None = None,
) -> FlowRun:
    """Write the run's state, its new steps, its next wait, and any failure, in the open transaction."""
    now = runtime.clock.now()
    held = held if held is not None else Held()
    run = _held_run(session, held, state.id)
    if run is None:
        # Rolled back with a failed first action: the run is written again from memory.
        run = FlowRun(
            id=state.id,
            flow_id=state.flow_id,
            version_id=state.version_id,
            version_number=state.version_number,
            subject_id=state.subject_id,
            parent_run_id=state.parent_run_id,
            parent_index=state.parent_index,
        )
        session.add(run)
    run.variables = state.dump_variables()
    run.current_node = state.node
    run.step_count = state.step_count
    run.updated_at = now
    held.run = run
    session.add_all(
        [
            FlowStep(
                run_id=state.id,
                seq=record.seq,
                node_id=record.node_id,
                kind=str(record.kind),
                attempt=record.attempt,
                status=record.status,
                inputs=codec.encode(record.inputs) if record.inputs is not None else None,
                outputs=codec.encode(record.outputs),
                error=record.error,
                error_code=record.error_code,
                started_at=record.started_at,
                finished_at=record.finished_at,
            )
            for record in steps
        ]
    )
    row = _held_wait(session, held, state.id)
    if finished is not None:
        run.status = finished
        run.error = failure.message if failure else None
        held.wait = None
        if row is not None:
            session.delete(row)
        if failure is not None:
            _raise_exception(session, runtime, state, failure)
        return run
    if row is None:
        row = RunWait(run_id=state.id, subject_id=state.subject_id)
        session.add(row)
    held.wait = row
    row.resume = None
    # Written even when it looks unchanged: an event may have set it since this session read the row,
    # and the new wait must not inherit the old wait's signal.
    flag_modified(row, "resume")
    row.claimed_until = None
    row.claimed_by = None
    row.task_id = None
    row.event_name = None
    if wait is None:
        run.status = "running"
        row.kind, row.node_id, row.due_at = READY, state.node, now
        if claimed_by is not None:
            row.claimed_by = claimed_by
            row.claimed_until = now + timedelta(seconds=runtime.lease_s)
        return run
    run.status = "waiting"
    row.kind, row.node_id, row.due_at, row.event_name = wait.kind, wait.node_id, wait.due_at, wait.event_name
    row.pending_children = len(wait.children)
    if wait.task is not None:
        task = Task(
            kind=wait.task.get("kind", "approval"),
            role=wait.task["role"],
            prompt=wait.task["prompt"],
            outcomes=wait.task["outcomes"],
            subject_id=state.subject_id,
            run_id=state.id,
            node_id=wait.node_id,
            created_at=now,
        )
        session.add(task)
        session.flush()
        row.task_id = task.id
    return run


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
