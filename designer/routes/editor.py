"""A version's page: read-only for every reader, the editor for admins (live check, save, activate)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.routes.flows import MAX_SOURCE, diagnostic_json
from designer.auth import AdminDep, ReaderDep, Viewer
from designer.render import render
from designer.routes.flows import go
from designer.views import check_text, get_flow, get_version
from engine import flows as flow_service
from engine.models import FlowVersion
from engine.models.flow import DRAFT
from engine.runtime import Runtime

router = APIRouter(prefix="/ui/flows/{flow_id}/versions/{number}", tags=["ui"], include_in_schema=False)

SourceField = Annotated[str, Form(max_length=MAX_SOURCE)]
# Browsers send textarea text with CRLF line ends; the stored text keeps the LF it was written with.
EtagField = Annotated[str, Form(max_length=200)]


def normalise(source: str) -> str:
    return source.replace("\r\n", "\n")


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def base_url(flow_id: str, number: int) -> str:
    return f"/ui/flows/{flow_id}/versions/{number}"


def editable(session: Session, version: FlowVersion) -> bool:
    return version.status == DRAFT and not get_flow(session, version.flow_id).starter


def _page(
    request: Request, session: Session, viewer: Viewer, flow_id: str, number: int, *, edit: bool
) -> Response:
    flow = get_flow(session, flow_id)
    version = get_version(session, flow_id, number)
    can_edit = edit and editable(session, version)
    context: dict[str, Any] = {
        "flow": flow,
        "version": version,
        "editable": can_edit,
        "checked": check_text(runtime_of(request), version.source, flow_id),
        "notice": None,
        "base": base_url(flow_id, number),
    }
    if edit and not can_edit:
        why = "a starter flow (clone it)" if flow.starter else f"{version.status}, not a draft"
        context["notice"] = f"Version {number} is {why}; it cannot be edited."
    return render(request, "version.html", context)


@router.get("")
def view_version(
    request: Request, flow_id: str, number: int, session: SessionDep, viewer: ReaderDep
) -> Response:
    return _page(request, session, viewer, flow_id, number, edit=False)


@router.get("/edit")
def edit_version(
    request: Request, flow_id: str, number: int, session: SessionDep, viewer: AdminDep
) -> Response:
    return _page(request, session, viewer, flow_id, number, edit=True)


@router.post("/check")
def check(request: Request, flow_id: str, number: int, viewer: AdminDep, source: SourceField) -> Response:
    # No database work: the live check must stay fast as the admin types (see benchmarks/designer_check.py).
    checked = check_text(runtime_of(request), normalise(source), flow_id)
    return render(request, "version.html", {"checked": checked}, block="check_response")


def _status(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    flow_id, number = request.path_params["flow_id"], request.path_params["number"]
    values = {"saved": None, "conflict": None, "message": None, "refused": None, **context}
    values["base"] = base_url(flow_id, int(number))
    return render(request, "version.html", values, block="save_status", status=status)


def _save(
    request: Request, session: Session, flow_id: str, number: int, source: str, etag: str
) -> FlowVersion | Response:
    """Saves the draft if the text changed; a Response when refused (stale ETag, not a draft)."""
    version = get_version(session, flow_id, number)
    if version.source == source and version.etag == etag.strip():
        return version
    try:
        return flow_service.edit_draft(session, flow_id, number, source, if_match=etag)
    except flow_service.StaleVersion:
        session.rollback()
        newer = get_version(session, flow_id, number)
        # 409: the editor keeps the user's text; the newer text is shown beside it to compare.
        return _status(request, {"conflict": newer}, status=409)
    except flow_service.FlowError as exc:
        session.rollback()
        return _status(request, {"message": f"Not saved: {exc}."}, status=409)


@router.post("/save")
def save(
    request: Request,
    flow_id: str,
    number: int,
    session: SessionDep,
    viewer: AdminDep,
    source: SourceField,
    etag: EtagField,
) -> Response:
    outcome = _save(request, session, flow_id, number, normalise(source), etag)
    if isinstance(outcome, Response):
        return outcome
    session.commit()
    return _status(request, {"saved": outcome})


@router.post("/activate")
def activate(
    request: Request,
    flow_id: str,
    number: int,
    session: SessionDep,
    viewer: AdminDep,
    source: SourceField,
    etag: EtagField,
) -> Response:
    outcome = _save(request, session, flow_id, number, normalise(source), etag)
    if isinstance(outcome, Response):
        return outcome
    try:
        flow_service.activate(session, flow_id, number, runtime=runtime_of(request))
    except flow_service.ActivationRefused as exc:
        # The save stands (the text is the admin's work); only the activation is refused.
        session.commit()
        refused = [diagnostic_json(d) for d in exc.diagnostics]
        return _status(request, {"refused": refused, "saved": outcome}, status=422)
    except flow_service.FlowError as exc:
        session.rollback()
        return _status(request, {"message": f"Not activated: {exc}."}, status=409)
    session.commit()
    return go(request, f"/ui/flows/{flow_id}?notice={quote(f'Version {number} is now active.')}")
