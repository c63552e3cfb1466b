"""orders.writes: the order actions' writes past the ORM's flush give the same rows and the same guarantees."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

import orders.actions
import orders.billing
import orders.fulfillment
import orders.intake
import orders.payments
import orders.routing
from api.bootstrap import commit_and_drive, prepare_database
from engine.db import Base, Database
from engine.registry import ActionRegistry
from engine.runtime import Runtime
from engine.triggers import publish
from orders.actions import register_builtin_actions
from orders.errors import ImmutableRecordError
from orders.fulfillment import ship
from orders.models import FulfillmentOrder, Location, Order, OrderSummary
from orders.writes import write_pending
from tests.integration.orders.conftest import NOW, capture, capture_order_with_events, worked_example_body

# The tables an order's first half writes rows into (inventory levels are updated in place).
DOMAIN_TABLES = (
    "orders",
    "order_items",
    "order_summaries",
    "order_item_summaries",
    "reservations",
    "fulfillment_orders",
    "fulfillment_order_lines",
    "payment_authorizations",
    "payments",
    "invoices",
    "invoice_lines",
)
# What differs between two equal orders: ids, references, numbers, times.
VOLATILE = (
    "id",
    "order_number",
    "idempotency_key",
    "created_at",
    "updated_at",
    "fulfilled_at",
    "expires_at",
    "reference",
)

MODULES_WITH_WRITES = (
    orders.actions,
    orders.billing,
    orders.fulfillment,
    orders.intake,
    orders.payments,
    orders.routing,
)


def _snapshot(session: Session) -> Counter[tuple[str, tuple[Any, ...]]]:
    rows: Counter[tuple[str, tuple[Any, ...]]] = Counter()
    for name in DOMAIN_TABLES:
        table = Base.metadata.tables[name]
        kept = [c for c in table.c if not any(c.name.endswith(v) for v in VOLATILE)]
        for row in session.execute(select(*kept)):
            rows[(name, tuple(row))] += 1
    return rows


def _lifecycle(db: Database, runtime: Runtime, number: str) -> None:
    """The worked example through the starter flows: capture, route, authorize, ship both, invoice, capture."""
    with db.session_factory() as session:
        _, events = capture_order_with_events(session, worked_example_body(number))
        run_ids = [
            run_id
            for e in events
            for run_id in publish(session, e.name, e.payload, e.subject_id, runtime=runtime)
        ]
        commit_and_drive(session, runtime, run_ids)
    with db.session_factory() as session:
        fo_ids = session.scalars(
            select(FulfillmentOrder.id)
            .join(OrderSummary, OrderSummary.id == FulfillmentOrder.order_summary_id)
            .join(Location, Location.id == FulfillmentOrder.location_id)
            .where(OrderSummary.order_number == number)
            .order_by(Location.code)
        ).all()
    for fo_id in fo_ids:
        with db.session_factory() as session:
            _, events = ship(session, fo_id, carrier="UPS", tracking_number="1Z", now=NOW)
            run_ids = [
                run_id
                for e in events
                for run_id in publish(session, e.name, e.payload, e.subject_id, runtime=runtime)
            ]
            commit_and_drive(session, runtime, run_ids)


@pytest.fixture
def runtime() -> Runtime:
    registry = ActionRegistry()
    register_builtin_actions(registry)
    return Runtime(registry=registry)


@pytest.fixture
def started(world: Database, runtime: Runtime) -> Iterator[Database]:
    prepare_database(world, runtime, migrate=False)
    yield world


def test_an_orders_lifecycle_writes_the_same_rows_as_through_the_orms_flush(
    started: Database, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = started
    _lifecycle(db, runtime, "W-1")
    with db.session_factory() as session:
        fast = _snapshot(session)
    for module in MODULES_WITH_WRITES:
        monkeypatch.setattr(module, "write_pending", lambda session: session.flush())
    _lifecycle(db, runtime, "W-2")
    with db.session_factory() as session:
        both = _snapshot(session)
    through_orm = both - fast
    assert sum(fast.values()) == 20  # every table of the first half has its rows
    assert {name for name, _ in fast} == set(DOMAIN_TABLES)
    assert through_orm == fast
    with db.session_factory() as session:
        summaries = session.scalars(select(OrderSummary).order_by(OrderSummary.order_number)).all()
        assert [(s.status, s.captured_total, s.balance_due) for s in summaries] == [
            ("Fulfilled", D("51.98"), D("0.00")),
            ("Fulfilled", D("51.98"), D("0.00")),
        ]


def test_written_records_are_clean_and_a_later_flush_sends_nothing(world: Database) -> None:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    with world.session_factory() as session:
        summary = capture(session, worked_example_body("W-3"))
        assert not session.new and not session.dirty
        event.listen(world.engine, "before_cursor_execute", seen)
        try:
            session.flush()
        finally:
            event.remove(world.engine, "before_cursor_execute", seen)
        assert statements == []
        session.commit()
        # Keys were copied along the relationships, so the lines point at their order and summary.
        assert {item.order_id for item in summary.order.items} == {summary.order_id}
        assert {item.order_summary_id for item in summary.items} == {summary.id}


def test_a_stale_version_is_refused_and_nothing_is_written(world: Database) -> None:
    with world.session_factory() as session:
        summary_id = capture(session, worked_example_body("W-4")).id
        session.commit()
    with world.session_factory() as first, world.session_factory() as second:
        mine = first.get_one(OrderSummary, summary_id)
        theirs = second.get_one(OrderSummary, summary_id)
        theirs.status = "On Hold"
        write_pending(second)
        second.commit()
        mine.status = "Canceled"
        with pytest.raises(StaleDataError):
            write_pending(first)
        first.rollback()
    with world.session_factory() as session:
        stored = session.get_one(OrderSummary, summary_id)
        assert (stored.status, stored.version) == ("On Hold", 2)


def test_a_savepoint_rolled_back_takes_the_written_records_with_it(world: Database) -> None:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body("W-5"))
        session.commit()
        savepoint = session.begin_nested()
        summary.status = "On Hold"
        location = Location(code="NEW", name="New", kind="store", ships=False, pickup=True, priority=9)
        session.add(location)
        write_pending(session)
        assert summary.version == 2
        savepoint.rollback()
        assert location not in session
        assert (summary.status, summary.version) == ("Created", 1)
        session.commit()
        assert session.scalar(select(func.count()).select_from(Location).where(Location.code == "NEW")) == 0


def test_history_stays_guarded_and_deletes_go_through_the_orm(world: Database) -> None:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body("W-6"))
        session.commit()
        order = session.get_one(Order, summary.order_id)
        order.channel = "phone"
        with pytest.raises(ImmutableRecordError):
            write_pending(session)
        session.rollback()
        store = Location(code="GONE", name="Gone", kind="store", ships=False, pickup=False, priority=9)
        session.add(store)
        session.commit()
        session.delete(store)
        write_pending(session)
        session.commit()
        assert session.scalar(select(func.count()).select_from(Location).where(Location.code == "GONE")) == 0
