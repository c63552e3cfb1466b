"""A run's page: its path on the graph of the version it ran, and every step it took."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from api.deps import SessionDep
from designer.auth import ReaderDep
from designer.errors import PageNotFound
from designer.render import render
from designer.views import check_text, get_flow, order_numbers, path_marks
from engine.models import FlowRun, FlowStep, FlowVersion
from engine.runtime import Runtime

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)


def pretty(value: Any) -> str:
    """Outputs as indented JSON text; the template escapes it like any other user data."""
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def run_path(steps: list[FlowStep], current: str | None) -> list[str]:
    path: list[str] = []
    for step in steps:
        if not path or path[-1] != step.node_id:  # a retried step is one stop on the path
            path.append(step.node_id)
    if current and (not path or path[-1] != current):
        path.append(current)  # where a waiting run stands
    return path


@router.get("/runs/{run_id}")
def run_page(request: Request, run_id: str, session: SessionDep, viewer: ReaderDep) -> Response:
    run = session.get(FlowRun, run_id)
    if run is None:
        raise PageNotFound(f"There is no flow run {run_id}.")
    flow = get_flow(session, run.flow_id)
    version = session.get(FlowVersion, run.version_id)
    assert version is not None  # a run's version is a foreign key
    steps = list(session.scalars(select(FlowStep).where(FlowStep.run_id == run.id).order_by(FlowStep.seq)))
    path = run_path(steps, run.current_node if run.status in ("waiting", "running") else None)
    failed = [s.node_id for s in steps if s.status == "failed"] if run.status == "failed" else []
    marks, edges = path_marks(path, failed)
    runtime: Runtime = request.app.state.runtime
    checked = check_text(runtime, version.source, run.flow_id, marks=marks, path_edges=edges)
    context = {
        "run": run,
        "flow": flow,
        "version": version,
        "steps": steps,
        "path": path,
        "checked": checked,
        "order_number": order_numbers(session, [run.subject_id]).get(run.subject_id or ""),
        "pretty": pretty,
    }
    return render(request, "run.html", context, block="content")
