"""Driving service actions, shipments and receipts through the HTTP API, for the service-flow tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import fulfillment_orders

# Starter flow id, the contract file that may take its place, and the contract flow's id.
CONTRACT_REPLACEMENTS = (
    ("cancel_units", "cancel.flow", "cancel_items"),
    ("return_units", "return.flow", "return_items"),
    ("reship_units", "reshipment.flow", "reship_items"),
    ("give_discount", "discount.flow", "apply_discount"),
)


def use_contract_flows(api: Api, shared_dir: Path) -> None:
    """Clone each starter service flow under the contract flow's id, put the contract text in the
    draft exactly as written, and activate it (which deactivates the starter)."""
    for starter_id, file_name, contract_id in CONTRACT_REPLACEMENTS:
        source = (shared_dir / "contract" / "flows" / file_name).read_text()
        cloned = api.post(f"/api/v1/flows/{starter_id}/clone", {"id": contract_id, "title": contract_id})
        assert cloned.status_code == 201, cloned.text
        draft = api.get(f"/api/v1/flows/{contract_id}/versions/1")
        put = api.put(
            f"/api/v1/flows/{contract_id}/versions/1",
            {"source": source},
            **{"If-Match": draft.headers["ETag"]},
        )
        assert put.status_code == 200, put.text
        activated = api.post(f"/api/v1/flows/{contract_id}/versions/1/activate")
        assert activated.status_code == 200, activated.text
    flows = {f["id"]: f for f in api.get("/api/v1/flows").json()["items"]}
    for starter_id, _, contract_id in CONTRACT_REPLACEMENTS:
        assert flows[starter_id]["active_version"] is None
        assert flows[contract_id]["active_version"] == 1


def summary(api: Api, summary_id: str) -> dict[str, Any]:
    response = api.get(f"/api/v1/order-summaries/{summary_id}")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def item_id(view: dict[str, Any], sku: str) -> str:
    return str(next(item["id"] for item in view["items"] if item["sku"] == sku))


def item(view: dict[str, Any], sku: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in view["items"] if i["sku"] == sku)
    return found


def act(api: Api, summary_id: str, action: str, body: dict[str, Any], role: str = "agent") -> Any:
    return api.post(f"/api/v1/order-summaries/{summary_id}/actions/{action}", body, role=role)


def run_ok(api: Api, summary_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    response = act(api, summary_id, action, body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    assert result["status"] in ("completed", "waiting"), result
    return result


def ship_open(api: Api, summary_id: str, sku: str | None = None) -> int:
    """Ship every open fulfillment order of the summary (holding ``sku`` when given); how many shipped."""
    shipped = 0
    for fo in fulfillment_orders(api, summary_id):
        if fo["status"] in ("Fulfilled", "Canceled", "Rejected"):
            continue
        if sku is not None and all(line["sku"] != sku for line in fo["lines"]):
            continue
        response = api.post(
            f"/api/v1/fulfillment-orders/{fo['id']}/ship",
            {"carrier": "UPS", "tracking_number": f"1Z{fo['id'][-6:]}"},
            role="agent",
        )
        assert response.status_code == 200, response.text
        shipped += 1
    return shipped


def open_return_order(view: dict[str, Any]) -> dict[str, Any]:
    """The newest return order still expecting units."""
    found: dict[str, Any] = next(
        ro
        for ro in reversed(view["return_orders"])
        if ro["status"] in ("Submitted", "Received")
        and any(line["quantity_received"] < line["quantity"] for line in ro["lines"])
    )
    return found


def receive(api: Api, return_order_id: str, lines: list[dict[str, Any]], role: str = "integrator") -> Any:
    return api.post(f"/api/v1/return-orders/{return_order_id}/receive", {"lines": lines}, role=role)
