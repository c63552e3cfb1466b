"""The UI's routers, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from designer.routes import editor, flows, inspect, runs, session, simulate, versions

ROUTERS: tuple[APIRouter, ...] = (
    session.router,
    flows.router,
    editor.router,
    inspect.router,
    versions.router,
    simulate.router,
    runs.router,
)
