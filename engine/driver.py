"""The durable driver: runs flows step by step, every step recorded and committed with its effects.

An action's transaction holds the action's own writes, its step row, the rows of the decisions and
assignments next to it (they change nothing but the run's state), the run's new state and the run's
next wait row. When an action fails, its writes are rolled back and the failure is written in their
place. Every unfinished run has exactly one ``RunWait`` row; a driver works on a run only while it
holds the claim on that row, so a crashed driver's runs are picked up when its lease runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from dsl.flowgraph import ActionNode, FlowGraph
from engine import codec
from engine.interpreter import StepEnv, child_result, execute, resume
from engine.models import FlowRun, FlowVersion, RunWait
from engine.models.run import FINISHED
from engine.models.wait import READY
from engine.plan import plan_of
from engine.records import Held, graph_for, new_run, save, state_of, subflow_graph, wait_of
from engine.runtime import Runtime
from engine.state import Outcome, RunState, StepRecord

log = logging.getLogger(__name__)


class ServiceActionRefused(Exception):
    """The first action of a service run refused (``NotAllowed``): nothing was written."""


@dataclass
class DriveResult:
    run_id: str
    status: str
    driven: list[str] = field(default_factory=list)


def claim(session: Session, runtime: Runtime, run_id: str, worker_id: str) -> bool:
    """Take the run's wait row for ``worker_id`` unless another live claim holds it."""
    now = runtime.clock.now()
    result = session.execute(
        update(RunWait)
        .where(
            RunWait.run_id == run_id,
            or_(RunWait.claimed_by.is_(None), RunWait.claimed_by == worker_id, RunWait.claimed_until < now),
        )
        .values(claimed_by=worker_id, claimed_until=now + timedelta(seconds=runtime.lease_s))
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def release(session: Session, run_id: str, worker_id: str) -> None:
    session.execute(
        update(RunWait)
        .where(RunWait.run_id == run_id, RunWait.claimed_by == worker_id)
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def drive(
    session: Session, runtime: Runtime, run_ids: list[str], *, worker_id: str, refusable: bool = False
) -> list[DriveResult]:
    """Drive each run (and the runs it starts or wakes) until it parks or ends; commits as it goes.

    With ``refusable`` the first run commits nothing until its first action succeeded; if that
    action refuses, everything is rolled back and :class:`ServiceActionRefused` raised.
    """
    queue = list(run_ids)
    results: list[DriveResult] = []
    first = True
    while queue:
        run_id = queue.pop(0)
        status = _drive_one(session, runtime, run_id, worker_id, refusable and first, queue)
        first = False
        results.append(DriveResult(run_id, status))
    return results


def _due(row: RunWait, runtime: Runtime) -> bool:
    if row.kind == READY:
        return True
    return row.due_at is not None and row.due_at <= runtime.clock.now()


def _drive_one(
    session: Session, runtime: Runtime, run_id: str, worker_id: str, refusable: bool, queue: list[str]
) -> str:
    run = session.get(FlowRun, run_id)
    if run is None:
        return "missing"
    if run.status in FINISHED:
        return run.status
    if not claim(session, runtime, run_id, worker_id):
        session.rollback()
        return "claimed"
    row = wait_of(session, run_id)
    if row is None or not _due(row, runtime):
        release(session, run_id, worker_id)
        if not refusable:
            session.commit()
        return run.status
    # The claim commits with the run's first step rather than alone (a commit per drive saved); until
    # then the database's lock on the updated row keeps other drivers off the run.
    state = state_of(run)
    graph = graph_for(session, runtime, run.version_id, run.flow_id)
    held = Held(run, row)
    if row.kind != READY:
        early = resume(
            graph, state, row.kind, row.node_id or "", codec.decode(row.resume), runtime.clock.now()
        )
        if early is not None:
            return _finish(session, runtime, state, early, [], worker_id, queue, held)
    env = StepEnv(runtime, session, _emitter(session, runtime, state, queue))
    return _steps(session, runtime, graph, state, env, held, worker_id, refusable, queue)


def _steps(
    session: Session,
    runtime: Runtime,
    graph: FlowGraph,
    state: RunState,
    env: StepEnv,
    held: Held,
    worker_id: str,
    refusable: bool,
    queue: list[str],
) -> str:
    """Execute nodes until the run parks or ends, committing once per action rather than per step.

    A transaction closes just before the next action runs, so a failing action's rollback takes only
    its own writes: the steps before it (decisions and assignments only change memory) commit with
    the action before them, or with the run's end. Step rows are still written for every node.
    """
    nodes = plan_of(graph).nodes
    pending: list[StepRecord] = []  # steps executed but not yet written
    acted = False  # an action ran since the last commit
    committed = False  # by this drive: the claim, and with ``refusable`` the run itself
    while True:
        if acted and isinstance(nodes[state.node or ""], ActionNode):
            save(
                session,
                runtime,
                state,
                pending,
                wait=None,
                finished=None,
                failure=None,
                claimed_by=worker_id,
                held=held,
            )
            if not _commit(session, state.id):
                return "conflict"
            committed, acted, pending = True, False, []
        outcome = execute(graph, state, env)
        if outcome.step is not None:
            outcome.step.seq = state.step_count
            pending.append(outcome.step)
        is_action = outcome.step is not None and outcome.step.kind == "action"
        failed = outcome.step is not None and outcome.step.status in ("failed", "retrying")
        if is_action and failed:
            if outcome.refused is not None and refusable and not committed:
                session.rollback()
                raise ServiceActionRefused(outcome.refused)
            # The action's own writes go; the steps before it are in memory and its failure is recorded.
            session.rollback()
            held.forget()
            # The rollback took an uncommitted claim along: take it again before writing anything. (A
            # refusable run is new, uncommitted and known to no one else: ``save`` writes it again.)
            if not refusable and not committed and not claim(session, runtime, state.id, worker_id):
                session.rollback()
                return "claimed"
        if outcome.finished is not None or outcome.wait is not None:
            return _finish(session, runtime, state, outcome, pending, worker_id, queue, held)
        state.node = outcome.next_node
        acted = acted or is_action


def _commit(session: Session, run_id: str) -> bool:
    try:
        session.commit()
    except StaleDataError:
        # Another driver moved this run on meanwhile (its claim had lapsed); its step counts, ours not.
        session.rollback()
        log.warning("run %s was moved on by another driver; this step is dropped", run_id)
        return False
    return True


def _finish(
    session: Session,
    runtime: Runtime,
    state: RunState,
    outcome: Outcome,
    steps: list[StepRecord],
    worker_id: str,
    queue: list[str],
    held: Held,
) -> str:
    wait = outcome.wait
    save(
        session,
        runtime,
        state,
        steps,
        wait=wait,
        finished=outcome.finished,
        failure=outcome.failure,
        claimed_by=None,
        held=held,
    )
    if wait is not None and wait.kind == "call":
        for child in wait.children:
            version_id, child_graph = subflow_graph(session, runtime, state.version_id or "", child.flow_id)
            version = session.get(FlowVersion, version_id)
            assert version is not None
            run = new_run(
                session,
                runtime,
                version=version,
                graph=child_graph,
                subject_id=state.subject_id,
                inputs=child.inputs,
                parent_run_id=state.id,
                parent_index=child.index,
            )
            queue.append(run.id)
    if outcome.finished is not None and state.parent_run_id is not None:
        _notify_parent(session, runtime, state, outcome, queue)
    if not _commit(session, state.id):
        return "conflict"
    return outcome.finished or "waiting"


def _notify_parent(
    session: Session, runtime: Runtime, state: RunState, outcome: Outcome, queue: list[str]
) -> None:
    assert state.parent_run_id is not None
    row = wait_of(session, state.parent_run_id)
    if row is None or row.kind != "call":
        return
    now = runtime.clock.now()
    if outcome.finished == "failed":
        message = outcome.failure.message if outcome.failure else "failed"
        row.resume = {"via": "children", "failed": True, "message": message}
        row.due_at = now
        queue.append(state.parent_run_id)
        return
    row.pending_children = max(row.pending_children - 1, 0)
    if row.pending_children > 0:
        return
    session.flush()
    children = session.scalars(
        select(FlowRun).where(FlowRun.parent_run_id == state.parent_run_id).order_by(FlowRun.parent_index)
    ).all()
    results = [child_result(state if child.id == state.id else state_of(child)) for child in children]
    row.resume = codec.encode({"via": "children", "results": results})
    row.due_at = now
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
    version: FlowVersion,
    flow_id: str,
    subject_id: str | None,
    inputs: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    claimed_by: str | None = None,
) -> FlowRun:
    graph = runtime.graphs(version.id, version.source)[flow_id]
    return new_run(
        session,
        runtime,
        version=version,
        graph=graph,
        subject_id=subject_id,
        inputs=inputs,
        event=event,
        claimed_by=claimed_by,
    )
