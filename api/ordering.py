"""Placing and shipping orders the way the API does, for the routes, the demo data and the benchmark."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from api.bootstrap import commit_and_drive, publish_events
from engine.db import Database
from engine.runtime import Runtime
from orders import fulfillment
from orders.intake import OrderInput, capture_order


def place_order(
    database: Database,
    runtime: Runtime,
    data: OrderInput,
    *,
    on_captured: Callable[[Session, str], None] | None = None,
) -> str:
    """Captures the order, publishes its events, drives the flows they start; returns the summary id.

    Raises the domain's ``ValidationFailed`` and ``Conflict`` with nothing written. The flows' driver
    commits as it goes, so any other error may come after the order was saved: ``on_captured`` is
    called with the session and the summary's id before that, to write its note in the same
    transaction.
    """
    with database.session_factory() as session:
        summary, events = capture_order(session, data, now=runtime.clock.now())
        session.flush()
        summary_id = summary.id
        if on_captured is not None:
            on_captured(session, summary_id)
        run_ids = publish_events(session, runtime, events)
        commit_and_drive(session, runtime, run_ids)
    return summary_id


def ship_fulfillment_order(
    session: Session, runtime: Runtime, fo_id: str, *, carrier: str, tracking_number: str
) -> None:
    """Ships, publishes ``fulfillment_order.shipped`` and drives the flows it starts."""
    _fo, events = fulfillment.ship(
        session, fo_id, carrier=carrier, tracking_number=tracking_number, now=runtime.clock.now()
    )
    run_ids = publish_events(session, runtime, events)
    commit_and_drive(session, runtime, run_ids)
