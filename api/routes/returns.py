"""Return orders: the warehouse records what came back; the waiting return flows go on from there."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.bootstrap import commit_and_drive, publish_events
from api.deps import SessionDep, require_roles
from api.keys import Role
from api.problems import Problem
from engine.runtime import Runtime
from orders import returns
from orders.errors import Conflict, InvalidTransitionError, NotFound, QuantityError
from orders.models import ReturnOrder
from orders.views import return_order_view

router = APIRouter(prefix="/api/v1/return-orders", tags=["returns"])
UPDATERS = (Role.MANAGER, Role.AGENT, Role.INTEGRATOR)


class ReceivedLine(BaseModel):
    item_id: Annotated[str, Field(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(gt=0)]
    condition: Annotated[str, Field(max_length=64)] | None = None


class ReceiveIn(BaseModel):
    lines: Annotated[list[ReceivedLine], Field(min_length=1, max_length=500)]


@router.get("/{return_order_id}", dependencies=[Depends(require_roles(*UPDATERS))])
def read(return_order_id: str, session: SessionDep) -> dict[str, Any]:
    ro = session.get(ReturnOrder, return_order_id)
    if ro is None:
        raise Problem(404, "Not found", f"No return order {return_order_id}.")
    return return_order_view(ro)


@router.post("/{return_order_id}/receive", dependencies=[Depends(require_roles(*UPDATERS))])
def receive(return_order_id: str, body: ReceiveIn, request: Request, session: SessionDep) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    lines = [(line.item_id, line.quantity, line.condition) for line in body.lines]
    try:
        ro, events = returns.receive_return(session, return_order_id, lines, now=runtime.clock.now())
    except NotFound as exc:
        session.rollback()
        raise Problem(404, "Not found", str(exc)) from exc
    except (Conflict, QuantityError, InvalidTransitionError) as exc:
        session.rollback()
        raise Problem(409, "Cannot receive", str(exc)) from exc
    ro_id = ro.id
    run_ids = publish_events(session, runtime, events)
    commit_and_drive(session, runtime, run_ids)
    refreshed = session.get(ReturnOrder, ro_id)
    assert refreshed is not None
    session.refresh(refreshed)
    return return_order_view(refreshed)
