"""The built-in actions as the engine and the flow language see them."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from engine.catalog import build_catalog
from engine.flows import check
from engine.registry import ActionContext, ActionError, ActionRegistry
from engine.runtime import Runtime
from orders.actions import (
    CreateFulfillmentOrdersIn,
    EnsureFundsIn,
    NotifyIn,
    RouteOrderIn,
    notify_action,
    register_builtin_actions,
)

BUILTINS = {
    "route_order": "Stock",
    "ensure_funds": "Payment",
    "create_fulfillment_orders": "Fulfillment",
    "set_status": "Fulfillment",
    "create_invoice": "Invoicing",
    "capture_funds": "Payment",
    "release_funds": "Payment",
    "notify": "Fulfillment",
}


@pytest.fixture
def registry() -> ActionRegistry:
    registry = ActionRegistry()
    register_builtin_actions(registry)
    return registry


def test_every_builtin_is_registered_with_its_category(registry: ActionRegistry) -> None:
    assert {name: registry.actions[name].category for name in BUILTINS} == BUILTINS
    assert registry.actions["create_invoice"].record_kind == "invoice"
    register_builtin_actions(registry)  # a second call is harmless
    assert len([n for n in registry.actions if n in BUILTINS]) == len(BUILTINS)


def test_events_scopes_and_loaders_are_registered(registry: ActionRegistry) -> None:
    assert registry.events["order_summary.created"].payload_fields == frozenset({"summary"})
    assert registry.events["fulfillment_order.shipped"].payload_fields == frozenset({"fulfillment_order"})
    assert "return_order.received" in registry.events
    assert {"summary", "order"} <= set(registry.scopes)
    assert {"invoice", "fulfillment_order", "return_order", "credit_memo", "change"} <= set(
        registry.record_loaders
    )


def test_the_catalog_gives_flow_types(registry: ActionRegistry) -> None:
    catalog = build_catalog(registry)
    route = catalog.actions["route_order"]
    assert route.params["lines"].type == "item_quantities"
    assert not route.params["lines"].required
    assert catalog.actions["ensure_funds"].params["amount"].type == "money"
    assert catalog.actions["ensure_funds"].params["amount"].required


@pytest.mark.parametrize("name", ["fulfillment.flow", "invoice_and_capture.flow"])
def test_the_contract_flows_check_clean_against_the_builtins(
    registry: ActionRegistry, shared_dir: Path, name: str
) -> None:
    source = (shared_dir / "contract" / "flows" / name).read_text()
    result = check(source, Runtime(registry=registry))
    assert result.ok, result.errors


def test_inputs_are_validated_strictly() -> None:
    assert RouteOrderIn.model_validate({"strategy": "priority"}).lines is None
    with pytest.raises(ValueError):
        RouteOrderIn.model_validate({"strategy": "priority", "lines": [{"item_id": "x", "quantity": 0}]})
    with pytest.raises(ValueError):
        RouteOrderIn.model_validate({"strategy": "priority", "surprise": 1})
    assert EnsureFundsIn.model_validate({"amount": D("51.98")}).amount == D("51.98")
    assert CreateFulfillmentOrdersIn.model_validate({"allocations": []}).charge is True


def test_notify_writes_to_the_outbox_through_emit() -> None:
    ctx = ActionContext(
        session=None, subject_id="os_1", run_id="run_1", node_id="n", attempt=1, business_key="1"
    )
    out = notify_action(ctx, NotifyIn(template="order_shipped", to="ada@example.com"))
    assert out.queued
    assert ctx.events == [
        (
            "notification.requested",
            {"template": "order_shipped", "to": "ada@example.com", "order_summary_id": "os_1"},
        )
    ]


def test_actions_without_a_session_fail_cleanly() -> None:
    from orders.actions import route_order_action

    ctx = ActionContext(
        session=None, subject_id="os_1", run_id="run_1", node_id="n", attempt=1, business_key="1"
    )
    with pytest.raises(ActionError, match="database"):
        route_order_action(ctx, RouteOrderIn())
