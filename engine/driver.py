"""The durable driver: runs flows step by step, every step recorded and committed with its effects.

Transactions. A run started by a change (an order captured, a fulfillment order shipped) is driven in
that change's own transaction, so the change, the run and its first steps commit together. The driver
commits
- before an action that calls outside the database (``ActionDef.external``: payment gateways,
  plugins), so no call goes out for a run, or a change, that a crash could still undo; the call's
  idempotency key is then durable, and a replay after a crash repeats the same call, and
- when the run parks (an event, a timer, a retry, a task, subflows) or ends.
Every other action runs in a savepoint: when it fails, only its own writes are rolled back and the
failure is written in their place. Every step gets its step row.

Every unfinished run has exactly one ``RunWait`` row; a driver works on a run only while it holds the
claim on that row, so a crashed driver's runs are picked up when its lease runs out. A run inserted by
the very transaction driving it needs no claim: nobody else can see it before the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.attributes import instance_dict
from sqlalchemy.orm.exc import StaleDataError

from dsl.flowgraph import ActionNode, FlowGraph
from engine import codec, store, store_waits
from engine.db import holds_writes
from engine.interpreter import StepEnv, child_result, execute, resume
from engine.models import FlowRun, RunWait
from engine.models.run import FINISHED
from engine.models.wait import CALL, READY
from engine.plan import plan_of
from engine.records import graph_for, save, subflow_graph
from engine.runtime import Runtime
from engine.state import Outcome, RunState, StepRecord, stored_variables
from engine.store import RunConflict, RunRow, WaitRow

log = logging.getLogger(__name__)


class ServiceActionRefused(Exception):
    """The first action of a service run refused (``NotAllowed``): nothing was written."""


@dataclass
class DriveResult:
    run_id: str
    status: str
    driven: list[str] = field(default_factory=list)


def drive(
    session: Session, runtime: Runtime, run_ids: list[str], *, worker_id: str, refusable: bool = False
) -> list[DriveResult]:
    """Drive each run (and the runs it starts or wakes) until it parks or ends; commits as it goes.

    The session may hold the uncommitted change that started the runs: it commits with them. With
    ``refusable`` the first run commits nothing until its first action succeeded; if that action
    refuses, everything is rolled back and :class:`ServiceActionRefused` raised.
    """
    queue = list(run_ids)
    results: list[DriveResult] = []
    first = True
    driven: set[str] = set()
    try:
        while queue:
            run_id = queue.pop(0)
            driven.add(run_id)
            status = _drive_one(session, runtime, run_id, worker_id, refusable and first, queue)
            first = False
            results.append(DriveResult(run_id, status))
    finally:
        _expire_driven(session, driven)
    return results


def _expire_driven(session: Session, run_ids: set[str]) -> None:
    """ORM copies of the runs and wait rows written past the ORM are read again when next used."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, FlowRun | RunWait):
            loaded = instance_dict(obj)
            if loaded.get("id") in run_ids or loaded.get("run_id") in run_ids:
                session.expire(obj)


def _due(wait: WaitRow, runtime: Runtime) -> bool:
    if wait.kind == READY:
        return True
    return wait.due_at is not None and wait.due_at <= runtime.clock.now()


def _drive_one(
    session: Session, runtime: Runtime, run_id: str, worker_id: str, refusable: bool, queue: list[str]
) -> str:
    row = store.take_fresh(session, run_id)
    if row is None:
        # Not this transaction's own run: the change that woke it commits first, so a conflict over
        # the run (another driver's) can never take that change down with it.
        if not refusable:
            session.commit()
        if not store.claim(session, run_id, worker_id, runtime.clock.now(), runtime.lease_s):
            found = store.load_run(session, run_id)
            if found is None:
                return "missing"
            return found.state.status if found.state.status in FINISHED else "claimed"
        row = store.load_run(session, run_id)
        if row is None:
            return "missing"
    state = row.state
    if state.status in FINISHED:
        return state.status
    wait = row.wait
    if wait is None or not _due(wait, runtime):
        store.release(session, run_id, worker_id)
        if not refusable:
            session.commit()
        return state.status
    assert state.version_id is not None
    graph = graph_for(session, runtime, state.version_id, state.flow_id)
    if wait.kind != READY:
        early = resume(
            graph, state, wait.kind, wait.node_id or "", codec.decode(wait.resume), runtime.clock.now()
        )
        if early is not None:
            return _finish(session, runtime, row, early, [], queue)
    env = StepEnv(runtime, session, _emitter(session, runtime, state, queue))
    return _steps(session, runtime, graph, row, env, worker_id, refusable, queue)


def _steps(
    session: Session,
    runtime: Runtime,
    graph: FlowGraph,
    row: RunRow,
    env: StepEnv,
    worker_id: str,
    refusable: bool,
    queue: list[str],
) -> str:
    """Execute nodes until the run parks or ends, committing only before external actions and at the end.

    Decisions, assignments and jumps change only the run's state in memory; their step rows are
    written with the next commit.
    """
    state = row.state
    nodes = plan_of(graph).nodes
    registry = runtime.registry
    pending: list[StepRecord] = []  # steps executed but not yet written
    # The transaction may hold work a failing action must not take down: the change that started the
    # run, the run itself, this driver's claim, the actions before.
    holds_work = True
    committed = False  # by this drive
    acted = False  # an action of this drive succeeded
    while True:
        node = nodes[state.node or ""]
        savepoint: SessionTransaction | None = None
        if isinstance(node, ActionNode):
            definition = registry.get(node.action)
            external = definition is not None and definition.external
            # The time the step's calls are decided as of is stored before any of them goes out, so a
            # step run again after a crash decides as its lost attempt did (ActionContext.decided_at).
            pin = external and state.attempt == 1 and state.first_attempt_at is None
            if pin:
                state.first_attempt_at = runtime.clock.now()
            # A service run that refuses must leave nothing behind: it commits nothing before its
            # first action has succeeded, external or not. After that, as every run, it commits
            # before a call goes out, so no refund or void is sent for a change a crash could undo.
            if external and (holds_work or pin) and not (refusable and not acted):
                if not _save_and_commit(session, runtime, row, pending, Outcome(None), claimed_by=worker_id):
                    return "conflict"
                committed, holds_work, pending = True, False, []
            if holds_work:
                savepoint = session.begin_nested()
        outcome = execute(graph, state, env)
        if outcome.step is not None:
            outcome.step.seq = state.step_count
            pending.append(outcome.step)
        failed = (
            outcome.step is not None
            and outcome.step.kind == "action"
            and outcome.step.status in ("failed", "retrying")
        )
        if failed:
            if outcome.refused is not None and refusable and not committed:
                session.rollback()
                raise ServiceActionRefused(outcome.refused)
            # The action's own writes go; its failure is recorded with the steps before it.
            if savepoint is not None:
                savepoint.rollback()
            else:
                # The transaction began with this action (right after a commit): it held nothing else.
                session.rollback()
        elif isinstance(node, ActionNode):
            acted = True
            if savepoint is not None:
                savepoint.commit()
                holds_work = True
            else:
                # (On SQLite a savepoint must not start a transaction: its release would commit it.)
                holds_work = holds_writes(session)
        if outcome.finished is not None or outcome.wait is not None:
            return _finish(session, runtime, row, outcome, pending, queue)
        state.node = outcome.next_node


def _save_and_commit(
    session: Session,
    runtime: Runtime,
    row: RunRow,
    steps: list[StepRecord],
    outcome: Outcome,
    *,
    claimed_by: str | None,
) -> bool:
    """Write the run (READY for ``claimed_by`` unless ``outcome`` parks or ends it) and commit.

    False when another driver or writer got there first: this drive's steps are dropped, the run is
    driven again when its claim runs out. When the transaction also held the change that started
    the run, that failure is the caller's, and raised.
    """
    try:
        save(
            session,
            runtime,
            row,
            steps,
            wait=outcome.wait,
            finished=outcome.finished,
            failure=outcome.failure,
            claimed_by=claimed_by,
        )
        session.commit()
    except (RunConflict, StaleDataError):
        session.rollback()
        if row.shared:
            raise
        log.warning("run %s was moved on by another writer; this drive's steps are dropped", row.state.id)
        return False
    row.shared = False
    return True


def _finish(
    session: Session,
    runtime: Runtime,
    row: RunRow,
    outcome: Outcome,
    steps: list[StepRecord],
    queue: list[str],
) -> str:
    """Park or end the run: its rows, the subflows it calls, its parent told, then the commit."""
    state = row.state
    wait = outcome.wait
    if wait is not None and wait.kind == CALL:
        for child in wait.children:
            version, child_graph = subflow_graph(session, runtime, state.version_id or "", child.flow_id)
            started = store.insert_run(
                session,
                now=runtime.clock.now(),
                lease_s=runtime.lease_s,
                version_id=version.id,
                version_number=version.number,
                flow_id=child_graph.id,
                start_node=child_graph.start,
                subject_id=state.subject_id,
                variables={"input": dict(child.inputs)},
                parent_run_id=state.id,
                parent_index=child.index,
            )
            queue.append(started.state.id)
    if outcome.finished is not None and state.parent_run_id is not None:
        # Before the run's own row is saved: its conflict must roll the parent's signal back too.
        _notify_parent(session, runtime, state, outcome, queue)
    if not _save_and_commit(session, runtime, row, steps, outcome, claimed_by=None):
        return "conflict"
    return outcome.finished or "waiting"


def _notify_parent(
    session: Session, runtime: Runtime, state: RunState, outcome: Outcome, queue: list[str]
) -> None:
    assert state.parent_run_id is not None
    parent = store.load_run(session, state.parent_run_id)
    if parent is None or parent.wait is None or parent.wait.kind != CALL:
        return
    now = runtime.clock.now()
    if outcome.finished == "failed":
        message = outcome.failure.message if outcome.failure else "failed"
        store_waits.signal_wait(
            session, parent.wait.id, {"via": "children", "failed": True, "message": message}, now
        )
        queue.append(state.parent_run_id)
        return
    if store_waits.count_down_children(session, parent.wait.id) > 0:
        return
    results = [
        child_result(state.variables if child_id == state.id else stored_variables(variables))
        for child_id, variables in store_waits.child_variables(session, state.parent_run_id)
    ]
    store_waits.signal_wait(
        session, parent.wait.id, codec.encode({"via": "children", "results": results}), now
    )
    queue.append(state.parent_run_id)


def _emitter(session: Session, runtime: Runtime, state: RunState, queue: list[str]) -> Any:
    def emit(event_name: str, payload: Mapping[str, Any]) -> None:
        from engine.triggers import publish

        queue.extend(publish(session, event_name, dict(payload), state.subject_id, runtime=runtime))

    return emit


def start_run(
    session: Session,
    runtime: Runtime,
    *,
    version_id: str,
    version_number: int,
    graph: FlowGraph,
    subject_id: str | None,
    inputs: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    claimed_by: str | None = None,
) -> str:
    """A new run of ``graph`` at its start, ready to drive; returns its id."""
    variables: dict[str, Any] = {"input": dict(inputs or {})}
    if event is not None:
        variables["event"] = event
    row = store.insert_run(
        session,
        now=runtime.clock.now(),
        lease_s=runtime.lease_s,
        version_id=version_id,
        version_number=version_number,
        flow_id=graph.id,
        start_node=graph.start,
        subject_id=subject_id,
        variables=variables,
        claimed_by=claimed_by,
    )
    return row.state.id
