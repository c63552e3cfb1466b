"""The console's pages: dashboard, search, the order view and its live part, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from engine.clock import ManualClock
from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import item_id, run_ok, summary
from tests.integration.api.test_worked_example import example_order, place
from tests.integration.designer.conftest import Ui

HTMX = {"HX-Request": "true"}


def test_dashboard_counts_link_to_filtered_lists(api: Api, ui: Any, order: dict[str, Any]) -> None:
    big = example_order("BIG-1")
    big["lines"][0]["quantity"] = 2
    big["lines"][0]["unit_price"] = "3000.00"
    place(api, big, key="big")
    declined = place(api, example_order("DEC-1", token="tok_decline"), key="dec")
    agent: Ui = ui("agent")
    page = agent.get("/ui/dashboard")
    assert page.status_code == 200
    text = page.text
    tile = re.search(r'data-tile="approvals">\s*<div class="count">(\d+)</div>', text)
    assert tile and tile.group(1) == "1"
    assert 'href="/ui/tasks" data-tile="approvals"' in text
    payments = re.search(
        r'href="/ui/exceptions\?category=Payment" data-tile="payments">\s*<div class="count">(\d+)', text
    )
    assert payments and payments.group(1) == "1"
    assert '<tr data-category="Payment">' in text
    assert "<svg" in text and "Orders per day" in text
    # The filtered lists the tiles link to.
    listed = agent.get("/ui/orders?status=Pending+Approval").text
    assert 'data-order="BIG-1"' in listed and 'data-order="EX-1"' not in listed
    queue = agent.get("/ui/exceptions?category=Payment").text
    assert declined["id"] in queue
    # HTMX refresh asks for the block alone.
    fragment = agent.get("/ui/dashboard", headers=HTMX).text
    assert "<html" not in fragment and 'data-tile="approvals"' in fragment


def test_chart_labels_are_escaped(api: Api, ui: Any, order: dict[str, Any]) -> None:
    from orders.models import OrderSummary

    with api.database.uow() as uow:
        summary = uow.session.get(OrderSummary, order["id"])
        assert summary is not None
        summary.status = "<script>alert(1)</script>"
        uow.commit()
    text = ui("agent").get("/ui/dashboard").text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_search_by_email_name_number_sku_status_dates_and_cursor(
    api: Api, ui: Any, order: dict[str, Any]
) -> None:
    for sku, location in (("SKU-A", "WH1"), ("SKU-B", "WH2")):
        assert api.put(f"/api/v1/inventory/{location}/{sku}", {"on_hand": 500}).status_code == 200
    for n in range(2, 7):
        body = example_order(f"EX-{n}")
        body["customer"] = {"email": f"grace{n}@example.com", "name": f"Grace Hopper {n}"}
        place(api, body, key=f"k-{n}")
    agent: Ui = ui("agent")

    def numbers(query: str) -> list[str]:
        return re.findall(r'data-order="([^"]+)"', agent.get(f"/ui/orders?{query}").text)

    assert numbers("q=" + quote("ADA@example.com")) == ["EX-1"]
    assert numbers("q=Lovelace") == ["EX-1"]
    assert numbers("q=EX-3") == ["EX-3"]
    assert sorted(numbers("q=hopper")) == ["EX-2", "EX-3", "EX-4", "EX-5", "EX-6"]
    assert len(numbers("sku=SKU-B")) == 6 and numbers("sku=NOPE") == []
    assert len(numbers("status=" + quote("Waiting to Fulfill"))) == 6
    assert numbers("to=2000-01-01") == []
    assert len(numbers("from=2000-01-01")) == 6
    assert numbers("has_exceptions=yes") == []
    bad = agent.get("/ui/orders?from=yesterday")
    assert "is not a date" in bad.text
    # Pages of 25: make 25 more and walk the cursor.
    for n in range(7, 32):
        place(api, example_order(f"EX-{n}"), key=f"k-{n}")
    first = agent.get("/ui/orders").text
    assert len(re.findall(r'data-order="', first)) == 25
    link = re.search(r'id="next-page" href="([^"]+)"', first)
    assert link
    second = agent.get(link.group(1).replace("&amp;", "&")).text
    rest = re.findall(r'data-order="([^"]+)"', second)
    assert len(rest) == 6 and 'id="next-page"' not in second
    assert not set(rest) & set(re.findall(r'data-order="([^"]+)"', first))


def test_order_view_shows_everything_and_live_part_answers_204_when_unchanged(
    api: Api, ui: Any, order: dict[str, Any]
) -> None:
    agent: Ui = ui("agent")
    page = agent.get(f"/ui/orders/{order['id']}")
    assert page.status_code == 200
    text = page.text
    for marker in ('id="order-number">EX-1<', 'data-total="invoiced"', 'data-item="SKU-A"', 'id="fulfillment-orders"',
                   'data-payment="authorization"', 'id="history"', 'data-flow="create_fulfillment_orders"',
                   "Made 2 fulfillment orders", 'id="action-panel"'):  # fmt: skip
        assert marker in text, marker
    digest = re.search(r'data-digest="([0-9a-f]+)"', text)
    assert digest
    same = agent.get(f"/ui/orders/{order['id']}/live?since={digest.group(1)}", headers=HTMX)
    assert same.status_code == 204
    # A shipment through the API changes the live part: the poll gets it, body out of band.
    fo = api.get(f"/api/v1/fulfillment-orders?order_summary_id={order['id']}").json()["items"][0]
    shipped = api.post(
        f"/api/v1/fulfillment-orders/{fo['id']}/ship", {"carrier": "UPS", "tracking_number": "1Z<b>"}
    )
    assert shipped.status_code == 200
    changed = agent.get(f"/ui/orders/{order['id']}/live?since={digest.group(1)}", headers=HTMX)
    assert changed.status_code == 200
    assert 'id="live-body" hx-swap-oob="true"' in changed.text
    assert "1Z&lt;b&gt;" in changed.text and "1Z<b>" not in changed.text
    assert 'data-invoice="' in changed.text
    assert agent.get("/ui/orders/os_nope").status_code == 404


def test_integrator_cannot_open_the_console(api: Api, ui: Any) -> None:
    from fastapi.testclient import TestClient

    from tests.integration.designer.conftest import log_in

    client = TestClient(api.client.app)
    refused = log_in(client, api.keys["integrator"])
    assert refused.status_code == 403
    page = client.get("/ui/dashboard", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/ui/login")
    client.close()


def test_order_view_shows_when_an_authorization_lapses_and_what_lapsed(
    api: Api, ui: Any, order: dict[str, Any]
) -> None:
    agent: Ui = ui("agent")
    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    lapses = (clock.now() + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
    assert f"51.98 remaining · lapses {lapses} UTC" in agent.get(f"/ui/orders/{order['id']}").text
    clock.advance(delta=timedelta(days=8))
    view = summary(api, order["id"])
    lines = [{"item_id": item_id(view, sku), "quantity": q} for sku, q in (("SKU-A", 2), ("SKU-B", 1))]
    run_ok(api, order["id"], "cancel", {"lines": lines})
    text = agent.get(f"/ui/orders/{order['id']}").text
    assert "status-Expired" in text and "51.98 lapsed" in text and " · lapses " not in text
