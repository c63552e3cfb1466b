"""Events in, runs out: record events start triggered flows and wake waiting runs; agents start
service flows.

Both functions work inside the caller's transaction and only *create* or *wake* runs (a READY or due
wait row): they commit with the caller's change, so an event is never lost and never half-applied.
After committing, the caller drives the runs they return (``engine.service.drive_runs``) or leaves
them to the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from dsl.diagnostics import ExpressionError
from dsl.flowgraph import WaitEventNode
from engine import codec
from engine.inputs import validate_inputs
from engine.models import FlowDefinition, FlowRun, FlowVersion, OutboxEvent, RunWait
from engine.models.flow import ACTIVE
from engine.models.wait import EVENT
from engine.records import graph_for, state_of
from engine.runtime import Runtime, default_runtime
from engine.scope import Scope

log = logging.getLogger(__name__)


def publish(
    session: Session,
    event_name: str,
    payload: Mapping[str, Any],
    subject_id: str | None = None,
    *,
    runtime: Runtime | None = None,
) -> list[str]:
    """Record ``event_name`` in the outbox, start the flows it triggers, wake the runs waiting for it.

    Returns the ids of the runs started or woken.
    """
    from engine.driver import start_run

    runtime = runtime or default_runtime()
    payload = dict(payload)
    session.add(
        OutboxEvent(
            name=event_name,
            payload=codec.jsonable(payload),
            subject_id=subject_id,
            created_at=runtime.clock.now(),
        )
    )
    touched: list[str] = []
    # The triggered flows with their active versions in one query: publishing is on every write path.
    versions = session.scalars(
        select(FlowVersion)
        .join(FlowDefinition, FlowDefinition.id == FlowVersion.flow_id)
        .where(
            FlowDefinition.trigger_event == event_name,
            FlowDefinition.active_version.is_not(None),
            FlowVersion.status == ACTIVE,
        )
    ).all()
    started: set[str] = set()
    for version in versions:
        if version.flow_id in started:
            continue  # one run per flow, whatever happens to be marked active
        started.add(version.flow_id)
        graph = runtime.graphs(version.id, version.source)[version.flow_id]
        if graph.trigger is not None and graph.trigger.when is not None:
            scope = Scope({"event": payload}, runtime.registry, session, subject_id, runtime.clock)
            try:
                if not graph.trigger.when.evaluate(scope):
                    continue
            except ExpressionError as exc:
                log.warning("trigger condition of %s failed on %s: %s", version.flow_id, event_name, exc)
                continue
        run = start_run(
            session, runtime, version=version, flow_id=version.flow_id, subject_id=subject_id, event=payload
        )
        touched.append(run.id)
    touched.extend(_wake(session, runtime, event_name, payload, subject_id))
    return touched


def _wake(
    session: Session, runtime: Runtime, event_name: str, payload: dict[str, Any], subject_id: str | None
) -> list[str]:
    query = select(RunWait).where(RunWait.kind == "event", RunWait.event_name == event_name)
    if subject_id is not None:
        query = query.where(or_(RunWait.subject_id == subject_id, RunWait.subject_id.is_(None)))
    woken = []
    for row in session.scalars(query).all():
        if row.resume:
            continue  # an earlier event already woke it
        run = session.get(FlowRun, row.run_id)
        if run is None:
            continue
        node = graph_for(session, runtime, run.version_id, run.flow_id).node(row.node_id or "")
        if isinstance(node, WaitEventNode) and node.where is not None:
            state = state_of(run)
            scope = Scope(
                state.variables, runtime.registry, session, run.subject_id, runtime.clock, {"event": payload}
            )
            try:
                if not node.where.evaluate(scope):
                    continue
            except ExpressionError as exc:
                log.info("wait %s of run %s: 'where' failed on %s: %s", row.node_id, run.id, event_name, exc)
                continue
        # Guarded: a worker may have moved the run on (a timeout) and reused the row for its next
        # wait since we read it; only the very wait we evaluated, still unwoken, takes the event.
        claimed: CursorResult[Any] = session.execute(  # type: ignore[assignment]
            update(RunWait)
            .where(
                RunWait.id == row.id,
                RunWait.kind == EVENT,
                RunWait.event_name == event_name,
                RunWait.node_id == row.node_id,
                RunWait.resume.is_(None),
            )
            .values(resume=codec.encode({"via": "event", "payload": payload}), due_at=runtime.clock.now())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            session.expire(row)
            woken.append(run.id)
    return woken


class UnknownServiceAction(LookupError):
    pass


@dataclass
class ServiceStart:
    run_id: str
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)


def service_flow(session: Session, action_name: str) -> tuple[FlowDefinition, FlowVersion]:
    flow = session.scalars(
        select(FlowDefinition).where(
            FlowDefinition.action_name == action_name, FlowDefinition.active_version.is_not(None)
        )
    ).first()
    version = None
    if flow is not None:
        version = session.scalars(
            select(FlowVersion).where(FlowVersion.flow_id == flow.id, FlowVersion.status == ACTIVE)
        ).first()
    if flow is None or version is None:
        raise UnknownServiceAction(action_name)
    return flow, version


def start_service_action(
    session: Session,
    subject_id: str,
    action_name: str,
    inputs: Mapping[str, Any] | None,
    *,
    runtime: Runtime | None = None,
    worker_id: str | None = None,
) -> ServiceStart:
    """Validate the inputs, start the active flow exposing ``action_name`` on the subject and drive it.

    Raises ``UnknownServiceAction`` (404), ``InputError`` (422, with field errors) and
    ``ServiceActionRefused`` (409; nothing was written: the caller's session is rolled back).
    Commits the caller's session as the run's steps commit.
    """
    from engine.driver import ServiceActionRefused, drive, start_run
    from engine.registry import NotAllowed

    runtime = runtime or default_runtime()
    flow, version = service_flow(session, action_name)
    graph = runtime.graphs(version.id, version.source)[flow.id]
    values = validate_inputs(graph, inputs)
    guard = runtime.registry.service_guards.get(action_name)
    if guard is not None and not guard(session, subject_id):
        raise ServiceActionRefused(f"{action_name} is not allowed on this order now")
    token = worker_id or f"service:{codec.new_token()}"
    run = start_run(
        session,
        runtime,
        version=version,
        flow_id=flow.id,
        subject_id=subject_id,
        inputs=values,
        claimed_by=token,
    )
    run_id = run.id
    try:
        drive(session, runtime, [run_id], worker_id=token, refusable=True)
    except NotAllowed as exc:  # pragma: no cover - actions' refusals arrive as ServiceActionRefused
        raise ServiceActionRefused(exc.message) from exc
    done = session.get(FlowRun, run_id)
    assert done is not None
    state = state_of(done)
    return ServiceStart(run_id, done.status, {k: v for k, v in state.variables.items() if k != "input"})
