"""Issue 5, acceptance 1 at the service level: capture, route, authorize, ship twice, invoice, capture."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from engine.db import Database
from orders.billing import create_invoice
from orders.errors import Conflict
from orders.fulfillment import cancel_fulfillment_order, create_fulfillment_orders, ship
from orders.intake import OrderInput, capture_order
from orders.models import FulfillmentOrder, Invoice, OrderSummary, Payment, Reservation
from orders.payments import capture_invoice, ensure_funds
from orders.routing import route_order
from orders.setup import availability
from orders.views import summary_view
from tests.integration.orders.conftest import NOW, capture, worked_example_body


def _stock(db: Database, sku: str, location: str) -> dict[str, int]:
    with db.session_factory() as session:
        rows = availability(session, sku)["locations"]
    return next(row for row in rows if row["location"] == location)


def test_worked_example_end_to_end(world: Database) -> None:
    db = world
    with db.session_factory() as session:
        summary, events = capture_order(session, OrderInput.model_validate(worked_example_body()), now=NOW)
        session.commit()
        sid = summary.id
        assert [e.name for e in events] == ["order_summary.created"]
        assert events[0].subject_id == sid
        view = summary_view(session, summary)
        assert view["totals"]["ordered"] == "51.98"
        assert [i["total"] for i in view["items"]] == ["41.40", "5.18"]
        assert view["totals"]["shipping"] == "5.40"
        assert view["status"] == "Created"

    with db.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        routing = route_order(session, summary, strategy="fewest_splits")
        assert routing.unallocated_quantity == 0
        by_location = {a["location"]: a for a in routing.allocations}
        assert set(by_location) == {"WH1", "WH2"}
        assert [(ln["sku"], ln["quantity"]) for ln in by_location["WH1"]["lines"]] == [("SKU-A", 2)]
        assert [(ln["sku"], ln["quantity"]) for ln in by_location["WH2"]["lines"]] == [("SKU-B", 1)]
        session.commit()

    with db.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        auth = ensure_funds(session, summary, summary.balance_due, key="run1:ensure:1", at=NOW)
        assert auth is not None and auth.amount == D("51.98")
        # Covered now: a second call authorizes nothing more.
        assert ensure_funds(session, summary, summary.balance_due, key="run1:ensure:2", at=NOW) is None
        fos = create_fulfillment_orders(session, summary, routing.allocations)
        assert len(fos) == 2
        session.commit()
        view = summary_view(session, summary)
        assert view["totals"]["authorized"] == "51.98"
        assert view["status"] == "Waiting to Fulfill"
        fo_ids = {fo["location"]: fo["id"] for fo in view["fulfillment_orders"]}
        assert {fo["status"] for fo in view["fulfillment_orders"]} == {"Allocated"}

    assert _stock(db, "SKU-A", "WH1") == {
        "location": "WH1",
        "on_hand": 5,
        "reserved": 2,
        "safety_stock": 0,
        "available": 3,
    }

    totals_after: list[dict[str, str]] = []
    for location, expected in (("WH2", "10.58"), ("WH1", "41.40")):
        with db.session_factory() as session:
            fo, events = ship(
                session, fo_ids[location], carrier="UPS", tracking_number="1Z" + location, now=NOW
            )
            assert events[0].name == "fulfillment_order.shipped"
            assert events[0].payload["fulfillment_order"]["id"] == fo.id
            session.commit()
        with db.session_factory() as session:
            fo = session.get_one(FulfillmentOrder, fo_ids[location])
            invoice = create_invoice(session, fo)
            assert invoice.total == D(expected)
            session.commit()
            invoice_id = invoice.id
        with db.session_factory() as session:
            invoice = session.get_one(Invoice, invoice_id)
            payments = capture_invoice(session, invoice, key=f"run-{location}:capture:1", at=NOW).payments
            assert sum(p.amount for p in payments) == D(expected)
            session.commit()
            totals_after.append(summary_view(session, invoice.summary)["totals"])
            status = invoice.summary.status
        assert status == ("Partially Fulfilled" if location == "WH2" else "Fulfilled")

    assert totals_after[0]["captured"] == "10.58"
    assert totals_after[1]["captured"] == "51.98"
    assert totals_after[1]["invoiced"] == "51.98"
    assert totals_after[1]["balance_due"] == "0.00"
    assert totals_after[1]["authorized"] == "0.00"
    assert _stock(db, "SKU-A", "WH1") == {
        "location": "WH1",
        "on_hand": 3,
        "reserved": 0,
        "safety_stock": 0,
        "available": 3,
    }
    assert _stock(db, "SKU-B", "WH2")["on_hand"] == 3

    with db.session_factory() as session:
        # Invoicing and capturing again changes nothing: one invoice per shipment, no second charge.
        fo = session.get_one(FulfillmentOrder, fo_ids["WH1"])
        again = create_invoice(session, fo)
        assert again.id == invoice_id
        assert capture_invoice(session, again, key="another-key", at=NOW).payments == []
        assert session.scalar(select(func.count()).select_from(Invoice)) == 2
        assert session.scalar(select(func.count()).select_from(Payment)) == 2
        with pytest.raises(Conflict):
            ship(session, fo_ids["WH1"], carrier="UPS", tracking_number="again", now=NOW)
        view = summary_view(session, session.get_one(OrderSummary, sid))
        items = {i["sku"]: i for i in view["items"]}
        assert items["SKU-A"]["quantity_fulfilled"] == 2
        assert items["SKU-A"]["quantity_available_to_return"] == 2
        assert items["SKU-A"]["quantity_available_to_cancel"] == 0


def test_unmanaged_orders_raise_no_event(world: Database) -> None:
    with world.session_factory() as session:
        body = worked_example_body("U-1", lifecycle="unmanaged")
        summary, events = capture_order(session, OrderInput.model_validate(body), now=NOW)
        assert events == []
        assert summary.status == "Created"
        assert summary.ordered_total == D("51.98")


def test_cancel_fulfillment_order_releases_its_reservations(world: Database) -> None:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body())
        routing = route_order(session, summary, strategy="priority")
        fos = create_fulfillment_orders(session, summary, routing.allocations)
        session.commit()
        wh1 = next(fo for fo in fos if fo.location.code == "WH1")
        cancel_fulfillment_order(session, wh1.id, reason="warehouse closed")
        session.commit()
        assert wh1.status.value == "Canceled"
        item_a = next(i for i in summary.items if i.sku == "SKU-A")
        assert item_a.quantity_allocated == 0
        assert item_a.quantity_available_to_fulfill == 2
        levels = {row["location"]: row for row in availability(session, "SKU-A")["locations"]}
        assert levels["WH1"]["reserved"] == 0
        held = session.scalars(select(Reservation).where(Reservation.fulfillment_order_id == wh1.id)).all()
        assert [r.status.value for r in held] == ["released"]
