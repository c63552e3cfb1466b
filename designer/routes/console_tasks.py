"""The tasks inbox: approvals and order tasks the viewer's role may complete, with a comment."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.routes.work import may_complete, task_view
from designer.auth import Forbidden, ReaderDep, Viewer
from designer.console.web import refreshing, runtime_of
from designer.errors import PageNotFound
from designer.render import render
from designer.views import order_numbers
from engine import service
from engine.models import Task
from engine.models.task import OPEN

router = APIRouter(prefix="/ui/tasks", tags=["ui"], include_in_schema=False)
LIMIT = 200


def inbox(session: Session, viewer: Viewer) -> dict[str, Any]:
    tasks = session.scalars(
        select(Task).where(Task.status == OPEN).order_by(Task.created_at).limit(LIMIT)
    ).all()
    mine = [t for t in tasks if may_complete(viewer.role, t.role)]
    # Tasks of roles the viewer cannot answer are counted, not listed: they are someone else's work.
    others: dict[str, int] = {}
    for task in tasks:
        if not may_complete(viewer.role, task.role):
            others[task.role] = others.get(task.role, 0) + 1
    return {
        "tasks": [task_view(t) | {"details": t.details or {}} for t in mine],
        "numbers": order_numbers(session, [t.subject_id for t in mine]),
        "others": others,
    }


@router.get("")
def tasks_page(request: Request, session: SessionDep, viewer: ReaderDep) -> Response:
    return render(request, "console/tasks.html", {**inbox(session, viewer), "notice": None}, block="inbox")


@router.post("/{task_id}/complete")
def complete(
    request: Request,
    task_id: str,
    session: SessionDep,
    viewer: ReaderDep,
    outcome: Annotated[str, Form(min_length=1, max_length=60)],
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    task = session.get(Task, task_id)
    if task is None:
        raise PageNotFound(f"There is no task {task_id}.")
    if not may_complete(viewer.role, task.role):
        raise Forbidden(f"The {viewer.role} role may not complete a '{task.role}' task.")
    if comment.strip():
        # The engine records the outcome; the comment rides on the task's free-form details.
        task.details = {**(task.details or {}), "comment": comment.strip(), "comment_by": viewer.name}
    notice: dict[str, str]
    try:
        done = service.complete_task(
            session, task_id, outcome, completed_by=viewer.name, runtime=runtime_of(request)
        )
    except service.EngineError as exc:
        session.rollback()
        notice = {"kind": "error", "text": f"Could not complete the task: {exc}."}
        status = 409
    else:
        notice = {"kind": "ok", "text": f"{done.prompt} — {done.outcome}."}
        status = 200
    context = {**inbox(session, viewer), "notice": notice}
    return refreshing(render(request, "console/tasks.html", context, block="inbox", status=status))
