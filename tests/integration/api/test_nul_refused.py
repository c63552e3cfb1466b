"""A NUL character anywhere in a request is a 422 naming where it was, on both databases alike.

PostgreSQL's text cannot hold NUL (SQLite's can): before the guard these requests were a 500 on
PostgreSQL and stored the NUL on SQLite.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.api.conftest import Api
from tests.integration.api.test_order_validation_api import _row_counts
from tests.integration.api.test_worked_example import example_order, fulfillment_orders, place, setup_stock

# (label, method, path (``{fo}`` and ``{summary}`` filled in), JSON body, role, the field named)
CASES: list[tuple[str, str, str, Any, str, str]] = [
    ("ship body", "POST", "/api/v1/fulfillment-orders/{fo}/ship",
     {"carrier": "UPS", "tracking_number": "1Z\x00"}, "agent", "tracking_number"),
    ("path", "GET", "/api/v1/order-summaries/os_%00x", None, "admin", "path"),
    ("query", "GET", "/api/v1/order-summaries?q=a%00b", None, "admin", "query.q"),
    ("availability query", "GET", "/api/v1/availability?sku=SKU-A%00", None, "agent", "query.sku"),
    ("location body", "PUT", "/api/v1/locations/WH9",
     {"name": "x\x00", "kind": "warehouse", "ships": True, "pickup": False, "priority": 3}, "admin", "name"),
    ("location path", "PUT", "/api/v1/locations/WH%009",
     {"name": "x", "kind": "warehouse", "ships": True, "pickup": False, "priority": 3}, "admin", "path"),
    ("flow source", "POST", "/api/v1/flows/check", {"source": "flow x\x00"}, "admin", "source"),
    ("service action input", "POST", "/api/v1/order-summaries/{summary}/actions/cancel",
     {"reason": "changed\x00mind"}, "agent", "reason"),
    ("order line", "POST", "/api/v1/orders", "LINE", "integrator", "lines.0.sku"),
    ("a key", "PUT", "/api/v1/inventory/WH1/SKU-A", {"on_hand": 9, "no\x00te": "x"}, "integrator", "no\x00te"),
]  # fmt: skip


@pytest.fixture
def placed(api: Api) -> dict[str, str]:
    setup_stock(api)
    created = place(api, example_order())
    return {"summary": created["id"], "fo": fulfillment_orders(api, created["id"])[0]["id"]}


@pytest.mark.parametrize(
    ("label", "method", "path", "body", "role", "field"), CASES, ids=[c[0] for c in CASES]
)
def test_nul_is_422_naming_where_and_changes_nothing(
    api: Api, placed: dict[str, str], label: str, method: str, path: str, body: Any, role: str, field: str
) -> None:
    if body == "LINE":
        body = example_order("NUL-1")
        body["lines"][0]["sku"] = "SKU-A\x00"
    before = _row_counts(api)
    response = api.client.request(
        method,
        path.format(**placed),
        json=body,
        headers=api.headers(role, **{"Idempotency-Key": f"nul-{label}"}),
    )
    assert response.status_code == 422, (label, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert _row_counts(api) == before
    fo = api.get(f"/api/v1/fulfillment-orders?order_summary_id={placed['summary']}").json()["items"]
    assert all(item["status"] != "Fulfilled" for item in fo)


def test_a_form_field_with_nul_is_refused_too(api: Api, placed: dict[str, str]) -> None:
    before = _row_counts(api)
    response = api.client.post(
        f"/ui/desk/fulfillment-orders/{placed['fo']}/ship",
        content=b"carrier=UPS&tracking_number=1Z%00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "tracking_number", "message": "text must not contain the NUL character"}
    ]
    assert _row_counts(api) == before


def test_an_escaped_backslash_before_u0000_is_plain_text_and_kept(api: Api, placed: dict[str, str]) -> None:
    # The JSON text "1Z\\u0000" is the six characters 1Z\u0000 with no NUL among them.
    response = api.client.post(
        f"/api/v1/fulfillment-orders/{placed['fo']}/ship",
        content=b'{"carrier": "UPS", "tracking_number": "1Z\\\\u0000"}',
        headers=api.headers("agent", **{"Content-Type": "application/json"}),
    )
    assert response.status_code == 200, response.text
    assert response.json()["tracking_number"] == "1Z\\u0000"


def test_a_json_body_sent_without_a_content_type_is_checked_too(api: Api, placed: dict[str, str]) -> None:
    before = _row_counts(api)
    response = api.client.post(
        f"/api/v1/fulfillment-orders/{placed['fo']}/ship",
        content=b'{"carrier": "UPS", "tracking_number": "1Z\\u0000"}',
        headers=api.headers("agent"),
    )
    assert "content-type" not in {name.lower() for name in response.request.headers}
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == ["tracking_number"]
    assert _row_counts(api) == before
