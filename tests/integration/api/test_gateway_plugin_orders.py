"""Orders paid through a payment gateway that a plugin brings (the example plugin's), end to end through
the API: its authorization, its captures at shipment, its void after a cancel, its decline."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from ordo_example_plugin.gateway import ExampleGateway

from orders import gateway
from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import item_id, run_ok, ship_open, summary
from tests.integration.api.test_worked_example import example_order, fulfillment_orders, place, setup_stock


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ExampleGateway:
    """A fresh example gateway under its plugin name, so its ledger holds this test's calls alone."""
    fresh = ExampleGateway()
    monkeypatch.setattr(gateway, "_gateways", {**gateway._gateways, "example": fresh})
    return fresh


def _paid_with(token: str, number: str = "PG-1") -> dict[str, Any]:
    body = example_order(number)
    body["payment"] = {"gateway": "example", "token": token}
    return body


def _held(example: ExampleGateway, kind: str) -> list[D]:
    return sorted(
        hold.left for reference, hold in example.holds.items() if reference.startswith(f"ex_{kind}_")
    )


def test_an_order_is_authorized_and_captured_at_the_plugin_gateway(api: Api, example: ExampleGateway) -> None:
    setup_stock(api)
    sid = place(api, _paid_with("card_ok"))["id"]
    assert summary(api, sid)["totals"]["authorized"] == "51.98"
    assert _held(example, "auth") == [D("51.98")]

    assert ship_open(api, sid) == 2
    view = summary(api, sid)
    assert (view["status"], view["totals"]["captured"], view["totals"]["balance_due"]) == (
        "Fulfilled",
        "51.98",
        "0.00",
    )
    # The authorization gave all it held to two captures: each shipment's invoice, exactly.
    assert _held(example, "auth") == [D("0.00")]
    assert _held(example, "capture") == sorted(D(invoice["total"]) for invoice in view["invoices"])
    assert sum(_held(example, "capture")) == D("51.98")


def test_a_cancel_voids_the_authorization_at_the_plugin_gateway(api: Api, example: ExampleGateway) -> None:
    setup_stock(api)
    sid = place(api, _paid_with("card_ok"))["id"]
    view = summary(api, sid)
    lines = [{"item_id": item_id(view, sku), "quantity": n} for sku, n in (("SKU-A", 2), ("SKU-B", 1))]
    assert run_ok(api, sid, "cancel", {"lines": lines})["status"] == "completed"
    assert summary(api, sid)["totals"]["authorized"] == "0.00"
    (auth,) = (hold for reference, hold in example.holds.items() if reference.startswith("ex_auth_"))
    assert (auth.open, auth.left) == (False, D(0))


def test_a_decline_at_the_plugin_gateway_is_a_payment_exception(api: Api, example: ExampleGateway) -> None:
    setup_stock(api)
    sid = place(api, _paid_with("card_insufficient"))["id"]
    view = summary(api, sid)
    assert [e["category"] for e in view["process_exceptions"]] == ["Payment"]
    assert fulfillment_orders(api, sid) == []
    assert example.holds == {}


def test_an_order_naming_a_gateway_nobody_installed_is_refused(api: Api) -> None:
    body = example_order()
    body["payment"] = {"gateway": "acme", "token": "card_ok"}
    response = api.post("/api/v1/orders", body, role="integrator", **{"Idempotency-Key": "no-acme"})
    assert response.status_code == 422
    assert any(error["field"] == "payment.gateway" for error in response.json()["errors"])
