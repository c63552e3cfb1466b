"""Orders arriving at once: one Idempotency-Key, twenty requests; fifty orders for the last unit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, select

from orders.models import InventoryLevel, OrderSummary
from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, setup_stock


def test_twenty_concurrent_posts_with_one_key_make_one_order(api: Api) -> None:
    setup_stock(api)
    body = example_order()

    def post(_: int) -> tuple[int, Any]:
        response = api.post("/api/v1/orders", body, role="integrator", **{"Idempotency-Key": "burst"})
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(post, range(20)))
    assert {status for status, _ in results} == {201}
    assert all(result == results[0][1] for _, result in results)
    with api.database.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OrderSummary)) == 1


def test_fifty_orders_for_the_last_unit_exactly_one_gets_it(pg_api: Api) -> None:
    # PostgreSQL alone: SQLite serializes every writer, so it cannot show a race.
    api = pg_api
    setup_stock(api)
    assert api.put("/api/v1/inventory/WH1/SKU-LAST", {"on_hand": 1}, role="integrator").status_code == 200

    def post(index: int) -> dict[str, Any]:
        body = example_order(f"LAST-{index}")
        body["lines"] = [{"sku": "SKU-LAST", "name": "Last", "quantity": 1, "unit_price": "10.00"}]
        body["adjustments"] = "0"
        response = api.post("/api/v1/orders", body, role="integrator", **{"Idempotency-Key": f"last-{index}"})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    with ThreadPoolExecutor(max_workers=10) as pool:
        created = list(pool.map(post, range(50)))
    got_it, stock_exceptions = 0, 0
    for summary in created:
        current = api.get(f"/api/v1/order-summaries/{summary['id']}").json()
        categories = [e["category"] for e in current["process_exceptions"]]
        if current["fulfillment_orders"]:
            got_it += 1
            assert categories == []
        else:
            stock_exceptions += categories.count("Stock")
    assert (got_it, stock_exceptions) == (1, 49)
    with api.database.session_factory() as session:
        level = session.scalars(select(InventoryLevel).where(InventoryLevel.sku == "SKU-LAST")).one()
        assert (level.on_hand, level.reserved) == (1, 1)
