"""Wires the layers together: the built-in actions into the registry, the starter flows into the
database, and domain events into the engine's triggers."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sqlalchemy.orm import Session

import starter_flows
from engine import flows as flow_service
from engine.catalog import prepare, set_builtin_loader
from engine.clock import Clock
from engine.db import Database
from engine.registry import ActionRegistry
from engine.runtime import Runtime, set_default_runtime
from engine.service import drive_runs
from engine.triggers import publish
from migrations.runner import upgrade
from orders.actions import register_builtin_actions
from orders.events import DomainEvent
from orders.gateway_plugins import load_gateway_plugins

STARTER_FLOWS_DIR = Path(starter_flows.__file__).resolve().parent

set_builtin_loader(register_builtin_actions)


def build_runtime(*, clock: Clock | None = None, registry: ActionRegistry | None = None) -> Runtime:
    """A runtime whose registry holds the built-in actions and the installed plugins (payment gateways'
    included)."""
    load_gateway_plugins()
    runtime = Runtime(registry=registry or ActionRegistry())
    if clock is not None:
        runtime.clock = clock
    prepare(runtime.registry)
    set_default_runtime(runtime)
    return runtime


def prepare_database(database: Database, runtime: Runtime, *, migrate: bool = True) -> None:
    """Migrates (unless told not to) and loads the starter flows: what ``ordo serve`` does on start."""
    if migrate:
        upgrade(database.url)
    with database.uow() as uow:
        flow_service.load_starter_flows(uow.session, STARTER_FLOWS_DIR, runtime=runtime)
        uow.commit()


def publish_events(session: Session, runtime: Runtime, events: Iterable[DomainEvent]) -> list[str]:
    """Hands domain events to the engine in the caller's transaction; returns the runs to drive."""
    touched: list[str] = []
    for event in events:
        touched.extend(publish(session, event.name, event.payload, event.subject_id, runtime=runtime))
    return touched


def commit_and_drive(session: Session, runtime: Runtime, run_ids: list[str]) -> None:
    """Drives the runs the change's events started until each parks or ends, and commits the change:
    with the runs' first steps, or (no run, or none of its own) alone."""
    if run_ids:
        drive_runs(session, run_ids, runtime=runtime)
    session.commit()
