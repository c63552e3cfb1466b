"""What flow expressions read: the live ``summary`` and ``order`` scopes and the record loaders."""

from __future__ import annotations

from decimal import Decimal as D

from engine.db import Database
from engine.registry import ActionRegistry, ScopeRequest
from orders.actions import register_builtin_actions
from orders.billing import create_invoice
from orders.fulfillment import create_fulfillment_orders, ship
from orders.routing import route_order
from tests.integration.orders.conftest import NOW, capture, worked_example_body


def test_summary_scope_is_live_with_totals_on_it(world: Database) -> None:
    registry = ActionRegistry()
    register_builtin_actions(registry)
    with world.session_factory() as session:
        summary = capture(session, worked_example_body())
        scope = registry.scopes["summary"](ScopeRequest(session, summary.id))
        assert scope is not None
        assert scope["grand_total"] == D("51.98")
        assert scope["balance_due"] == D("51.98")
        assert scope["totals"]["ordered"] == D("51.98")
        assert scope["customer"]["email"] == "ada@example.com"
        assert scope["lifecycle"] == "managed"
        assert "items" in set(scope)
        assert registry.scopes["summary"](ScopeRequest(session, "os_missing")) is None

        summary.status = "Rejected"
        assert scope["status"] == "Rejected"  # read live, not a snapshot

        order = registry.scopes["order"](ScopeRequest(session, summary.id))
        assert order is not None
        assert order["lines"][0]["unit_price"] == D("19.99")
        assert order["adjustments"] == D("-2.00")


def test_record_loaders_read_current_state_with_decimal_money(world: Database) -> None:
    registry = ActionRegistry()
    register_builtin_actions(registry)
    with world.session_factory() as session:
        summary = capture(session, worked_example_body())
        routing = route_order(session, summary, strategy="fewest_splits")
        fos = create_fulfillment_orders(session, summary, routing.allocations)
        wh2 = next(fo for fo in fos if fo.location.code == "WH2")
        loaded = registry.record_loaders["fulfillment_order"](session, wh2.id)
        assert loaded is not None and loaded["status"] == "Allocated"
        ship(session, wh2.id, carrier="UPS", tracking_number="1Z", now=NOW)
        shipped = registry.record_loaders["fulfillment_order"](session, wh2.id)
        assert shipped is not None and shipped["status"] == "Fulfilled"
        invoice = create_invoice(session, wh2)
        loaded_invoice = registry.record_loaders["invoice"](session, invoice.id)
        assert loaded_invoice is not None and loaded_invoice["total"] == D("10.58")
        assert registry.record_loaders["invoice"](session, "invc_missing") is None
