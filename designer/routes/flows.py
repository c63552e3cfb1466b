"""The flows list, a flow's page (versions and recent runs), cloning and new drafts."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.installed import plugin_statuses
from designer.auth import AdminDep, ReaderDep
from designer.render import is_htmx, render
from designer.views import flow_rows, get_flow, order_numbers, recent_runs
from engine import flows as flow_service

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)


def go(request: Request, url: str) -> Response:
    """Navigate: HTMX follows HX-Redirect, a plain form post follows a 303."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _flows_context(request: Request, session: Session, clone_error: dict[str, str] | None) -> dict[str, Any]:
    registry = request.app.state.runtime.registry
    failures = sum(1 for plugin in plugin_statuses(registry) if not plugin.loaded)
    return {"rows": flow_rows(session), "clone_error": clone_error, "plugin_failures": failures}


@router.get("/flows")
def flows_list(request: Request, session: SessionDep, viewer: ReaderDep) -> Response:
    return render(request, "flows.html", _flows_context(request, session, None))


@router.post("/flows/{flow_id}/clone")
def clone(
    request: Request,
    flow_id: str,
    session: SessionDep,
    viewer: AdminDep,
    new_id: Annotated[str, Form(max_length=100)],
    title: Annotated[str, Form(max_length=200)],
) -> Response:
    try:
        flow = flow_service.clone(session, flow_id, new_id.strip(), title.strip() or new_id.strip())
    except flow_service.FlowError as exc:
        session.rollback()
        error = {"flow": flow_id, "message": f"Could not clone {flow_id}: {exc}."}
        return render(request, "flows.html", _flows_context(request, session, error), status=409)
    session.commit()
    return go(request, f"/ui/flows/{flow.id}/versions/1/edit")


@router.get("/flows/{flow_id}")
def flow_page(request: Request, flow_id: str, session: SessionDep, viewer: ReaderDep) -> Response:
    flow = get_flow(session, flow_id)
    runs = recent_runs(session, flow_id)
    context = {
        "flow": flow,
        "versions": list(reversed(flow_service.versions(session, flow_id))),
        "runs": runs,
        "numbers": order_numbers(session, [r.subject_id for r in runs]),
        "notice": request.query_params.get("notice"),
    }
    return render(request, "flow.html", context, block="runs")


@router.post("/flows/{flow_id}/versions")
def new_draft(request: Request, flow_id: str, session: SessionDep, viewer: AdminDep) -> Response:
    get_flow(session, flow_id)
    try:
        version = flow_service.new_draft(session, flow_id)
    except flow_service.FlowError as exc:
        session.rollback()
        return go(request, f"/ui/flows/{flow_id}?notice={quote(str(exc))}")
    session.commit()
    return go(request, f"/ui/flows/{flow_id}/versions/{version.number}/edit")
