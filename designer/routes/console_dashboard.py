"""The console's front page: action items with counts that link to their lists, and two charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep
from designer.auth import ReaderDep
from designer.console.dashboard import DEFAULT_STUCK_HOURS, dashboard
from designer.console.web import int_param, now_of
from designer.render import render

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)


@router.get("/dashboard")
def dashboard_page(request: Request, session: SessionDep, viewer: ReaderDep) -> Response:
    stuck_hours = int_param(request, "stuck_hours", DEFAULT_STUCK_HOURS, 1, 24 * 90)
    context = dashboard(session, now_of(request), stuck_hours)
    return render(request, "console/dashboard.html", context, block="items")
