"""Issue 5's worked example through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.integration.api.conftest import Api
from tests.integration.orders.conftest import worked_example_body


def setup_stock(api: Api) -> None:
    for code, priority in (("WH1", 1), ("WH2", 2)):
        body = {"name": code, "kind": "warehouse", "ships": True, "pickup": False, "priority": priority}
        assert api.put(f"/api/v1/locations/{code}", body).status_code == 200
    assert (
        api.put("/api/v1/delivery-methods/STANDARD", {"name": "Standard", "kind": "ship"}).status_code == 200
    )
    assert api.put("/api/v1/inventory/WH1/SKU-A", {"on_hand": 5}, role="integrator").status_code == 200
    assert api.put("/api/v1/inventory/WH2/SKU-B", {"on_hand": 4}, role="integrator").status_code == 200


def example_order(number: str = "EX-1", token: str = "tok_ok") -> dict[str, Any]:
    """The worked example's order, shipped with the STANDARD method that ``setup_stock`` creates."""
    return worked_example_body(number, token, delivery_method="STANDARD")


def place(api: Api, body: dict[str, Any], key: str = "k-1") -> dict[str, Any]:
    response = api.post("/api/v1/orders", body, role="integrator", **{"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def fulfillment_orders(api: Api, summary_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/fulfillment-orders?order_summary_id={summary_id}")
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_worked_example_capture_route_ship_invoice_capture(api: Api) -> None:
    setup_stock(api)
    created = place(api, example_order())
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert summary["totals"]["ordered"] == "51.98"
    assert summary["totals"]["shipping"] == "5.40"
    assert sorted(item["total"] for item in summary["items"]) == ["41.40", "5.18"]
    assert summary["totals"]["authorized"] == "51.98"

    fos = fulfillment_orders(api, created["id"])
    assert sorted(
        (fo["location"], [(line["sku"], line["quantity"]) for line in fo["lines"]]) for fo in fos
    ) == [
        ("WH1", [("SKU-A", 2)]),
        ("WH2", [("SKU-B", 1)]),
    ]
    by_location = {fo["location"]: fo for fo in fos}

    shipped = api.post(
        f"/api/v1/fulfillment-orders/{by_location['WH2']['id']}/ship",
        {"carrier": "UPS", "tracking_number": "1Z2"},
        role="agent",
    )
    assert shipped.status_code == 200, shipped.text
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert [invoice["total"] for invoice in summary["invoices"]] == ["10.58"]
    assert summary["totals"]["captured"] == "10.58"
    assert summary["status"] == "Partially Fulfilled"

    shipped = api.post(
        f"/api/v1/fulfillment-orders/{by_location['WH1']['id']}/ship",
        {"carrier": "UPS", "tracking_number": "1Z1"},
        role="agent",
    )
    assert shipped.status_code == 200, shipped.text
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert sorted(invoice["total"] for invoice in summary["invoices"]) == ["10.58", "41.40"]
    assert summary["totals"]["captured"] == "51.98"
    assert summary["totals"]["balance_due"] == "0.00"
    assert summary["status"] == "Fulfilled"

    availability = api.get("/api/v1/availability?sku=SKU-A").json()
    wh1 = next(loc for loc in availability["locations"] if loc["location"] == "WH1")
    assert (wh1["on_hand"], wh1["reserved"]) == (3, 0)


def test_same_idempotency_key_replays_and_other_body_is_422(api: Api) -> None:
    setup_stock(api)
    first = place(api, example_order(), key="same")
    again = place(api, example_order(), key="same")
    assert again == first
    other = api.post(
        "/api/v1/orders", example_order("EX-2"), role="integrator", **{"Idempotency-Key": "same"}
    )
    assert other.status_code == 422
    listing = api.get("/api/v1/order-summaries").json()
    assert len(listing["items"]) == 1


def test_missing_idempotency_key_is_400_and_duplicate_number_409(api: Api) -> None:
    setup_stock(api)
    assert api.post("/api/v1/orders", example_order(), role="integrator").status_code == 400
    place(api, example_order(), key="a")
    duplicate = api.post("/api/v1/orders", example_order(), role="integrator", **{"Idempotency-Key": "b"})
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"].startswith("application/problem+json")


def test_declined_payment_raises_payment_exception_and_no_fulfillment_order(api: Api) -> None:
    setup_stock(api)
    created = place(api, example_order(token="tok_decline"))
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert [e["category"] for e in summary["process_exceptions"]] == ["Payment"]
    assert summary["active_process_exception_count"] == 1
    assert fulfillment_orders(api, created["id"]) == []


def test_not_enough_stock_raises_stock_exception_and_reserves_nothing(api: Api) -> None:
    setup_stock(api)
    body = example_order()
    body["lines"][0]["quantity"] = 9
    created = place(api, body)
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert [e["category"] for e in summary["process_exceptions"]] == ["Stock"]
    for sku in ("SKU-A", "SKU-B"):
        locations = api.get(f"/api/v1/availability?sku={sku}").json()["locations"]
        assert all(loc["reserved"] == 0 for loc in locations)
    assert fulfillment_orders(api, created["id"]) == []


def test_order_over_threshold_waits_for_approval(api: Api) -> None:
    setup_stock(api)
    body = example_order()
    body["lines"][0]["unit_price"] = "3000.00"
    created = place(api, body)
    tasks = api.get("/api/v1/tasks?role=fulfillment_manager", role="manager").json()["items"]
    assert [t["order_summary_id"] for t in tasks] == [created["id"]]
    assert fulfillment_orders(api, created["id"]) == []
    assert (
        api.post(
            f"/api/v1/tasks/{tasks[0]['id']}/complete", {"outcome": "approved"}, role="agent"
        ).status_code
        == 403
    )
    done = api.post(f"/api/v1/tasks/{tasks[0]['id']}/complete", {"outcome": "approved"}, role="manager")
    assert done.status_code == 200, done.text
    assert len(fulfillment_orders(api, created["id"])) == 2


def test_rejected_order_reserves_nothing(api: Api) -> None:
    setup_stock(api)
    body = example_order()
    body["lines"][0]["unit_price"] = "3000.00"
    created = place(api, body)
    task = api.get("/api/v1/tasks?role=fulfillment_manager", role="manager").json()["items"][0]
    assert (
        api.post(f"/api/v1/tasks/{task['id']}/complete", {"outcome": "rejected"}, role="manager").status_code
        == 200
    )
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert summary["status"] == "Rejected"
    locations = api.get("/api/v1/availability?sku=SKU-A").json()["locations"]
    assert all(loc["reserved"] == 0 for loc in locations)


def test_shipping_more_than_a_recount_left_is_409_and_changes_nothing(api: Api) -> None:
    setup_stock(api)
    created = place(api, example_order("EX-R"))
    wh1 = next(fo for fo in fulfillment_orders(api, created["id"]) if fo["location"] == "WH1")
    # A recount finds one unit of SKU-A where two are reserved for this order.
    assert api.put("/api/v1/inventory/WH1/SKU-A", {"on_hand": 1}, role="integrator").status_code == 200
    before = api.get(f"/api/v1/order-summaries/{created['id']}").json()

    shipped = api.post(
        f"/api/v1/fulfillment-orders/{wh1['id']}/ship",
        {"carrier": "UPS", "tracking_number": "1Z9"},
        role="agent",
    )
    assert shipped.status_code == 409
    assert shipped.headers["content-type"].startswith("application/problem+json")
    assert "correct the stock count" in shipped.json()["detail"]
    assert api.get(f"/api/v1/order-summaries/{created['id']}").json() == before
    assert next(fo for fo in fulfillment_orders(api, created["id"]) if fo["id"] == wh1["id"]) == wh1
    locations = api.get("/api/v1/availability?sku=SKU-A").json()["locations"]
    assert [(loc["on_hand"], loc["reserved"]) for loc in locations if loc["location"] == "WH1"] == [(1, 2)]
