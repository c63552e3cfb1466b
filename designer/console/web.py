"""What the console's routes share: role guards, the runtime and its clock, small response helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from api.keys import Role
from designer.auth import Viewer, require
from engine.runtime import Runtime

# Managers (and admins) triage fallout, as in the API's /process-exceptions routes.
ManagerDep = Annotated[Viewer, Depends(require(Role.ADMIN, Role.MANAGER))]
# An event the order view, the counters and the lists listen for to refresh themselves at once.
REFRESH_EVENT = "console:refresh"


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def now_of(request: Request) -> datetime:
    return runtime_of(request).clock.now()


def refreshing(response: Response) -> Response:
    """Tells every self-refreshing part of the page that something changed."""
    response.headers["HX-Trigger"] = REFRESH_EVENT
    return response


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(request.query_params.get(name, default))
    except ValueError:
        return default
    return max(lo, min(hi, value))
