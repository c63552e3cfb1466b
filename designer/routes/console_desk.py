"""The fulfillment desk: one location's open fulfillment orders; picked, packed, shipped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.deps import SessionDep
from api.ordering import ship_fulfillment_order
from designer.auth import ReaderDep
from designer.console.dashboard import OPEN_FULFILLMENT
from designer.console.web import int_param, now_of, refreshing, runtime_of
from designer.render import render
from orders import desk
from orders.errors import DomainError
from orders.models import FulfillmentOrder, FulfillmentStatus, Location
from orders.models.fulfillment import TRANSITIONS

router = APIRouter(prefix="/ui/desk", tags=["ui"], include_in_schema=False)
TEMPLATE = "console/desk.html"
LIMIT = 200


def desk_context(request: Request, session: Session) -> dict[str, Any]:
    code = request.query_params.get("location", "")
    stuck_hours = int_param(request, "stuck_hours", 0, 0, 24 * 90)
    locations = session.scalars(select(Location).order_by(Location.priority, Location.code)).all()
    location = next((loc for loc in locations if loc.code == code), None)
    query = (
        select(FulfillmentOrder)
        .where(FulfillmentOrder.status.in_(OPEN_FULFILLMENT))
        .options(selectinload(FulfillmentOrder.lines), selectinload(FulfillmentOrder.summary))
        .order_by(FulfillmentOrder.created_at, FulfillmentOrder.id)
        .limit(LIMIT)
    )
    if location is not None:
        query = query.where(FulfillmentOrder.location_id == location.id)
    if stuck_hours:
        query = query.where(FulfillmentOrder.updated_at < now_of(request) - timedelta(hours=stuck_hours))
    fos = session.scalars(query).all() if (location is not None or stuck_hours) else []
    return {
        "locations": locations,
        "location": location,
        "stuck_hours": stuck_hours,
        "fos": fos,
        "can": lambda fo, status: FulfillmentStatus(status) in TRANSITIONS[fo.status],
        "query": request.url.query,
        "notice": None,
    }


@router.get("")
def desk_page(request: Request, session: SessionDep, viewer: ReaderDep) -> Response:
    return render(request, TEMPLATE, desk_context(request, session), block="desk")


def _act(request: Request, session: Session, call: Callable[[], object], done: str) -> Response:
    status = 200
    try:
        call()
        session.commit()
        notice = {"kind": "ok", "text": done}
    except DomainError as exc:
        session.rollback()
        notice, status = {"kind": "error", "text": f"Not possible: {exc}."}, 409
    context = {**desk_context(request, session), "notice": notice}
    return refreshing(render(request, TEMPLATE, context, block="desk", status=status))


@router.post("/fulfillment-orders/{fo_id}/picked")
def picked(request: Request, fo_id: str, session: SessionDep, viewer: ReaderDep) -> Response:
    return _act(request, session, lambda: desk.mark_picked(session, fo_id), f"{fo_id} picked.")


@router.post("/fulfillment-orders/{fo_id}/packed")
def packed(request: Request, fo_id: str, session: SessionDep, viewer: ReaderDep) -> Response:
    return _act(request, session, lambda: desk.mark_packed(session, fo_id), f"{fo_id} packed.")


@router.post("/fulfillment-orders/{fo_id}/ship")
def ship(
    request: Request,
    fo_id: str,
    session: SessionDep,
    viewer: ReaderDep,
    carrier: Annotated[str, Form(min_length=1, max_length=100)],
    tracking_number: Annotated[str, Form(min_length=1, max_length=100)],
) -> Response:
    runtime = runtime_of(request)

    def call() -> None:
        # Publishes fulfillment_order.shipped and drives the invoice-and-capture flow, as the API does.
        ship_fulfillment_order(
            session, runtime, fo_id, carrier=carrier.strip(), tracking_number=tracking_number.strip()
        )

    return _act(request, session, call, f"{fo_id} shipped with {carrier.strip()} {tracking_number.strip()}.")
