"""Webhook endpoints: where Ordo POSTs its events (``engine.webhooks``), and what became of each
delivery. An admin's or an integrator's."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, require_roles
from api.keys import Role
from api.problems import Problem
from engine.models.webhook import ALL_EVENTS, WebhookDelivery, WebhookEndpoint
from engine.runtime import Runtime
from engine.webhook_targets import TargetRefused, check_url
from engine.webhooks import DeliveryNotRetryable, fail_pending, retry_delivery

router = APIRouter(
    prefix="/api/v1", tags=["webhooks"], dependencies=[Depends(require_roles(Role.INTEGRATOR))]
)
MAX_LISTED = 100


class EndpointIn(BaseModel):
    url: Annotated[str, Field(min_length=1, max_length=2000)]
    events: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=120)]], Field(min_length=1, max_length=50)
    ]
    description: Annotated[str, Field(max_length=200)] = ""


def endpoint_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "active": endpoint.active,
        "created_at": endpoint.created_at.isoformat(),
        "disabled_at": endpoint.disabled_at.isoformat() if endpoint.disabled_at else None,
    }


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event_id": delivery.event_id,
        "event_name": delivery.event_name,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status": delivery.last_status,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at.isoformat() if delivery.next_attempt_at else None,
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        "created_at": delivery.created_at.isoformat(),
    }


def _field_problems(body: EndpointIn, known: set[str]) -> list[dict[str, str]]:
    problems = []
    try:
        check_url(body.url)
    except TargetRefused as exc:
        problems.append({"field": "url", "message": str(exc)})
    for index, name in enumerate(body.events):
        if name != ALL_EVENTS and name not in known:
            problems.append({"field": f"events.{index}", "message": f"unknown event {name!r}"})
    return problems


def _endpoint(session: Session, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise Problem(404, "Not found", f"no webhook endpoint {endpoint_id}")
    return endpoint


@router.post("/webhooks", status_code=201)
def create_endpoint(body: EndpointIn, request: Request, session: SessionDep) -> dict[str, Any]:
    """A new endpoint; its signing secret is in this answer and never again."""
    runtime: Runtime = request.app.state.runtime
    problems = _field_problems(body, set(runtime.registry.events))
    if problems:
        raise Problem(422, "Invalid request", "The request has invalid fields.", errors=problems)
    now = runtime.clock.now()
    endpoint = WebhookEndpoint(
        url=body.url,
        events=sorted(set(body.events)),
        secret=f"whsec_{secrets.token_urlsafe(32)}",
        description=body.description,
        active=True,
        created_at=now,
    )
    session.add(endpoint)
    session.commit()
    return {**endpoint_view(endpoint), "secret": endpoint.secret}


@router.get("/webhooks")
def list_endpoints(session: SessionDep) -> dict[str, Any]:
    found = session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))
    return {"items": [endpoint_view(endpoint) for endpoint in found]}


@router.get("/webhooks/{endpoint_id}")
def read_endpoint(endpoint_id: str, session: SessionDep) -> dict[str, Any]:
    return endpoint_view(_endpoint(session, endpoint_id))


@router.delete("/webhooks/{endpoint_id}", status_code=204)
def disable_endpoint(endpoint_id: str, request: Request, session: SessionDep) -> Response:
    """Stops deliveries to the endpoint (the pending ones fail at once); its history stays readable."""
    endpoint = _endpoint(session, endpoint_id)
    if endpoint.active:
        endpoint.active = False
        endpoint.disabled_at = request.app.state.runtime.clock.now()
        session.flush()
        fail_pending(session, endpoint_id)
        session.commit()
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries")
def list_deliveries(
    endpoint_id: str, session: SessionDep, status: Literal["pending", "delivered", "failed"] | None = None
) -> dict[str, Any]:
    """The endpoint's newest deliveries first (at most 100), optionally of one status."""
    _endpoint(session, endpoint_id)
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(MAX_LISTED)
    return {"items": [delivery_view(delivery) for delivery in session.scalars(query)]}


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry")
def retry(endpoint_id: str, delivery_id: str, request: Request, session: SessionDep) -> dict[str, Any]:
    """Send a failed delivery again now, with a fresh set of attempts."""
    _endpoint(session, endpoint_id)
    try:
        delivery = retry_delivery(
            session, delivery_id, request.app.state.runtime.clock.now(), endpoint_id=endpoint_id
        )
    except LookupError as exc:
        raise Problem(404, "Not found", f"no delivery {delivery_id} to this endpoint") from exc
    except DeliveryNotRetryable as exc:
        raise Problem(409, "Not possible", str(exc)) from exc
    session.commit()
    return delivery_view(delivery)
