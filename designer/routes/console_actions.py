"""Service actions on the order view: a form from the flow's declared inputs, the run's result in place."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.routes.summaries import available_actions
from api.summaries import summary_json
from designer.auth import ReaderDep
from designer.console.forms import Field, build_fields, read_inputs
from designer.console.order_page import load
from designer.console.web import refreshing, runtime_of
from designer.render import render
from engine import codec
from engine.driver import ServiceActionRefused
from engine.inputs import InputError
from engine.models import FlowRun
from engine.triggers import UnknownServiceAction, start_service_action

router = APIRouter(prefix="/ui/orders/{summary_id}/actions", tags=["ui"], include_in_schema=False)
TEMPLATE = "console/action.html"


def _action(request: Request, session: Session, summary_id: str, name: str) -> tuple[Any, list[Field]]:
    """The action as the API lists it now and its form fields; None when it is not possible now."""
    summary = load(session, summary_id)
    actions = available_actions(session, runtime_of(request), summary)
    action = next((a for a in actions if a["action"] == name), None)
    if action is None:
        return None, []
    items = summary_json(session, summary)["items"]
    return action, build_fields(action, items)


def _unavailable(request: Request, summary_id: str, name: str) -> Response:
    context = {
        "summary_id": summary_id,
        "name": name,
        "error": f"'{name}' is not possible on this order now.",
    }
    return refreshing(render(request, TEMPLATE, context, block="outcome", status=409))


@router.get("/{name}/close")
def close_panel(summary_id: str, name: str, viewer: ReaderDep) -> Response:
    return Response("", media_type="text/html")


@router.get("/{name}")
def action_form(
    request: Request, summary_id: str, name: str, session: SessionDep, viewer: ReaderDep
) -> Response:
    action, fields = _action(request, session, summary_id, name)
    if action is None:
        return _unavailable(request, summary_id, name)
    context = {"summary_id": summary_id, "action": action, "fields": fields, "values": {}, "errors": {}}
    return render(request, TEMPLATE, context, block="form")


@router.post("/{name}")
async def run_action(
    request: Request, summary_id: str, name: str, session: SessionDep, viewer: ReaderDep
) -> Response:
    action, fields = _action(request, session, summary_id, name)
    if action is None:
        return _unavailable(request, summary_id, name)
    form = await request.form()
    inputs = read_inputs(fields, form)
    context: dict[str, Any] = {
        "summary_id": summary_id, "action": action, "fields": fields, "values": form, "errors": {}
    }  # fmt: skip
    try:
        started = start_service_action(session, summary_id, name, inputs, runtime=runtime_of(request))
    except UnknownServiceAction:
        session.rollback()
        return _unavailable(request, summary_id, name)
    except InputError as exc:
        session.rollback()
        context["errors"] = {e["field"]: e["message"] for e in exc.errors}
        context["error"] = "Some inputs need fixing."
        return render(request, TEMPLATE, context, block="form", status=422)
    except ServiceActionRefused as exc:
        session.rollback()
        context["error"] = str(exc)
        return refreshing(render(request, TEMPLATE, context, block="form", status=409))
    outcome = {
        "summary_id": summary_id,
        "name": name,
        "label": action["label"],
        "run_id": started.run_id,
        "status": started.status,
        "outputs": codec.jsonable(started.outputs),
        "error": run.error if (run := session.get(FlowRun, started.run_id)) is not None else None,
    }
    return refreshing(render(request, TEMPLATE, outcome, block="outcome"))
