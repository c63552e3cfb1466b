"""Orders in: ``POST /orders`` with an Idempotency-Key."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import idempotency
from api.deps import CallerDep, DatabaseDep, require_roles
from api.keys import Role
from api.ordering import place_order
from api.problems import Problem
from api.summaries import load_summary, summary_json
from engine.db import Database
from engine.runtime import Runtime
from orders.errors import Conflict, ValidationFailed
from orders.intake import OrderInput

router = APIRouter(prefix="/api/v1", tags=["orders"])
log = logging.getLogger(__name__)


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]} for error in exc.errors()
    ]


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"null")
    except ValueError as exc:
        raise Problem(400, "Malformed JSON", str(exc)) from exc


@router.post("/orders", status_code=201, dependencies=[Depends(require_roles(Role.INTEGRATOR))])
async def create_order(request: Request, caller: CallerDep, database: DatabaseDep) -> JSONResponse:
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        raise Problem(
            400, "Idempotency-Key required", "Send an Idempotency-Key header with every POST /orders."
        )
    if len(key) > 255:
        raise Problem(400, "Idempotency-Key too long", "An Idempotency-Key has at most 255 characters.")
    body = await _json_body(request)
    runtime: Runtime = request.app.state.runtime
    # The rest blocks on the database (and may wait for a concurrent twin), so it runs off the event loop.
    return await run_in_threadpool(_create_order, database, runtime, caller.id, key, body, request.url.path)


def _create_order(
    database: Database, runtime: Runtime, caller: str, key: str, body: Any, path: str
) -> JSONResponse:
    factory = database.session_factory
    digest = idempotency.request_hash(body)
    created = partial(_created, database)
    while True:
        stored = idempotency.replay_or_wait(factory, key=key, caller=caller, digest=digest, recover=created)
        if stored is not None:
            return _response(stored)
        try:
            data = OrderInput.model_validate(body)
        except ValidationError as exc:
            raise Problem(
                422, "Invalid order", "The order has invalid fields.", errors=_field_errors(exc)
            ) from exc
        token = idempotency.claim(factory, key=key, caller=caller, digest=digest, method="POST", path=path)
        if token is not None:
            break

    def note(session: Session, summary_id: str) -> None:
        idempotency.mark_resource(session, key=key, caller=caller, token=token, resource_id=summary_id)

    try:
        response = _capture(database, runtime, data, note)
    except ValidationFailed as exc:
        idempotency.release(factory, key=key, caller=caller, token=token)
        raise Problem(422, "Invalid order", str(exc), errors=exc.errors) from exc
    except Exception:
        # If the order was saved before the failure, it is the answer, now and for every repeat (its
        # flows go on from their last saved step); if not, the key is free again.
        settled = idempotency.settle(factory, key=key, caller=caller, token=token, recover=created)
        if settled is None:
            raise
        log.exception(
            "POST /orders (Idempotency-Key %r) failed after its order was saved; answering with it", key
        )
        return _response(settled)
    idempotency.store(factory, key=key, caller=caller, token=token, response=response)
    return _response(response)


def _response(stored: idempotency.StoredResponse) -> JSONResponse:
    media_type = "application/problem+json" if stored.status_code >= 400 else "application/json"
    return JSONResponse(stored.body, status_code=stored.status_code, media_type=media_type)


def _created(database: Database, summary_id: str) -> idempotency.StoredResponse:
    with database.session_factory() as session:
        return idempotency.StoredResponse(201, summary_json(session, load_summary(session, summary_id)))


def _capture(
    database: Database, runtime: Runtime, data: OrderInput, note: Callable[[Session, str], None]
) -> idempotency.StoredResponse:
    try:
        summary_id = place_order(database, runtime, data, on_captured=note)
    except Conflict as exc:
        body = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": str(exc)}
        return idempotency.StoredResponse(409, body)
    return _created(database, summary_id)
