"""Service actions on the order view: forms from declared inputs, results and errors in place."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from engine.models import FlowRun
from engine.records import state_of
from tests.integration.api.conftest import Api
from tests.integration.designer.conftest import Ui


def test_buttons_show_only_actions_possible_now(api: Api, ui: Any, order: dict[str, Any], probe: str) -> None:
    api.runtime.registry.register_service_guard("probe", lambda _s, _id: False)
    agent: Ui = ui("agent")
    assert 'data-action="probe"' not in agent.get(f"/ui/orders/{order['id']}").text
    refused = agent.client.get(f"/ui/orders/{order['id']}/actions/probe", headers={"HX-Request": "true"})
    assert refused.status_code == 409 and "not possible on this order now" in refused.text
    del api.runtime.registry.service_guards["probe"]
    assert 'data-action="probe"' in agent.get(f"/ui/orders/{order['id']}").text


def test_form_is_built_from_declared_inputs_and_runs_the_flow(
    api: Api, ui: Any, order: dict[str, Any], probe: str
) -> None:
    agent: Ui = ui("agent")
    form = agent.get(f"/ui/orders/{order['id']}/actions/probe", headers={"HX-Request": "true"}).text
    assert "<html" not in form
    items = {item["sku"]: item["id"] for item in order["items"]}
    for sku, item_id in items.items():
        assert f'name="lines.{item_id}"' in form, sku
    assert 'type="checkbox" id="in-loud" name="loud"' in form
    assert 'type="number" step="1" id="in-times" name="times" value="1"' in form
    assert 'inputmode="decimal"' in form and 'value="checking"' in form
    done = agent.post(
        f"/ui/orders/{order['id']}/actions/probe",
        {f"lines.{items['SKU-A']}": "1", f"lines.{items['SKU-B']}": "0", "times": "3", "amount": "5"},
    )
    assert done.status_code == 200, done.text
    assert 'id="action-result"' in done.text and "completed" in done.text
    assert done.headers["HX-Trigger"] == "console:refresh"
    summary = api.get(f"/api/v1/order-summaries/{order['id']}").json()
    assert summary["status"] == "Probed 3"
    with api.database.uow() as uow:
        run = uow.session.scalars(select(FlowRun).where(FlowRun.flow_id == "console_probe")).one()
        assert state_of(run).variables["input"]["lines"] == [{"item_id": items["SKU-A"], "quantity": 1}]


def test_bad_inputs_are_422_in_place_and_a_failing_run_shows_its_error(
    api: Api, ui: Any, order: dict[str, Any], probe: str
) -> None:
    agent: Ui = ui("agent")
    missing = agent.post(f"/ui/orders/{order['id']}/actions/probe", {"times": "x"})
    assert missing.status_code == 422
    assert re.search(r"is required", missing.text) and "must be an integer" in missing.text
    assert 'value="x"' in missing.text  # what was typed stays
    item = order["items"][0]["id"]
    failed = agent.post(f"/ui/orders/{order['id']}/actions/probe", {f"lines.{item}": "1", "amount": "500"})
    assert failed.status_code == 200
    assert 'id="action-error"' in failed.text and "Too much: 500" in failed.text


def test_user_text_in_inputs_is_escaped(api: Api, ui: Any, order: dict[str, Any], probe: str) -> None:
    agent: Ui = ui("agent")
    answer = agent.post(f"/ui/orders/{order['id']}/actions/probe", {"note": "<img src=x onerror=alert(1)>"})
    assert answer.status_code == 422
    assert "<img src=x" not in answer.text and "&lt;img src=x onerror=alert(1)&gt;" in answer.text


def test_actions_need_the_csrf_token(api: Api, ui: Any, order: dict[str, Any], probe: str) -> None:
    agent: Ui = ui("agent")
    refused = agent.client.post(f"/ui/orders/{order['id']}/actions/probe", data={"times": "1"})
    assert refused.status_code == 403


def test_return_action_when_the_return_flow_is_there(api: Api, ui: Any, order: dict[str, Any]) -> None:
    """Issue 6's return flow through the console: the form is bounded by what can be returned."""
    fos = api.get(f"/api/v1/fulfillment-orders?order_summary_id={order['id']}").json()["items"]
    for fo in fos:
        api.post(
            f"/api/v1/fulfillment-orders/{fo['id']}/ship", {"carrier": "UPS", "tracking_number": fo["id"]}
        )
    agent: Ui = ui("agent")
    actions = [a["action"] for a in api.get(f"/api/v1/order-summaries/{order['id']}/actions").json()["items"]]
    assert "return" in actions, f"issue 6's return flow is not active here: {actions}"
    sku_a = next(i for i in order["items"] if i["sku"] == "SKU-A")["id"]
    form = agent.get(f"/ui/orders/{order['id']}/actions/return", headers={"HX-Request": "true"}).text
    assert re.search(rf'max="2" step="1" name="lines.{sku_a}"', form)
    done = agent.post(
        f"/ui/orders/{order['id']}/actions/return", {f"lines.{sku_a}": "1", "reason": "Too small"}
    )
    assert done.status_code == 200, done.text
    assert "waiting" in done.text
    summary = api.get(f"/api/v1/order-summaries/{order['id']}").json()
    assert [ro["status"] for ro in summary["return_orders"]] == ["Submitted"]
