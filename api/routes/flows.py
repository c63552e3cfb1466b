"""Flows: definitions, versions, checking, graphs, simulation and runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

import dsl
from api.deps import DatabaseDep, SessionDep, require_roles
from api.keys import Role
from api.problems import Problem
from dsl.diagnostics import Diagnostic
from engine import codec
from engine import flows as flow_service
from engine.models import FlowDefinition, FlowRun, FlowStep
from engine.runtime import Runtime
from engine.simulate import simulate

router = APIRouter(prefix="/api/v1", tags=["flows"])
READERS = (Role.MANAGER, Role.AGENT, Role.INTEGRATOR)
MAX_SOURCE = 200_000


class SourceIn(BaseModel):
    source: Annotated[str, Field(max_length=MAX_SOURCE)]


class CloneIn(BaseModel):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    title: Annotated[str, Field(min_length=1, max_length=200)]


class SimulateIn(BaseModel):
    order_summary_id: Annotated[str, Field(min_length=1, max_length=64)]
    inputs: dict[str, Any] | None = None


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    return {
        "line": d.span.line,
        "column": d.span.column,
        "end_line": d.span.end_line,
        "end_column": d.span.end_column,
        "severity": str(d.severity),
        "code": d.code,
        "message": d.message,
    }


def check_json(runtime: Runtime, source: str) -> dict[str, Any]:
    result = flow_service.check(source, runtime)
    graph: dict[str, Any] = {"nodes": [], "edges": []}
    for fg in result.flows:
        exported = dsl.to_json(fg)
        graph["nodes"].extend(exported["nodes"])  # type: ignore[call-overload]
        graph["edges"].extend(exported["edges"])  # type: ignore[call-overload]
    return {"diagnostics": [diagnostic_json(d) for d in result.diagnostics], "graph": graph}


def flow_json(session: Session, flow: FlowDefinition) -> dict[str, Any]:
    return {
        "id": flow.id,
        "title": flow.title,
        "kind": flow.kind,
        "starter": flow.starter,
        "trigger": flow.trigger_event,
        "action": flow.action_name,
        "cloned_from": flow.cloned_from,
        "active_version": flow.active_version,
        "versions": [
            {"number": v.number, "status": v.status} for v in flow_service.versions(session, flow.id)
        ],
    }


def _flow_errors(action: Any) -> Any:
    try:
        return action()
    except flow_service.NotFound as exc:
        raise Problem(404, "Not found", str(exc)) from exc
    except flow_service.StaleVersion as exc:
        raise Problem(412, "Stale version", f"{exc}; reload it and apply your change again.") from exc
    except flow_service.ActivationRefused as exc:
        raise Problem(
            422,
            "The flow has errors",
            "Fix the errors before activating.",
            errors=[diagnostic_json(d) for d in exc.diagnostics],
        ) from exc
    except flow_service.FlowError as exc:
        raise Problem(409, "Not possible", str(exc)) from exc


@router.get("/flows", dependencies=[Depends(require_roles(*READERS))])
def list_flows(session: SessionDep) -> dict[str, Any]:
    return {"items": [flow_json(session, f) for f in flow_service.list_flows(session)]}


@router.post("/flows/check", dependencies=[Depends(require_roles(*READERS))])
def check(body: SourceIn, request: Request) -> dict[str, Any]:
    return check_json(request.app.state.runtime, body.source)


@router.post("/flows/{flow_id}/clone", status_code=201, dependencies=[Depends(require_roles())])
def clone(flow_id: str, body: CloneIn, session: SessionDep) -> dict[str, Any]:
    flow = _flow_errors(lambda: flow_service.clone(session, flow_id, body.id, body.title))
    session.commit()
    return flow_json(session, flow)


def version_json(runtime: Runtime, version: Any) -> dict[str, Any]:
    return {
        "flow": version.flow_id,
        "number": version.number,
        "status": version.status,
        "source": version.source,
        "diagnostics": check_json(runtime, version.source)["diagnostics"],
    }


@router.get("/flows/{flow_id}/versions/{number}", dependencies=[Depends(require_roles(*READERS))])
def read_version(flow_id: str, number: int, request: Request, session: SessionDep) -> JSONResponse:
    version = _flow_errors(lambda: flow_service.get_version(session, flow_id, number))
    body = version_json(request.app.state.runtime, version)
    return JSONResponse(body, headers={"ETag": version.etag})


@router.put("/flows/{flow_id}/versions/{number}", dependencies=[Depends(require_roles())])
def edit_version(
    flow_id: str,
    number: int,
    body: SourceIn,
    request: Request,
    session: SessionDep,
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    if not if_match:
        raise Problem(428, "If-Match required", "Send the version's ETag in If-Match to save it.")
    version = _flow_errors(
        lambda: flow_service.edit_draft(session, flow_id, number, body.source, if_match=if_match)
    )
    session.commit()
    return JSONResponse(version_json(request.app.state.runtime, version), headers={"ETag": version.etag})


@router.post("/flows/{flow_id}/versions", status_code=201, dependencies=[Depends(require_roles())])
def create_version(flow_id: str, request: Request, session: SessionDep) -> JSONResponse:
    version = _flow_errors(lambda: flow_service.new_draft(session, flow_id))
    session.commit()
    return JSONResponse(
        version_json(request.app.state.runtime, version), status_code=201, headers={"ETag": version.etag}
    )


@router.post("/flows/{flow_id}/versions/{number}/activate", dependencies=[Depends(require_roles())])
def activate(flow_id: str, number: int, request: Request, session: SessionDep) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    version = _flow_errors(lambda: flow_service.activate(session, flow_id, number, runtime=runtime))
    session.commit()
    return version_json(runtime, version)


@router.get("/flows/{flow_id}/versions/{number}/graph", dependencies=[Depends(require_roles(*READERS))])
def graph(flow_id: str, number: int, request: Request, session: SessionDep, format: str = "json") -> Response:
    runtime: Runtime = request.app.state.runtime
    version = _flow_errors(lambda: flow_service.get_version(session, flow_id, number))
    result = flow_service.check(version.source, runtime)
    fg = next((g for g in result.flows if g.id == flow_id), None)
    if fg is None:
        raise Problem(
            422,
            "The flow has errors",
            "The version does not compile.",
            errors=[diagnostic_json(d) for d in result.errors],
        )
    if format == "json":
        return JSONResponse(dsl.to_json(fg))
    if format == "svg":
        return Response(dsl.to_svg(fg), media_type="image/svg+xml")
    if format == "mermaid":
        return Response(dsl.to_mermaid(fg), media_type="text/plain")
    if format == "dot":
        return Response(dsl.to_dot(fg), media_type="text/vnd.graphviz")
    raise Problem(422, "Unknown format", "format is one of json, svg, mermaid, dot.")


@router.post("/flows/{flow_id}/versions/{number}/simulate", dependencies=[Depends(require_roles())])
def simulate_version(
    flow_id: str, number: int, body: SimulateIn, request: Request, database: DatabaseDep
) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    result: dict[str, Any] = _flow_errors(
        lambda: simulate(database, flow_id, number, body.order_summary_id, body.inputs, runtime=runtime)
    )
    return result


def step_json(step: FlowStep) -> dict[str, Any]:
    return {
        "node": step.node_id,
        "kind": step.kind,
        "status": step.status,
        "attempt": step.attempt,
        "started_at": step.started_at.isoformat(),
        "finished_at": step.finished_at.isoformat() if step.finished_at else None,
        # Plain JSON, as a simulation's steps give it: not the tagged form runs store (``{"$dec": ...}``).
        "output": codec.jsonable(codec.decode(step.outputs)),
        "error": step.error,
    }


def run_json(session: Session, run: FlowRun, *, steps: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": run.id,
        "flow": run.flow_id,
        "version": run.version_number,
        "status": run.status,
        "order_summary_id": run.subject_id,
        "current_node": run.current_node,
        "error": run.error,
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
    }
    if steps:
        rows = session.scalars(select(FlowStep).where(FlowStep.run_id == run.id).order_by(FlowStep.seq))
        body["steps"] = [step_json(s) for s in rows]
    return body


@router.get("/flow-runs", dependencies=[Depends(require_roles(*READERS))])
def list_runs(
    session: SessionDep, order_summary_id: str | None = None, flow: str | None = None
) -> dict[str, Any]:
    query = select(FlowRun).order_by(FlowRun.created_at.desc()).limit(200)
    if order_summary_id:
        query = query.where(FlowRun.subject_id == order_summary_id)
    if flow:
        query = query.where(FlowRun.flow_id == flow)
    return {"items": [run_json(session, r, steps=False) for r in session.scalars(query)]}


@router.get("/flow-runs/{run_id}", dependencies=[Depends(require_roles(*READERS))])
def read_run(run_id: str, session: SessionDep) -> dict[str, Any]:
    run = session.get(FlowRun, run_id)
    if run is None:
        raise Problem(404, "Not found", f"There is no flow run {run_id}.")
    return run_json(session, run, steps=True)
