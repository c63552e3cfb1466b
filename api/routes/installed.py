"""What is installed: the actions flows can use (with the events they start on or wait for), and the
plugins that loaded or failed to."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from api.deps import require_roles
from api.installed import action_descriptions, event_descriptions, plugin_statuses
from api.keys import Role
from engine.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["installed"])
# Whoever writes or reads flows needs the actions; installing plugins is an admin's or integrator's.
ACTION_READERS = (Role.MANAGER, Role.AGENT, Role.INTEGRATOR)


@router.get("/flow-actions", dependencies=[Depends(require_roles(*ACTION_READERS))])
def flow_actions(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    return {"items": action_descriptions(runtime), "events": event_descriptions(runtime.registry)}


@router.get("/plugins", dependencies=[Depends(require_roles(Role.INTEGRATOR))])
def plugins(request: Request) -> dict[str, Any]:
    runtime: Runtime = request.app.state.runtime
    statuses = plugin_statuses(runtime.registry)
    return {
        "items": [status.as_json() for status in statuses],
        "failed": sum(1 for status in statuses if not status.loaded),
    }
