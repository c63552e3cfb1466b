"""Issue 8's acceptance 1-4 in Chromium: the order console for agents, managers and store associates."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.designer_server import OUTPUT, Server, browser, log_in, server  # noqa: F401
from tests.integration.api.test_worked_example import example_order

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def expect(target: Any, **kwargs: Any) -> Any:
    from playwright.sync_api import expect as pw_expect

    return pw_expect(target, **kwargs)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def stock(server: Server) -> Server:  # noqa: F811
    for code, kind, priority in (("WH1", "warehouse", 1), ("WH2", "warehouse", 2), ("STORE1", "store", 3)):
        body = {
            "name": f"{code} site",
            "kind": kind,
            "ships": True,
            "pickup": kind == "store",
            "priority": priority,
        }
        ok(server.api("PUT", f"/api/v1/locations/{code}", json=body))
    ok(server.api("PUT", "/api/v1/delivery-methods/STANDARD", json={"name": "Standard", "kind": "ship"}))
    for location, sku in (("WH1", "SKU-A"), ("WH2", "SKU-B"), ("STORE1", "SKU-S")):
        ok(server.api("PUT", f"/api/v1/inventory/{location}/{sku}", json={"on_hand": 100}))
    return server


def place(server: Server, body: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    response = server.api(
        "POST",
        "/api/v1/orders",
        role="integrator",
        json=body,
        headers={"Idempotency-Key": body["order_number"]},
    )
    return ok(response, 201)  # type: ignore[no-any-return]


def fulfillment_orders(server: Server, summary_id: str) -> list[dict[str, Any]]:  # noqa: F811
    items: list[dict[str, Any]] = ok(
        server.api("GET", f"/api/v1/fulfillment-orders?order_summary_id={summary_id}")
    )["items"]
    return items


def ship_all(server: Server, summary_id: str) -> None:  # noqa: F811
    for fo in fulfillment_orders(server, summary_id):
        ok(
            server.api(
                "POST",
                f"/api/v1/fulfillment-orders/{fo['id']}/ship",
                json={"carrier": "UPS", "tracking_number": f"T-{fo['id'][-6:]}"},
            )
        )


def until(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def new_page(browser: Any, server: Server, role: str) -> Any:  # noqa: F811
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    log_in(page, server, role)
    return page


def test_agent_finds_an_order_returns_a_unit_and_sees_the_refund_arrive(stock: Server, browser: Any) -> None:  # noqa: F811
    OUTPUT.mkdir(exist_ok=True)
    body = example_order("E2E-RET-1")
    body["customer"] = {"email": "ada.e2e@example.com", "name": "Ada E2E"}
    created = place(stock, body)
    ship_all(stock, created["id"])
    page = new_page(browser, stock, "agent")

    # "/" focuses the search from anywhere; Enter submits.
    page.goto(f"{stock.url}/ui/dashboard")
    page.keyboard.press("/")
    expect(page.locator("#console-search")).to_be_focused()
    page.keyboard.type("ada.e2e@example.com")
    page.keyboard.press("Enter")
    row = page.locator('tr[data-order="E2E-RET-1"]')
    expect(row).to_be_visible()
    expect(page.locator("#order-results tbody tr")).to_have_count(1)
    row.get_by_role("link", name="E2E-RET-1").click()
    expect(page.locator("#order-number")).to_have_text("E2E-RET-1")

    actions = [
        a["action"] for a in ok(stock.api("GET", f"/api/v1/order-summaries/{created['id']}/actions"))["items"]
    ]
    assert "return" in actions, f"issue 6's return flow must offer 'return' here; actions: {actions}"
    page.locator('#actions button[data-action="return"]').click()
    form = page.locator('#action-form[data-action="return"]')
    expect(form).to_be_visible()
    sku_a = next(i for i in created["items"] if i["sku"] == "SKU-A")["id"]
    quantity = form.locator(f'input[name="lines.{sku_a}"]')
    expect(quantity).to_have_attribute("max", "2")
    quantity.fill("1")
    form.locator('input[name="reason"]').fill("Too small")
    form.locator('input[name="reason"]').press("Enter")
    expect(page.locator("#action-result")).to_contain_text("waiting")
    expect(page.locator("#returns tbody tr[data-return]")).to_have_count(1)
    page.screenshot(path=str(OUTPUT / "console-return-opened.png"), full_page=True)

    # The warehouse receives the unit through the API; the open page follows by itself.
    summary = ok(stock.api("GET", f"/api/v1/order-summaries/{created['id']}"))
    rma = summary["return_orders"][0]["id"]
    ok(
        stock.api(
            "POST",
            f"/api/v1/return-orders/{rma}/receive",
            role="integrator",
            json={"lines": [{"item_id": sku_a, "quantity": 1, "condition": "good"}]},
        )
    )
    expect(page.locator("#documents tr[data-credit-memo]")).to_have_count(1, timeout=15_000)
    expect(page.locator("#documents tr[data-credit-memo] td.num")).to_have_text("20.70")
    # The refund goes back to the captures newest first, so it may be split over two of them.
    expect(page.locator('#payments tr[data-payment="refund"]').first).to_be_visible()
    refunds = page.locator('#payments tr[data-payment="refund"] td.num').all_inner_texts()
    assert refunds and sum(Decimal(r) for r in refunds) == Decimal("20.70")
    expect(page.locator('#history li[data-kind="return_order.received"]')).to_have_count(1)
    expect(page.locator('#history li[data-kind^="change.return"]').first).to_be_visible()
    page.screenshot(path=str(OUTPUT / "console-return-refunded.png"), full_page=True)
    # Issue 6's acceptance 2: the summary's refunded total is exactly the credit memo.
    expect(page.locator('#totals [data-total="refunded"] dd')).to_have_text("20.70")
    expect(page.locator('#totals [data-total="balance_due"] dd')).to_have_text("0.00")
    page.context.close()


def test_manager_approves_from_the_inbox_and_works_a_failed_capture(stock: Server, browser: Any) -> None:  # noqa: F811
    OUTPUT.mkdir(exist_ok=True)
    big = example_order("E2E-BIG-1")
    big["lines"][0]["unit_price"] = "3000.00"
    created = place(stock, big)
    assert fulfillment_orders(stock, created["id"]) == []
    page = new_page(browser, stock, "manager")
    page.goto(f"{stock.url}/ui/tasks")
    task = page.locator('#tasks tr[data-kind="approval"]', has_text="E2E-BIG-1")
    expect(task).to_be_visible()
    page.screenshot(path=str(OUTPUT / "console-inbox.png"), full_page=True)
    task.locator('input[name="comment"]').fill("Known customer")
    task.get_by_role("button", name="Approved").click()
    expect(page.locator("#task-notice")).to_contain_text("approved")
    expect(page.locator('#tasks tr[data-kind="approval"]', has_text="E2E-BIG-1")).to_have_count(0)
    page.goto(f"{stock.url}/ui/orders/{created['id']}")
    expect(page.locator("#fulfillment-orders tbody tr[data-fo]")).to_have_count(2)
    run = page.locator('#orchestration .run[data-flow="create_fulfillment_orders"]')
    expect(run.locator(".status").first).to_have_text("completed")
    expect(run).to_contain_text("approved by e2e manager")
    expect(run).to_contain_text("Known customer")

    # A capture that fails: ship one fulfillment order through the API.
    failing = place(stock, example_order("E2E-CAP-1", token="tok_capture_fail"))
    fo = fulfillment_orders(stock, failing["id"])[0]
    ok(
        stock.api(
            "POST",
            f"/api/v1/fulfillment-orders/{fo['id']}/ship",
            json={"carrier": "UPS", "tracking_number": "CF1"},
        )
    )
    assert until(
        lambda: ok(stock.api("GET", f"/api/v1/order-summaries/{failing['id']}"))[
            "active_process_exception_count"
        ]
    )
    page.goto(f"{stock.url}/ui/dashboard")
    tile = page.locator('a[data-tile="payments"]')
    expect(tile.locator(".count")).not_to_have_text("0")
    expect(page.locator('#exception-categories tr[data-category="Payment"]')).to_be_visible()
    page.screenshot(path=str(OUTPUT / "console-dashboard.png"), full_page=True)
    tile.click()
    expect(page).to_have_url(re.compile(r"/ui/exceptions\?category=Payment"))
    row = page.locator("#exception-queue tbody tr", has_text="E2E-CAP-1")
    expect(row).to_contain_text("Capture of")
    row.locator('input[name="assignee"]').fill("Alice")
    row.get_by_role("button", name="Assign").click()
    expect(page.locator("#exception-notice")).to_have_text("Assigned to Alice.")
    row = page.locator("#exception-queue tbody tr", has_text="E2E-CAP-1")
    expect(row.locator("td.assignee")).to_have_text("Alice")
    row.locator('input[name="assignee"]').fill("Bob")
    row.get_by_role("button", name="Reassign").click()
    expect(
        page.locator("#exception-queue tbody tr", has_text="E2E-CAP-1").locator("td.assignee")
    ).to_have_text("Bob")
    page.screenshot(path=str(OUTPUT / "console-exceptions.png"), full_page=True)
    row = page.locator("#exception-queue tbody tr", has_text="E2E-CAP-1")
    row.locator('input[name="note"]').fill("Card replaced; captured by phone")
    row.locator('input[name="note"]').press("Enter")
    expect(page.locator("#exception-notice")).to_have_text("Resolved.")
    expect(page.locator("#exception-queue tbody tr", has_text="E2E-CAP-1")).to_have_count(0)
    summary = ok(stock.api("GET", f"/api/v1/order-summaries/{failing['id']}"))
    assert summary["active_process_exception_count"] == 0
    assert summary["process_exceptions"][0]["assignee"] == "Bob"
    page.goto(f"{stock.url}/ui/orders/{failing['id']}")
    expect(page.locator("#process-exceptions tr[data-exception] .status")).to_have_text("Resolved")
    page.context.close()


def test_store_associate_ships_from_the_desk(stock: Server, browser: Any) -> None:  # noqa: F811
    OUTPUT.mkdir(exist_ok=True)
    body = example_order("E2E-STORE-1")
    body["lines"] = [{"sku": "SKU-S", "name": "Store item", "quantity": 1, "unit_price": "25.00"}]
    created = place(stock, body)
    fo = fulfillment_orders(stock, created["id"])[0]
    assert fo["location"] == "STORE1"
    page = new_page(browser, stock, "agent")
    page.goto(f"{stock.url}/ui/desk")
    page.select_option("#desk-location", "STORE1")
    page.get_by_role("button", name="Show").click()
    row = page.locator(f'#desk-orders tr[data-fo="{fo["id"]}"]')
    expect(row).to_contain_text("E2E-STORE-1")
    row.get_by_role("button", name="Mark picked").click()
    expect(page.locator(f'#desk-orders tr[data-fo="{fo["id"]}"] .status')).to_have_text("Picked")
    row = page.locator(f'#desk-orders tr[data-fo="{fo["id"]}"]')
    row.get_by_role("button", name="Mark packed").click()
    expect(page.locator(f'#desk-orders tr[data-fo="{fo["id"]}"] .status')).to_have_text("Packed")
    row = page.locator(f'#desk-orders tr[data-fo="{fo["id"]}"]')
    row.locator('input[name="carrier"]').fill("DHL")
    row.locator('input[name="tracking_number"]').fill("JD014600003SE")
    row.locator('input[name="tracking_number"]').press("Enter")
    expect(page.locator("#desk-notice")).to_contain_text("shipped with DHL JD014600003SE")
    expect(page.locator(f'#desk-orders tr[data-fo="{fo["id"]}"]')).to_have_count(0)
    page.screenshot(path=str(OUTPUT / "console-desk.png"), full_page=True)
    page.goto(f"{stock.url}/ui/orders/{created['id']}")
    shipped = page.locator(f'#fulfillment-orders tr[data-fo="{fo["id"]}"]')
    expect(shipped.locator(".status")).to_have_text("Fulfilled")
    expect(shipped.locator(".tracking")).to_have_text("JD014600003SE")
    expect(page.locator("#order-status")).to_have_text("Fulfilled")
    page.screenshot(path=str(OUTPUT / "console-order.png"), full_page=True)
    page.context.close()


def test_roles_integrator_refused_and_agent_cannot_approve(stock: Server, browser: Any) -> None:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{stock.url}/ui/login")
    page.fill("#key", stock.keys["integrator"])
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("the browser UI is not for it")
    page.goto(f"{stock.url}/ui/dashboard")
    expect(page).to_have_url(re.compile(r"/ui/login"))
    context.close()

    big = example_order("E2E-BIG-2")
    big["lines"][0]["unit_price"] = "3000.00"
    created = place(stock, big)
    task = next(
        t
        for t in ok(stock.api("GET", "/api/v1/tasks?status=open"))["items"]
        if t["order_summary_id"] == created["id"]
    )
    page = new_page(browser, stock, "agent")
    page.goto(f"{stock.url}/ui/tasks")
    expect(page.locator(f'#tasks tr[data-task="{task["id"]}"]')).to_have_count(0)
    expect(page.locator("#other-tasks")).to_contain_text("fulfillment_manager")
    headers = page.locator("body").get_attribute("hx-headers")
    assert headers
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', headers)
    assert token
    refused = page.request.post(
        f"{stock.url}/ui/tasks/{task['id']}/complete",
        form={"outcome": "approved"},
        headers={"X-CSRF-Token": token.group(1), "HX-Request": "true"},
    )
    assert refused.status == 403
    assert ok(stock.api("GET", f"/api/v1/order-summaries/{created['id']}"))["fulfillment_orders"] == []
    page.context.close()
