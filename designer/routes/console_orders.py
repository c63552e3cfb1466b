"""Order search and the single order view, whose live part refreshes itself while it is open."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from api.deps import SessionDep
from designer.auth import ReaderDep
from designer.console.order_page import order_context
from designer.console.search import Filters, search
from designer.console.web import runtime_of
from designer.render import render, render_block
from orders.models import OrderStatus

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)
TEMPLATE = "console/order.html"


@router.get("/orders")
def orders_page(request: Request, session: SessionDep, viewer: ReaderDep) -> Response:
    filters = Filters.parse(request.query_params)
    page = search(session, filters)
    context = {"filters": filters, "page": page, "statuses": [s.value for s in OrderStatus]}
    return render(request, "console/orders.html", context, block="results")


def _live_context(request: Request, session: Session, summary_id: str) -> dict[str, object]:
    context = order_context(session, runtime_of(request), summary_id)
    values = {"request": request, "viewer": request.state.viewer, **context}
    # The live part is rendered first and fingerprinted: a poll that finds the same fingerprint gets
    # 204 and htmx swaps nothing, so focus, scroll and open <details> survive quiet periods.
    head = render_block(TEMPLATE, "live_head", values)
    body = render_block(TEMPLATE, "live_body", values)
    # Our own template's output, escaped as it was rendered: safe to place as is.
    context["live_head_html"], context["live_body_html"] = Markup(head), Markup(body)
    context["digest"] = hashlib.sha256((head + body).encode()).hexdigest()[:16]
    return context


@router.get("/orders/{summary_id}")
def order_page(request: Request, summary_id: str, session: SessionDep, viewer: ReaderDep) -> Response:
    return render(request, TEMPLATE, {**_live_context(request, session, summary_id), "oob": False})


@router.get("/orders/{summary_id}/live")
def order_live(request: Request, summary_id: str, session: SessionDep, viewer: ReaderDep) -> Response:
    context = _live_context(request, session, summary_id)
    if request.query_params.get("since") == context["digest"]:
        return Response(status_code=204)
    # The head is the polling element's own swap; the body rides along out of band.
    return render(request, TEMPLATE, {**context, "oob": True}, block="live")
