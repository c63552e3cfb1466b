"""The UI's routers, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from designer.routes import (
    console_actions,
    console_dashboard,
    console_desk,
    console_exceptions,
    console_orders,
    console_tasks,
    console_webhooks,
    editor,
    flows,
    inspect,
    runs,
    session,
    simulate,
    steps,
    versions,
)

ROUTERS: tuple[APIRouter, ...] = (
    session.router,
    flows.router,
    steps.router,
    editor.router,
    inspect.router,
    versions.router,
    simulate.router,
    runs.router,
    console_dashboard.router,
    console_orders.router,
    console_actions.router,
    console_tasks.router,
    console_exceptions.router,
    console_desk.router,
    console_webhooks.router,
)
