"""The contract's fulfillment and invoice-and-capture flows, run by the engine on the built-in actions."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.db import Database
from engine.flows import create_flow
from engine.models import FlowRun, OutboxEvent, ProcessException
from engine.registry import ActionRegistry
from engine.runtime import Runtime
from engine.service import drive_runs
from engine.triggers import publish
from engine.worker import run_due_work
from orders.actions import register_builtin_actions
from orders.events import DomainEvent
from orders.fulfillment import ship
from orders.gateway import calls_for
from orders.models import FulfillmentOrder, GatewayCall, OrderSummary, Reservation
from orders.setup import availability
from orders.views import summary_view
from tests.integration.orders.conftest import NOW, capture_order_with_events, worked_example_body


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def runtime(clock: ManualClock) -> Runtime:
    registry = ActionRegistry()
    register_builtin_actions(registry)
    return Runtime(registry=registry, clock=clock, max_steps=200)


@pytest.fixture
def flows(world: Database, runtime: Runtime, shared_dir: Path) -> Iterator[Database]:
    with world.session_factory() as session:
        for name in ("fulfillment.flow", "invoice_and_capture.flow"):
            source = (shared_dir / "contract" / "flows" / name).read_text()
            create_flow(session, source, activate_now=True, runtime=runtime)
        session.commit()
    yield world


def _publish(db: Database, runtime: Runtime, events: list[DomainEvent]) -> None:
    with db.session_factory() as session:
        run_ids: list[str] = []
        for event in events:
            run_ids += publish(session, event.name, event.payload, event.subject_id, runtime=runtime)
        session.commit()
        drive_runs(session, run_ids, runtime=runtime)


def _place(db: Database, runtime: Runtime, number: str, token: str = "tok_ok", **changes: object) -> str:
    with db.session_factory() as session:
        summary_id, events = capture_order_with_events(session, worked_example_body(number, token, **changes))
        session.commit()
    _publish(db, runtime, events)
    return summary_id


def _view(db: Database, summary_id: str) -> dict[str, Any]:
    with db.session_factory() as session:
        return summary_view(session, session.get_one(OrderSummary, summary_id))


def _exceptions(db: Database, summary_id: str) -> list[tuple[str, str]]:
    with db.session_factory() as session:
        rows = session.scalars(select(ProcessException).where(ProcessException.subject_id == summary_id))
        return [(pe.category, pe.message) for pe in rows]


def _ship(db: Database, runtime: Runtime, fo_id: str) -> None:
    with db.session_factory() as session:
        _, events = ship(session, fo_id, carrier="UPS", tracking_number="1Z", now=NOW)
        session.commit()
    _publish(db, runtime, events)


def test_the_worked_example_through_the_contract_flows(flows: Database, runtime: Runtime) -> None:
    db = flows
    sid = _place(db, runtime, "F-1")
    view = _view(db, sid)
    assert _exceptions(db, sid) == []
    totals = view["totals"]
    assert isinstance(totals, dict)
    assert (totals["ordered"], totals["authorized"]) == ("51.98", "51.98")
    assert view["status"] == "Waiting to Fulfill"
    fos = view["fulfillment_orders"]
    assert isinstance(fos, list)
    by_location = {fo["location"]: fo for fo in fos}
    assert [(ln["sku"], ln["quantity"]) for ln in by_location["WH1"]["lines"]] == [("SKU-A", 2)]
    assert [(ln["sku"], ln["quantity"]) for ln in by_location["WH2"]["lines"]] == [("SKU-B", 1)]

    _ship(db, runtime, by_location["WH2"]["id"])
    view = _view(db, sid)
    assert view["invoices"] == [{"id": view["invoices"][0]["id"], "total": "10.58"}]
    assert view["totals"]["captured"] == "10.58"
    assert view["status"] == "Partially Fulfilled"

    _ship(db, runtime, by_location["WH1"]["id"])
    view = _view(db, sid)
    assert [inv["total"] for inv in view["invoices"]] == ["10.58", "41.40"]
    assert view["totals"]["captured"] == "51.98"
    assert view["totals"]["balance_due"] == "0.00"
    assert view["status"] == "Fulfilled"
    with db.session_factory() as session:
        wh1 = next(row for row in availability(session, "SKU-A")["locations"] if row["location"] == "WH1")
        assert (wh1["on_hand"], wh1["reserved"]) == (3, 0)
        notes = session.scalars(select(OutboxEvent).where(OutboxEvent.name == "notification.requested")).all()
        assert len(notes) == 2
        assert notes[0].payload["to"] == "ada@example.com"
        assert notes[0].payload["template"] == "order_shipped"
        runs = session.scalars(select(FlowRun.status)).all()
        assert sorted(runs) == ["completed"] * 3


def test_not_enough_stock_raises_a_stock_exception_and_reserves_nothing(
    flows: Database, runtime: Runtime
) -> None:
    body_lines = worked_example_body()["lines"]
    body_lines[0]["quantity"] = 9
    sid = _place(flows, runtime, "F-2", lines=body_lines)
    [(category, message)] = _exceptions(flows, sid)
    assert category == "Stock"
    assert "4 units" in message
    with flows.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Reservation)) == 0
        assert session.scalar(select(func.count()).select_from(FulfillmentOrder)) == 0
        assert session.scalar(select(func.coalesce(func.sum(GatewayCall.calls), 0))) == 0


def test_a_declined_card_raises_a_payment_exception_and_makes_no_fulfillment_order(
    flows: Database, runtime: Runtime
) -> None:
    sid = _place(flows, runtime, "F-3", token="tok_decline")
    # A decline is final: no retries are spent on it, the error edge is taken at once.
    [(category, message)] = _exceptions(flows, sid)
    assert category == "Payment"
    assert "declined" in message
    with flows.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(FulfillmentOrder)) == 0
        assert session.scalars(select(GatewayCall.calls)).all() == [1]


def test_a_flaky_gateway_completes_with_one_effective_authorization(
    flows: Database, runtime: Runtime, clock: ManualClock
) -> None:
    sid = _place(flows, runtime, "F-4", token="tok_flaky")
    assert _view(flows, sid)["totals"]["authorized"] == "0.00"
    clock.advance(60)
    assert run_due_work(flows, clock, "w1", runtime=runtime) == 1
    view = _view(flows, sid)
    assert view["totals"]["authorized"] == "51.98"
    assert len(view["fulfillment_orders"]) == 2
    with flows.session_factory() as session:
        calls = session.scalars(select(GatewayCall).where(GatewayCall.operation == "authorize")).all()
        assert [(c.calls, c.outcome) for c in calls] == [(2, "approved")]
        assert len(calls_for(session, calls[0].idempotency_key)) == 1
        summary = session.get_one(OrderSummary, sid)
        assert [a.amount for a in summary.authorizations] == [D("51.98")]


def test_a_failing_capture_raises_a_payment_exception_after_the_invoice(
    flows: Database, runtime: Runtime
) -> None:
    sid = _place(flows, runtime, "F-5", token="tok_capture_fail")
    fos = _view(flows, sid)["fulfillment_orders"]
    assert isinstance(fos, list) and len(fos) == 2
    _ship(flows, runtime, fos[0]["id"])
    [(category, message)] = _exceptions(flows, sid)
    assert category == "Payment"
    assert message.startswith("Capture of ")
    view = _view(flows, sid)
    assert len(view["invoices"]) == 1
    assert view["totals"]["captured"] == "0.00"


def test_a_capture_beyond_what_is_authorized_fails_at_once_without_retrying(
    flows: Database, runtime: Runtime
) -> None:
    sid = _place(flows, runtime, "F-6")
    with flows.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        [auth] = summary.authorizations
        auth.remaining = D("5.00")  # as if most of it had been drawn elsewhere
        summary.authorized_total = D("5.00")
        session.commit()
    wh2 = next(fo for fo in _view(flows, sid)["fulfillment_orders"] if fo["location"] == "WH2")
    _ship(flows, runtime, wh2["id"])  # its invoice is 10.58
    [(category, message)] = _exceptions(flows, sid)
    assert category == "Payment"
    assert "only 5.00 is authorized" in message
    with flows.session_factory() as session:
        run = session.scalars(select(FlowRun).where(FlowRun.flow_id == "invoice_and_capture")).one()
        # Failed on its first attempt: no retry was scheduled for what no retry can fix.
        assert run.status == "failed"
        assert (
            session.scalar(
                select(func.count()).select_from(GatewayCall).where(GatewayCall.operation == "capture")
            )
            == 0
        )
