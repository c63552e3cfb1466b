"""Events in, runs out: record events start triggered flows and wake waiting runs; agents start
service flows.

Both functions work inside the caller's transaction and only *create* or *wake* runs (a READY or due
wait row): they commit with the caller's change, so an event is never lost and never half-applied.
The caller drives the runs they return in that same transaction (``engine.service.drive_runs``,
which commits) or commits and leaves them to the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    String,
    Table,
    bindparam,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from dsl.diagnostics import ExpressionError
from dsl.flowgraph import WaitEventNode
from engine import codec, store
from engine.db import new_id
from engine.db.plain_sql import execute_write
from engine.inputs import validate_inputs
from engine.models import FlowDefinition, FlowVersion
from engine.models.flow import ACTIVE
from engine.models.wait import EVENT
from engine.records import graph_for
from engine.runtime import Runtime, default_runtime
from engine.scope import Scope
from engine.state import stored_variables

log = logging.getLogger(__name__)


FLOW_VERSIONS = cast(Table, FlowVersion.__table__)
FLOW_DEFINITIONS = cast(Table, FlowDefinition.__table__)

# Publishing is on every write path, so what an event touches comes in one query: the runs waiting for
# it (with what their ``where`` needs) and the triggered flows' active versions.
WAKE, START = "wake", "start"
_WAITING = (
    select(
        literal_column(f"'{WAKE}'", String).label("kind"),
        store.WAITS.c.id.label("wait_id"),
        store.WAITS.c.run_id,
        store.WAITS.c.node_id,
        store.WAITS.c.resume,
        store.RUNS.c.version_id,
        store.RUNS.c.flow_id,
        store.RUNS.c.version_number,
        store.RUNS.c.subject_id,
        store.RUNS.c.variables,
    )
    .join(store.RUNS, store.RUNS.c.id == store.WAITS.c.run_id)
    .where(store.WAITS.c.kind == EVENT, store.WAITS.c.event_name == bindparam("b_event_name"))
)
_TRIGGERED = (
    select(
        literal_column(f"'{START}'", String),
        type_coerce(null(), String),
        type_coerce(null(), String),
        type_coerce(null(), String),
        type_coerce(null(), JSON),
        FLOW_VERSIONS.c.id,
        FLOW_VERSIONS.c.flow_id,
        FLOW_VERSIONS.c.number,
        type_coerce(null(), String),
        type_coerce(null(), JSON),
    )
    .join(FLOW_DEFINITIONS, FLOW_DEFINITIONS.c.id == FLOW_VERSIONS.c.flow_id)
    .where(
        FLOW_DEFINITIONS.c.trigger_event == bindparam("b_event_name"),
        FLOW_DEFINITIONS.c.active_version.is_not(None),
        FLOW_VERSIONS.c.status == ACTIVE,
    )
)
_TOUCHED_ANY = union_all(_WAITING, _TRIGGERED)
_TOUCHED_ON_SUBJECT = union_all(
    _WAITING.where(
        or_(store.WAITS.c.subject_id == bindparam("b_subject_id"), store.WAITS.c.subject_id.is_(None))
    ),
    _TRIGGERED,
)
# Guarded: a worker may have moved the run on (a timeout) and reused the row for its next wait since
# it was read; only the very wait evaluated, still unwoken, takes the event.
_WAKE = (
    update(store.WAITS)
    .where(
        store.WAITS.c.id == bindparam("b_wait_id"),
        store.WAITS.c.kind == EVENT,
        store.WAITS.c.event_name == bindparam("b_event_name"),
        store.WAITS.c.node_id == bindparam("b_node_id"),
        store.WAITS.c.resume.is_(None),
    )
    .values(resume=bindparam("b_resume"), due_at=bindparam("b_due_at"))
)


_INSERT_OUTBOX = store.OUTBOX.insert()


def _insert_outbox(
    session: Session, name: str, payload: dict[str, Any], subject_id: str | None, now: datetime
) -> str:
    event_id = new_id("evt")
    values = {
        "id": event_id,
        "name": name,
        "payload": payload,
        "subject_id": subject_id,
        "created_at": now,
        "published_at": None,
    }
    execute_write(session.connection(), _INSERT_OUTBOX, values)
    store.describe(session, "insert", store.OUTBOX, event_id, values)
    return event_id


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
    # The statements below go past the ORM: what the session holds goes out first.
    session.flush()
    _insert_outbox(session, event_name, codec.jsonable(payload), subject_id, runtime.clock.now())
    if subject_id is None:
        rows = session.connection().execute(_TOUCHED_ANY, {"b_event_name": event_name}).all()
    else:
        params = {"b_event_name": event_name, "b_subject_id": subject_id}
        rows = session.connection().execute(_TOUCHED_ON_SUBJECT, params).all()
    touched: list[str] = []
    started: set[str] = set()
    for row in rows:
        if row.kind != START or row.flow_id in started:
            continue  # one run per flow, whatever happens to be marked active
        started.add(row.flow_id)
        graph = graph_for(session, runtime, row.version_id, row.flow_id)
        if graph.trigger is not None and graph.trigger.when is not None:
            scope = Scope({"event": payload}, runtime.registry, session, subject_id, runtime.clock)
            try:
                if not graph.trigger.when.evaluate(scope):
                    continue
            except ExpressionError as exc:
                log.warning("trigger condition of %s failed on %s: %s", row.flow_id, event_name, exc)
                continue
        touched.append(
            start_run(
                session,
                runtime,
                version_id=row.version_id,
                version_number=row.version_number,
                graph=graph,
                subject_id=subject_id,
                event=payload,
            )
        )
    touched.extend(_wake(session, runtime, event_name, payload, [row for row in rows if row.kind == WAKE]))
    return touched


def _wake(
    session: Session, runtime: Runtime, event_name: str, payload: dict[str, Any], rows: list[Any]
) -> list[str]:
    conn = session.connection()
    woken = []
    for row in rows:
        if row.resume:
            continue  # an earlier event already woke it
        node = graph_for(session, runtime, row.version_id, row.flow_id).node(row.node_id or "")
        if isinstance(node, WaitEventNode) and node.where is not None:
            variables = stored_variables(row.variables)
            scope = Scope(
                variables, runtime.registry, session, row.subject_id, runtime.clock, {"event": payload}
            )
            try:
                if not node.where.evaluate(scope):
                    continue
            except ExpressionError as exc:
                log.info(
                    "wait %s of run %s: 'where' failed on %s: %s", row.node_id, row.run_id, event_name, exc
                )
                continue
        claimed = conn.execute(
            _WAKE,
            {
                "b_wait_id": row.wait_id,
                "b_event_name": event_name,
                "b_node_id": row.node_id,
                "b_resume": codec.encode({"via": "event", "payload": payload}),
                "b_due_at": runtime.clock.now(),
            },
        )
        if claimed.rowcount == 1:
            store.expire_cached(session, row.run_id, row.wait_id)
            woken.append(row.run_id)
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
    run_id = start_run(
        session,
        runtime,
        version_id=version.id,
        version_number=version.number,
        graph=graph,
        subject_id=subject_id,
        inputs=values,
        claimed_by=token,
    )
    try:
        drive(session, runtime, [run_id], worker_id=token, refusable=True)
    except NotAllowed as exc:  # pragma: no cover - actions' refusals arrive as ServiceActionRefused
        raise ServiceActionRefused(exc.message) from exc
    done = store.load_run(session, run_id)
    assert done is not None
    state = done.state
    return ServiceStart(run_id, state.status, {k: v for k, v in state.variables.items() if k != "input"})
