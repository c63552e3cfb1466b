"""Simulate a version against a real order without committing: the path, each step, the changes."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import DatabaseDep, SessionDep
from designer.auth import AdminDep
from designer.render import render
from designer.routes.runs import pretty
from designer.views import check_text, get_flow, get_version, path_marks
from engine import flows as flow_service
from engine.runtime import Runtime
from engine.simulate import simulate

router = APIRouter(prefix="/ui/flows/{flow_id}/versions/{number}", tags=["ui"], include_in_schema=False)


def _context(request: Request, session: Any, flow_id: str, number: int) -> dict[str, Any]:
    return {
        "flow": get_flow(session, flow_id),
        "version": get_version(session, flow_id, number),
        "base": f"/ui/flows/{flow_id}/versions/{number}",
        "orders": [],
        "q": "",
        "result": None,
        "error": None,
        "order": None,
        "pretty": pretty,
    }


@router.get("/simulate")
def simulate_page(
    request: Request, flow_id: str, number: int, session: SessionDep, viewer: AdminDep
) -> Response:
    context = _context(request, session, flow_id, number)
    runtime: Runtime = request.app.state.runtime
    context["checked"] = check_text(runtime, context["version"].source, flow_id)
    return render(request, "simulate.html", context)


@router.get("/simulate/orders")
def search_orders(
    request: Request, flow_id: str, number: int, session: SessionDep, viewer: AdminDep, q: str = ""
) -> Response:
    from orders.models import OrderSummary

    context = _context(request, session, flow_id, number)
    query = select(OrderSummary).order_by(OrderSummary.created_at.desc()).limit(20)
    if q.strip():
        # Escape LIKE's wildcards so a typed % or _ means itself.
        pattern = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(OrderSummary.order_number.ilike(f"%{pattern}%", escape="\\"))
    context.update(orders=list(session.scalars(query)), q=q)
    return render(request, "simulate.html", context, block="orders")


@router.post("/simulate")
def run_simulation(
    request: Request,
    flow_id: str,
    number: int,
    session: SessionDep,
    database: DatabaseDep,
    viewer: AdminDep,
    order_summary_id: Annotated[str, Form(max_length=64)],
    inputs: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    from orders.models import OrderSummary

    context = _context(request, session, flow_id, number)
    runtime: Runtime = request.app.state.runtime
    context["order"] = session.get(OrderSummary, order_summary_id)
    try:
        values = json.loads(inputs) if inputs.strip() else None
        if values is not None and not isinstance(values, dict):
            raise ValueError("inputs must be a JSON object")
        result = simulate(database, flow_id, number, order_summary_id, values, runtime=runtime)
    except (ValueError, flow_service.FlowError, LookupError) as exc:
        context["error"] = f"Could not simulate: {exc}"
        context["checked"] = check_text(runtime, context["version"].source, flow_id)
        return render(request, "simulate.html", context, block="result", status=422)
    except Exception as exc:  # the flow's own failure is a result to show, not a crash of the page
        context["error"] = f"The simulation stopped: {type(exc).__name__}: {exc}"
        context["checked"] = check_text(runtime, context["version"].source, flow_id)
        return render(request, "simulate.html", context, block="result", status=422)
    failed = [s["node"] for s in result["steps"] if s.get("status") == "failed"]
    marks, edges = path_marks(result["path"], failed)
    context["checked"] = check_text(
        runtime, context["version"].source, flow_id, marks=marks, path_edges=edges
    )
    context["result"] = result
    return render(request, "simulate.html", context, block="result")
