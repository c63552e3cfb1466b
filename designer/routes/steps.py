"""The steps page: every action a flow can ``do``, the events it can start on or wait for, and the
plugins that loaded or failed to (an admin's first stop when a flow says an action does not exist)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.installed import action_descriptions, event_descriptions, plugin_statuses
from designer.auth import ReaderDep
from designer.render import render
from engine.runtime import Runtime

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)


@router.get("/steps")
def steps_page(request: Request, viewer: ReaderDep) -> Response:
    runtime: Runtime = request.app.state.runtime
    plugins = plugin_statuses(runtime.registry)
    context = {
        "actions": action_descriptions(runtime),
        "events": event_descriptions(runtime.registry),
        "plugins": plugins,
        "failed": [p for p in plugins if not p.loaded],
    }
    return render(request, "steps.html", context)
