"""The exceptions queue: filter, assign or reassign, retry the failed step, resolve with a note."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.deps import SessionDep
from designer.auth import ReaderDep
from designer.console.exceptions import QueueFilters, queue
from designer.console.web import ManagerDep, refreshing, runtime_of
from designer.render import render
from engine import service
from engine.models import ProcessException

router = APIRouter(prefix="/ui/exceptions", tags=["ui"], include_in_schema=False)
TEMPLATE = "console/exceptions.html"


@router.get("")
def exceptions_page(request: Request, session: SessionDep, viewer: ReaderDep) -> Response:
    context = {**queue(session, QueueFilters.parse(request.query_params)), "notice": None}
    return render(request, TEMPLATE, context, block="queue")


def _act(request: Request, session: SessionDep, call: Callable[[], ProcessException], done: str) -> Response:
    """Runs one of the engine's exception operations and answers with the refreshed queue."""
    status = 200
    try:
        call()
        session.commit()
        notice = {"kind": "ok", "text": done}
    except LookupError:
        session.rollback()
        notice, status = {"kind": "error", "text": "That exception no longer exists."}, 404
    except service.EngineError as exc:
        session.rollback()
        notice, status = {"kind": "error", "text": f"Not possible now: {exc}."}, 409
    # The filters ride along as the form's query string, so the list comes back as it was shown.
    context = {**queue(session, QueueFilters.parse(request.query_params)), "notice": notice}
    return refreshing(render(request, TEMPLATE, context, block="queue", status=status))


@router.post("/{exception_id}/assign")
def assign(
    request: Request,
    exception_id: str,
    session: SessionDep,
    viewer: ManagerDep,
    assignee: Annotated[str, Form(min_length=1, max_length=120)],
) -> Response:
    who = assignee.strip()
    return _act(
        request, session, lambda: service.assign_exception(session, exception_id, who), f"Assigned to {who}."
    )


@router.post("/{exception_id}/retry")
def retry(request: Request, exception_id: str, session: SessionDep, viewer: ManagerDep) -> Response:
    runtime = runtime_of(request)
    return _act(
        request,
        session,
        lambda: service.retry_exception(session, exception_id, runtime=runtime),
        "The failed step ran again.",
    )


@router.post("/{exception_id}/resolve")
def resolve(
    request: Request,
    exception_id: str,
    session: SessionDep,
    viewer: ManagerDep,
    note: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    runtime = runtime_of(request)
    return _act(
        request,
        session,
        lambda: service.resolve_exception(session, exception_id, note.strip(), runtime=runtime),
        "Resolved.",
    )
