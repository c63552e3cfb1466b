"""Order summaries: read one, search, history, and the service actions an agent can run now."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, require_roles
from api.keys import Role
from api.problems import Problem
from api.search import Filters, search_summaries
from api.summaries import brief, load_summary, summary_json
from engine import codec
from engine.driver import ServiceActionRefused
from engine.inputs import InputError
from engine.models import FlowDefinition, FlowRun, OutboxEvent, ProcessException, Task
from engine.records import active_version
from engine.runtime import Runtime
from engine.triggers import UnknownServiceAction, start_service_action
from orders import money
from orders.models import OrderChange, OrderSummary

READERS = (Role.MANAGER, Role.AGENT, Role.INTEGRATOR)
SERVICE = (Role.MANAGER, Role.AGENT)
router = APIRouter(prefix="/api/v1/order-summaries", tags=["order summaries"])


@router.get("", dependencies=[Depends(require_roles(*READERS))])
def search(
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    sku: Annotated[str | None, Query(max_length=64)] = None,
    has_exceptions: bool | None = None,
    created_from: Annotated[date | None, Query(alias="from")] = None,
    created_to: Annotated[date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, Any]:
    filters = Filters(
        q=(q or "").strip(),
        sku=(sku or "").strip(),
        status=status or "",
        date_from=created_from,
        date_to=created_to,
        has_exceptions="" if has_exceptions is None else ("yes" if has_exceptions else "no"),
        cursor=cursor or "",
    )
    page = search_summaries(session, filters, limit)
    return {"items": [brief(s) for s in page.summaries], "next_cursor": page.next_cursor}


@router.get("/{summary_id}", dependencies=[Depends(require_roles(*READERS))])
def read(summary_id: str, session: SessionDep) -> dict[str, Any]:
    return summary_json(session, load_summary(session, summary_id))


def history_events(session: Session, summary: OrderSummary) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "at": summary.created_at,
            "kind": "order.captured",
            "actor": summary.channel,
            "detail": "Order captured",
        }
    ]
    for event in session.scalars(select(OutboxEvent).where(OutboxEvent.subject_id == summary.id)):
        events.append({"at": event.created_at, "kind": event.name, "actor": "system", "detail": event.name})
    for change in session.scalars(select(OrderChange).where(OrderChange.order_summary_id == summary.id)):
        amount = money.quantize(change.amount, summary.currency)
        detail = f"{change.kind} of {amount:f} {summary.currency}" + (
            f": {change.reason}" if change.reason else ""
        )
        events.append(
            {
                "at": change.created_at,
                "kind": f"change.{change.kind}",
                "actor": change.actor or "system",
                "detail": detail,
            }
        )
    for run in session.scalars(select(FlowRun).where(FlowRun.subject_id == summary.id)):
        events.append(
            {
                "at": run.created_at,
                "kind": "flow.started",
                "actor": "engine",
                "detail": f"{run.flow_id} v{run.version_number} started",
            }
        )
        if run.status in ("completed", "failed", "canceled"):
            events.append(
                {
                    "at": run.updated_at,
                    "kind": f"flow.{run.status}",
                    "actor": "engine",
                    "detail": f"{run.flow_id} {run.status}" + (f": {run.error}" if run.error else ""),
                }
            )
    for task in session.scalars(select(Task).where(Task.subject_id == summary.id)):
        events.append(
            {"at": task.created_at, "kind": "task.created", "actor": "engine", "detail": task.prompt}
        )
        if task.completed_at is not None:
            events.append(
                {
                    "at": task.completed_at,
                    "kind": "task.completed",
                    "actor": task.completed_by or "unknown",
                    "detail": f"{task.prompt}: {task.outcome}",
                }
            )
    for exception in session.scalars(
        select(ProcessException).where(ProcessException.subject_id == summary.id)
    ):
        events.append(
            {
                "at": exception.created_at,
                "kind": "exception.raised",
                "actor": "engine",
                "detail": f"{exception.category}: {exception.message}",
            }
        )
    events.sort(key=lambda e: e["at"])
    return [{**e, "at": e["at"].isoformat()} for e in events]


@router.get("/{summary_id}/history", dependencies=[Depends(require_roles(*READERS))])
def history(summary_id: str, session: SessionDep) -> dict[str, Any]:
    return {"events": history_events(session, load_summary(session, summary_id))}


def available_actions(session: Session, runtime: Runtime, summary: OrderSummary) -> list[dict[str, Any]]:
    """The service flows that can run on ``summary`` now, with their declared inputs."""
    actions = []
    flows = session.scalars(
        select(FlowDefinition)
        .where(FlowDefinition.action_name.is_not(None), FlowDefinition.active_version.is_not(None))
        .order_by(FlowDefinition.action_name)
    ).all()
    for flow in flows:
        version = active_version(session, flow.id)
        if version is None or flow.action_name is None:
            continue
        guard = runtime.registry.service_guards.get(flow.action_name)
        if guard is not None and not guard(session, summary.id):
            continue
        graph = runtime.graphs(version.id, version.source)[flow.id]
        bounds_of = runtime.registry.service_bounds.get(flow.action_name)
        bounds = dict(bounds_of(session, summary.id)) if bounds_of is not None else {}
        actions.append(
            {
                "action": flow.action_name,
                "label": graph.action.label if graph.action else flow.title,
                "flow": flow.id,
                "version": version.number,
                "inputs": [
                    {
                        "name": decl.name,
                        "type": decl.type,
                        "required": not decl.has_default,
                        "default": codec.jsonable(decl.default) if decl.has_default else None,
                        "help": decl.help,
                        # By name first, then by type: a clone may call its item list anything.
                        "bounds": bounds.get(decl.name, bounds.get(decl.type)),
                    }
                    for decl in graph.inputs
                ],
            }
        )
    return actions


@router.get("/{summary_id}/actions", dependencies=[Depends(require_roles(*READERS))])
def actions(summary_id: str, request: Request, session: SessionDep) -> dict[str, Any]:
    summary = load_summary(session, summary_id)
    return {"items": available_actions(session, request.app.state.runtime, summary)}


@router.post("/{summary_id}/actions/{action}", dependencies=[Depends(require_roles(*SERVICE))])
def run_action(
    summary_id: str,
    action: str,
    request: Request,
    session: SessionDep,
    inputs: Annotated[dict[str, Any] | None, Body()] = None,
) -> dict[str, Any]:
    load_summary(session, summary_id)
    runtime: Runtime = request.app.state.runtime
    try:
        started = start_service_action(session, summary_id, action, inputs or {}, runtime=runtime)
    except UnknownServiceAction as exc:
        raise Problem(404, "Unknown action", f"No active service flow offers the action '{action}'.") from exc
    except InputError as exc:
        session.rollback()
        raise Problem(422, "Invalid inputs", str(exc), errors=exc.errors) from exc
    except ServiceActionRefused as exc:
        session.rollback()
        raise Problem(409, "Not allowed now", str(exc)) from exc
    return {"run_id": started.run_id, "status": started.status, "outputs": codec.jsonable(started.outputs)}
