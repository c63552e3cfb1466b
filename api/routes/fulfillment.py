"""Fulfillment orders: the warehouse's and the store's side."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.deps import SessionDep, require_roles
from api.keys import Role
from api.ordering import ship_fulfillment_order
from api.problems import Problem
from engine.runtime import Runtime
from orders.errors import Conflict, NotFound
from orders.models import FulfillmentOrder, Location
from orders.views import fulfillment_order_view

router = APIRouter(prefix="/api/v1/fulfillment-orders", tags=["fulfillment"])
UPDATERS = (Role.MANAGER, Role.AGENT, Role.INTEGRATOR)


class ShipIn(BaseModel):
    carrier: Annotated[str, Field(min_length=1, max_length=100)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=100)]


@router.get("", dependencies=[Depends(require_roles(*UPDATERS))])
def list_fulfillment_orders(
    session: SessionDep,
    order_summary_id: str | None = None,
    location: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    query = select(FulfillmentOrder).order_by(FulfillmentOrder.created_at, FulfillmentOrder.id)
    if order_summary_id:
        query = query.where(FulfillmentOrder.order_summary_id == order_summary_id)
    if location:
        query = query.join(Location, Location.id == FulfillmentOrder.location_id).where(
            Location.code == location
        )
    if status:
        query = query.where(FulfillmentOrder.status == status)
    return {"items": [fulfillment_order_view(fo) for fo in session.scalars(query.limit(500))]}


@router.post("/{fo_id}/ship", dependencies=[Depends(require_roles(*UPDATERS))])
def ship(fo_id: str, body: ShipIn, request: Request, session: SessionDep) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    try:
        ship_fulfillment_order(
            session, runtime, fo_id, carrier=body.carrier, tracking_number=body.tracking_number
        )
    except NotFound as exc:
        raise Problem(404, "Not found", str(exc)) from exc
    except Conflict as exc:
        raise Problem(409, "Cannot ship", str(exc)) from exc
    refreshed = session.get(FulfillmentOrder, fo_id)
    assert refreshed is not None
    session.refresh(refreshed)
    return fulfillment_order_view(refreshed)
