"""Issue 6's acceptance through the HTTP API: the worked example after capture, served by the starter
service flows and, in their place, by the contract flows exactly as written; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from engine.clock import ManualClock
from engine.worker import run_due_work
from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import (
    act,
    item,
    item_id,
    open_return_order,
    receive,
    run_ok,
    ship_open,
    summary,
    use_contract_flows,
)
from tests.integration.api.test_worked_example import example_order, fulfillment_orders, place, setup_stock


@pytest.fixture(params=["starter", "contract"])
def flows(request: pytest.FixtureRequest, api: Api, shared_dir: Path) -> str:
    """Which service flows serve the actions: ours, or the contract's cloned in their place."""
    if request.param == "contract":
        use_contract_flows(api, shared_dir)
    return str(request.param)


def placed(api: Api, number: str = "EX-1", body: dict[str, Any] | None = None) -> str:
    setup_stock(api)
    return str(place(api, body or example_order(number), key=f"k-{number}")["id"])


def test_1_cancel_before_shipping_lowers_what_is_billed(api: Api, flows: str) -> None:
    sid = placed(api)
    before = summary(api, sid)
    result = run_ok(api, sid, "cancel", {"lines": [{"item_id": item_id(before, "SKU-A"), "quantity": 1}]})
    assert result["status"] == "completed"
    view = summary(api, sid)
    line_a = item(view, "SKU-A")
    assert line_a["total"] == "20.70"
    assert (line_a["quantity_canceled"], line_a["quantity_allocated"]) == (1, 1)
    assert view["totals"]["canceled"] == "20.70"
    assert view["totals"]["grand_total"] == "31.28"
    assert view["totals"]["refunded"] == "0.00"
    assert view["credit_memos"] == []
    # The unit came off its fulfillment order and its reservation: only one is reserved at WH1.
    wh1 = next(fo for fo in fulfillment_orders(api, sid) if fo["location"] == "WH1")
    assert [line["quantity"] for line in wh1["lines"]] == [1]
    levels = api.get("/api/v1/availability?sku=SKU-A").json()["locations"]
    assert next(lvl for lvl in levels if lvl["location"] == "WH1")["reserved"] == 1

    assert ship_open(api, sid, "SKU-B") == 1  # as in the worked example: B (with shipping) first
    assert ship_open(api, sid) == 1
    view = summary(api, sid)
    assert [i["total"] for i in view["invoices"]] == ["10.58", "20.70"]
    assert view["totals"]["captured"] == "31.28"
    assert view["totals"]["balance_due"] == "0.00"
    assert view["status"] == "Fulfilled"


def test_2_return_after_shipping_credits_and_refunds_by_the_pool_rule(api: Api, flows: str) -> None:
    sid = placed(api)
    ship_open(api, sid)
    view = summary(api, sid)
    assert view["totals"]["captured"] == "51.98"
    a = item_id(view, "SKU-A")

    run_ok(api, sid, "return", {"lines": [{"item_id": a, "quantity": 1}]})
    view = summary(api, sid)
    assert item(view, "SKU-A")["quantity_return_initiated"] == 1
    rma = open_return_order(view)
    assert rma["status"] == "Submitted"
    assert view["totals"]["refunded"] == "0.00"  # nothing goes back before the goods do

    response = receive(api, rma["id"], [{"item_id": a, "quantity": 1, "condition": "good"}])
    assert response.status_code == 200, response.text
    view = summary(api, sid)
    assert [m["total"] for m in view["credit_memos"]] == ["20.70"]
    assert view["totals"]["refunded"] == "20.70"
    assert view["totals"]["grand_total"] == "31.28"
    assert view["totals"]["balance_due"] == "0.00"
    assert item(view, "SKU-A")["quantity_returned"] == 1

    run_ok(api, sid, "return", {"lines": [{"item_id": a, "quantity": 1}]})
    rma = open_return_order(summary(api, sid))
    assert receive(api, rma["id"], [{"item_id": a, "quantity": 1}]).status_code == 200
    view = summary(api, sid)
    assert [m["total"] for m in view["credit_memos"]] == ["20.70", "20.70"]
    assert item(view, "SKU-A")["total"] == "0.00"  # 41.40 credited in all, never more
    assert view["totals"]["credited"] == "41.40"
    assert view["totals"]["refunded"] == "41.40"
    assert view["totals"]["grand_total"] == "10.58"
    assert view["totals"]["balance_due"] == "0.00"
    assert act(api, sid, "return", {"lines": [{"item_id": a, "quantity": 1}]}).status_code == 409


def test_3_single_unit_returns_add_up_to_the_invoiced_line_total(api: Api, flows: str) -> None:
    setup_stock(api)
    body = example_order("EX-3")
    body["lines"] = [{"sku": "SKU-A", "name": "A", "quantity": 3, "unit_price": "10.00"}]
    body["adjustments"] = "-0.01"
    sid = str(place(api, body, key="k-3")["id"])
    ship_open(api, sid)
    view = summary(api, sid)
    a = item_id(view, "SKU-A")
    assert item(view, "SKU-A")["total"] == "29.99"
    credits = []
    for _ in range(3):
        run_ok(api, sid, "return", {"lines": [{"item_id": a, "quantity": 1}]})
        rma = open_return_order(summary(api, sid))
        assert receive(api, rma["id"], [{"item_id": a, "quantity": 1}]).status_code == 200
        credits.append(summary(api, sid)["credit_memos"][-1]["total"])
    assert credits == ["10.00", "10.00", "9.99"]
    assert sum(D(c) for c in credits) == D("29.99")
    view = summary(api, sid)
    assert view["totals"]["refunded"] == "29.99"
    assert view["totals"]["balance_due"] == "0.00"


def test_4_discount_on_a_captured_order_refunds_it(api: Api, flows: str) -> None:
    sid = placed(api)
    ship_open(api, sid)
    run_ok(api, sid, "discount", {"amount": "10.00", "reason": "late"})
    view = summary(api, sid)
    assert view["totals"]["grand_total"] == "41.98"
    assert view["totals"]["refunded"] == "10.00"
    assert [m["total"] for m in view["credit_memos"]] == ["10.00"]
    assert view["totals"]["balance_due"] == "0.00"


def test_4_discount_before_shipping_lowers_later_captures(api: Api, flows: str) -> None:
    sid = placed(api)
    run_ok(api, sid, "discount", {"amount": "10.00"})
    view = summary(api, sid)
    assert view["totals"]["grand_total"] == "41.98"
    assert view["totals"]["refunded"] == "0.00"
    assert view["credit_memos"] == []
    ship_open(api, sid)
    view = summary(api, sid)
    assert view["totals"]["captured"] == "41.98"
    assert sum(D(i["total"]) for i in view["invoices"]) == D("41.98")
    assert view["totals"]["balance_due"] == "0.00"


def test_5_reship_sends_again_at_no_charge(api: Api, flows: str) -> None:
    sid = placed(api)
    ship_open(api, sid, "SKU-B")
    ship_open(api, sid)
    a = item_id(summary(api, sid), "SKU-A")
    run_ok(api, sid, "reship", {"lines": [{"item_id": a, "quantity": 1}]})
    fos = fulfillment_orders(api, sid)
    reship = [fo for fo in fos if fo["status"] == "Allocated"]
    assert [(fo["location"], fo["charge"], [ln["quantity"] for ln in fo["lines"]]) for fo in reship] == [
        ("WH1", False, [1])
    ]
    assert ship_open(api, sid) == 1
    view = summary(api, sid)
    assert [i["total"] for i in view["invoices"]] == ["10.58", "41.40", "0.00"]
    assert view["totals"]["captured"] == "51.98"
    assert view["totals"]["invoiced"] == "51.98"
    assert view["totals"]["balance_due"] == "0.00"


def _state(api: Api, sid: str) -> dict[str, Any]:
    view = summary(api, sid)
    view.pop("status", None)
    levels = api.get("/api/v1/availability?sku=SKU-A").json()
    return {"summary": view, "stock": levels, "fos": fulfillment_orders(api, sid)}


def test_6_too_many_units_are_refused_and_change_nothing(api: Api, flows: str) -> None:
    sid = placed(api)
    a = item_id(summary(api, sid), "SKU-A")
    before = _state(api, sid)
    runs = flow_runs(api, sid)
    refused = act(api, sid, "cancel", {"lines": [{"item_id": a, "quantity": 3}]})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    refused = act(api, sid, "return", {"lines": [{"item_id": a, "quantity": 1}]})  # nothing shipped yet
    assert refused.status_code == 409
    assert _state(api, sid) == before
    assert flow_runs(api, sid) == runs  # a refused action leaves no run behind

    ship_open(api, sid)
    refused = act(api, sid, "return", {"lines": [{"item_id": a, "quantity": 3}]})
    assert refused.status_code == 409
    run_ok(api, sid, "return", {"lines": [{"item_id": a, "quantity": 1}]})
    before = _state(api, sid)
    rma = open_return_order(before["summary"])
    too_many = receive(api, rma["id"], [{"item_id": a, "quantity": 2}])
    assert too_many.status_code == 409, too_many.text
    other_item = item_id(before["summary"], "SKU-B")
    assert receive(api, rma["id"], [{"item_id": other_item, "quantity": 1}]).status_code == 409
    assert _state(api, sid) == before


def flow_runs(api: Api, sid: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = api.get(f"/api/v1/flow-runs?order_summary_id={sid}").json()["items"]
    return runs


def test_actions_list_only_what_is_possible_with_bounds(api: Api) -> None:
    sid = placed(api)
    view = summary(api, sid)
    listed = {a["action"]: a for a in api.get(f"/api/v1/order-summaries/{sid}/actions").json()["items"]}
    assert set(listed) == {"cancel", "discount"}
    lines = next(i for i in listed["cancel"]["inputs"] if i["name"] == "lines")
    maxima = {b["sku"]: b["max_quantity"] for b in lines["bounds"]["items"]}
    assert maxima == {"SKU-A": 2, "SKU-B": 1}
    amount = next(i for i in listed["discount"]["inputs"] if i["name"] == "amount")
    assert amount["bounds"]["max"] == "46.58"  # the lines' billing pools; shipping is not discounted

    ship_open(api, sid, "SKU-B")
    listed = {a["action"]: a for a in api.get(f"/api/v1/order-summaries/{sid}/actions").json()["items"]}
    assert set(listed) == {"cancel", "discount", "exchange", "reship", "return"}
    returnable = next(i for i in listed["return"]["inputs"] if i["name"] == "lines")["bounds"]
    assert returnable == {"items": [{"item_id": item_id(view, "SKU-B"), "sku": "SKU-B", "max_quantity": 1}]}

    ship_open(api, sid)
    names = {a["action"] for a in api.get(f"/api/v1/order-summaries/{sid}/actions").json()["items"]}
    assert "cancel" not in names
    assert (
        act(api, sid, "cancel", {"lines": [{"item_id": item_id(view, "SKU-A"), "quantity": 1}]}).status_code
        == 409
    )


def test_exchange_sends_a_new_unit_and_settles_the_difference(api: Api) -> None:
    sid = placed(api)
    ship_open(api, sid)
    a = item_id(summary(api, sid), "SKU-A")
    body = {"return_lines": [{"item_id": a, "quantity": 1}], "new_lines": [{"sku": "SKU-A", "quantity": 1}]}
    result = run_ok(api, sid, "exchange", body)
    assert result["status"] == "waiting"  # for the returned unit
    assert result["outputs"]["exchange"]["price_difference"] == "0.00"
    view = summary(api, sid)
    [new_fo] = [fo for fo in view["fulfillment_orders"] if fo["status"] == "Allocated"]
    assert (new_fo["location"], new_fo["charge"]) == ("WH1", True)
    ship_open(api, sid)
    view = summary(api, sid)
    assert view["invoices"][-1]["total"] == "20.70"
    assert view["totals"]["captured"] == "72.68"
    rma = open_return_order(view)
    assert receive(api, rma["id"], [{"item_id": a, "quantity": 1}]).status_code == 200
    view = summary(api, sid)
    assert [m["total"] for m in view["credit_memos"]] == ["20.70"]
    assert (view["totals"]["grand_total"], view["totals"]["refunded"]) == ("51.98", "20.70")
    assert view["totals"]["balance_due"] == "0.00"


def test_partial_receipts_are_credited_as_they_arrive(api: Api) -> None:
    sid = placed(api)
    ship_open(api, sid)
    a = item_id(summary(api, sid), "SKU-A")
    started = run_ok(api, sid, "return", {"lines": [{"item_id": a, "quantity": 2}], "refund_shipping": True})
    rma = open_return_order(summary(api, sid))
    assert receive(api, rma["id"], [{"item_id": a, "quantity": 1}]).status_code == 200
    view = summary(api, sid)
    assert [m["total"] for m in view["credit_memos"]] == ["26.10"]  # 20.70 and the shipping, once
    assert api.get(f"/api/v1/flow-runs/{started['run_id']}").json()["status"] == "waiting"
    assert receive(api, rma["id"], [{"item_id": a, "quantity": 1}]).status_code == 200
    view = summary(api, sid)
    assert [m["total"] for m in view["credit_memos"]] == ["26.10", "20.70"]
    assert api.get(f"/api/v1/flow-runs/{started['run_id']}").json()["status"] == "completed"
    assert (view["totals"]["refunded"], view["totals"]["balance_due"]) == ("46.80", "0.00")
    assert view["return_orders"][0]["status"] == "Closed"


def test_a_return_that_never_arrives_expires(api: Api, flows: str) -> None:
    sid = placed(api)
    ship_open(api, sid)
    a = item_id(summary(api, sid), "SKU-A")
    started = run_ok(api, sid, "return", {"lines": [{"item_id": a, "quantity": 2}]})
    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(delta=timedelta(days=31))
    run_due_work(api.database, clock, runtime=api.runtime)
    assert api.get(f"/api/v1/flow-runs/{started['run_id']}").json()["status"] == "completed"
    view = summary(api, sid)
    assert view["return_orders"][0]["status"] == "Canceled"
    assert item(view, "SKU-A")["quantity_available_to_return"] == 2
    assert (view["totals"]["credited"], view["totals"]["refunded"]) == ("0.00", "0.00")
