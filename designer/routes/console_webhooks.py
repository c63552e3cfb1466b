"""The webhooks page (admins): every endpoint with what became of its deliveries, the deliveries that
failed or are being retried, and a button to send a failed one again."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from designer.auth import AdminDep
from designer.console.web import now_of, refreshing
from designer.console.webhooks import webhook_overview
from designer.render import render
from engine.webhooks import DeliveryNotRetryable, retry_delivery

router = APIRouter(prefix="/ui/webhooks", tags=["ui"], include_in_schema=False)
TEMPLATE = "console/webhooks.html"


@router.get("")
def webhooks_page(request: Request, session: SessionDep, viewer: AdminDep) -> Response:
    return render(request, TEMPLATE, {**webhook_overview(session), "notice": None}, block="overview")


@router.post("/deliveries/{delivery_id}/retry")
def retry(request: Request, delivery_id: str, session: SessionDep, viewer: AdminDep) -> Response:
    status = 200
    try:
        retry_delivery(session, delivery_id, now_of(request))
        session.commit()
        notice = {"kind": "ok", "text": "The delivery goes out again with the worker's next round."}
    except LookupError:
        session.rollback()
        notice, status = {"kind": "error", "text": "That delivery no longer exists."}, 404
    except DeliveryNotRetryable as exc:
        session.rollback()
        notice, status = {"kind": "error", "text": f"Not possible now: {exc}."}, 409
    context = {**webhook_overview(session), "notice": notice}
    return refreshing(render(request, TEMPLATE, context, block="overview", status=status))
