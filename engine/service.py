"""What the API calls besides publish and start_service_action: driving runs, tasks, exceptions."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dsl.flowgraph import ActionNode
from engine import codec
from engine.driver import DriveResult, drive
from engine.models import FlowRun, ProcessException, RunWait, Task
from engine.models.exception import ACTIVE_STATUSES, RESOLVED, TRIAGED
from engine.models.task import DONE, OPEN
from engine.models.wait import READY
from engine.plan import plan_of
from engine.records import graph_for, state_of, wait_of
from engine.runtime import Runtime, default_runtime


class EngineError(ValueError):
    """A request the engine refuses (the API answers 409 or 422)."""


def drive_runs(
    session: Session, run_ids: list[str], *, runtime: Runtime | None = None, worker_id: str | None = None
) -> list[DriveResult]:
    """Drive runs just started or woken (by ``publish``) now; the caller's change commits with the first."""
    runtime = runtime or default_runtime()
    return drive(session, runtime, list(run_ids), worker_id=worker_id or f"inline:{codec.new_token()}")


def complete_task(
    session: Session,
    task_id: str,
    outcome: str,
    *,
    completed_by: str | None = None,
    runtime: Runtime | None = None,
) -> Task:
    """Complete an open task with one of its outcomes and resume the run waiting on it."""
    runtime = runtime or default_runtime()
    # The row lock makes two people completing the same task at once serialize; one of them loses.
    task = session.get(Task, task_id, with_for_update=True)
    if task is None:
        raise LookupError(task_id)
    if task.status != OPEN:
        raise EngineError("the task is already completed")
    if outcome not in task.outcomes:
        raise EngineError(f"outcome must be one of {', '.join(task.outcomes)}")
    task.status, task.outcome = DONE, outcome
    task.completed_by, task.completed_at = completed_by, runtime.clock.now()
    if task.run_id is not None:
        row = wait_of(session, task.run_id)
        if row is not None and row.kind == "task" and row.task_id == task.id:
            row.resume = {"via": "outcome", "outcome": outcome}
            row.due_at = runtime.clock.now()
    session.commit()
    if task.run_id is not None:
        drive_runs(session, [task.run_id], runtime=runtime)
    return task


def retry_exception(
    session: Session, exception_id: str, *, runtime: Runtime | None = None
) -> ProcessException:
    """Run the step that failed again (same idempotency key: it is the same visit of the node)."""
    runtime = runtime or default_runtime()
    exception = session.get(ProcessException, exception_id)
    if exception is None:
        raise LookupError(exception_id)
    if exception.status not in ACTIVE_STATUSES:
        raise EngineError(f"the exception is {exception.status}")
    run = session.get(FlowRun, exception.run_id, populate_existing=True) if exception.run_id else None
    if run is None or exception.retry_node is None or run.status != "failed":
        raise EngineError("there is no failed step to retry")
    state = state_of(run)
    graph = graph_for(session, runtime, run.version_id, run.flow_id)
    if isinstance(plan_of(graph).nodes.get(exception.retry_node), ActionNode):
        # attempt > 1 keeps the node's visit count, so the action sees the same idempotency key (and
        # decides as of its first attempt, whose time the state kept).
        state.attempt = 2
    else:
        # A failed expression: the node is evaluated again, and the action after it is a first attempt
        # of a new visit (its own key and its own decision time), not a retry of the one before.
        state.attempt = 1
    state.node = exception.retry_node
    run.variables = state.dump_variables()
    run.current_node = exception.retry_node
    run.status, run.error = "running", None
    now = runtime.clock.now()
    session.add(
        RunWait(
            run_id=run.id, kind=READY, node_id=exception.retry_node, subject_id=run.subject_id, due_at=now
        )
    )
    exception.status, exception.resolved_at, exception.updated_at = RESOLVED, now, now
    exception.note = (exception.note + "\n" if exception.note else "") + "retried"
    session.commit()
    drive_runs(session, [run.id], runtime=runtime)
    return exception


def assign_exception(session: Session, exception_id: str, assignee: str) -> ProcessException:
    exception = session.get(ProcessException, exception_id)
    if exception is None:
        raise LookupError(exception_id)
    if exception.status not in ACTIVE_STATUSES:
        raise EngineError(f"the exception is {exception.status}")
    exception.assignee, exception.status = assignee, TRIAGED
    return exception


def resolve_exception(
    session: Session, exception_id: str, note: str, *, runtime: Runtime | None = None
) -> ProcessException:
    runtime = runtime or default_runtime()
    exception = session.get(ProcessException, exception_id)
    if exception is None:
        raise LookupError(exception_id)
    if exception.status not in ACTIVE_STATUSES:
        raise EngineError(f"the exception is {exception.status}")
    exception.status, exception.note = RESOLVED, note
    exception.resolved_at = runtime.clock.now()
    return exception
