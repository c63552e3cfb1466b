"""Work for people: tasks (approvals, order tasks) and process exceptions (fallout)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import CallerDep, SessionDep, require_roles
from api.keys import Role
from api.problems import Problem
from api.summaries import exception_view
from engine import service
from engine.models import ProcessException, Task
from engine.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["work"])
PEOPLE = (Role.MANAGER, Role.AGENT)
AGENT_FLOW_ROLES = frozenset({"fulfillment_agent", "store_associate"})
# Which flow roles (the ``ask role "..."`` of a flow) each API role may answer for.
MANAGER_FLOW_ROLES = frozenset({"fulfillment_manager"}) | AGENT_FLOW_ROLES


def may_complete(api_role: str, flow_role: str) -> bool:
    if api_role == Role.ADMIN:
        return True
    if api_role == Role.MANAGER:
        return flow_role in MANAGER_FLOW_ROLES or flow_role.endswith("_agent")
    if api_role == Role.AGENT:
        return flow_role in AGENT_FLOW_ROLES
    return False


def task_view(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "kind": task.kind,
        "role": task.role,
        "prompt": task.prompt,
        "outcomes": list(task.outcomes),
        "status": task.status,
        "outcome": task.outcome,
        "order_summary_id": task.subject_id,
        "run_id": task.run_id,
        "created_at": task.created_at.isoformat(),
        "completed_by": task.completed_by,
    }


class CompleteIn(BaseModel):
    outcome: Annotated[str, Field(min_length=1, max_length=60)]
    comment: Annotated[str | None, Field(max_length=2000)] = None


class AssignIn(BaseModel):
    assignee: Annotated[str, Field(min_length=1, max_length=120)]


class ResolveIn(BaseModel):
    note: Annotated[str, Field(min_length=1, max_length=2000)]


@router.get("/tasks", dependencies=[Depends(require_roles(*PEOPLE, Role.INTEGRATOR))])
def list_tasks(
    session: SessionDep, status: str = "open", role: str | None = None, order_summary_id: str | None = None
) -> dict[str, Any]:
    query = select(Task).order_by(Task.created_at)
    if status:
        query = query.where(Task.status == status)
    if role:
        query = query.where(Task.role == role)
    if order_summary_id:
        query = query.where(Task.subject_id == order_summary_id)
    return {"items": [task_view(t) for t in session.scalars(query.limit(500))]}


@router.post("/tasks/{task_id}/complete", dependencies=[Depends(require_roles(*PEOPLE))])
def complete_task(
    task_id: str, body: CompleteIn, request: Request, caller: CallerDep, session: SessionDep
) -> dict[str, Any]:
    task = session.get(Task, task_id)
    if task is None:
        raise Problem(404, "Not found", f"There is no task {task_id}.")
    if not may_complete(caller.role, task.role):
        raise Problem(403, "Forbidden", f"The role '{caller.role}' may not complete a '{task.role}' task.")
    runtime: Runtime = request.app.state.runtime
    try:
        done = service.complete_task(
            session, task_id, body.outcome, completed_by=caller.name, runtime=runtime
        )
    except service.EngineError as exc:
        raise Problem(409, "Cannot complete", str(exc)) from exc
    return task_view(done)


@router.get("/process-exceptions", dependencies=[Depends(require_roles(*PEOPLE, Role.INTEGRATOR))])
def list_exceptions(
    session: SessionDep,
    status: str | None = None,
    order_summary_id: str | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    query = select(ProcessException).order_by(ProcessException.created_at)
    if status:
        query = query.where(ProcessException.status == status)
    if order_summary_id:
        query = query.where(ProcessException.subject_id == order_summary_id)
    if category:
        query = query.where(ProcessException.category == category)
    return {"items": [exception_view(e) for e in session.scalars(query.limit(500))]}


def _exception_call(action: Any) -> dict[str, Any]:
    try:
        result: ProcessException = action()
    except LookupError as exc:
        raise Problem(404, "Not found", f"There is no process exception {exc}.") from exc
    except service.EngineError as exc:
        raise Problem(409, "Not possible now", str(exc)) from exc
    return exception_view(result)


@router.post("/process-exceptions/{exception_id}/assign", dependencies=[Depends(require_roles(Role.MANAGER))])
def assign(exception_id: str, body: AssignIn, session: SessionDep) -> dict[str, Any]:
    view = _exception_call(lambda: service.assign_exception(session, exception_id, body.assignee))
    session.commit()
    return view


@router.post("/process-exceptions/{exception_id}/retry", dependencies=[Depends(require_roles(Role.MANAGER))])
def retry(exception_id: str, request: Request, session: SessionDep) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    return _exception_call(lambda: service.retry_exception(session, exception_id, runtime=runtime))


@router.post(
    "/process-exceptions/{exception_id}/resolve", dependencies=[Depends(require_roles(Role.MANAGER))]
)
def resolve(exception_id: str, body: ResolveIn, request: Request, session: SessionDep) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    view = _exception_call(
        lambda: service.resolve_exception(session, exception_id, body.note, runtime=runtime)
    )
    session.commit()
    return view
