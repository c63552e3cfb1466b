"""``GET /order-summaries``: filters and a keyset cursor that walks every order exactly once."""

from __future__ import annotations

from tests.integration.api.conftest import Api
from tests.integration.api.test_worked_example import example_order, place, setup_stock


def test_search_pages_filters_and_refuses_a_forged_cursor(api: Api) -> None:
    setup_stock(api)
    for location, sku in (("WH1", "SKU-A"), ("WH2", "SKU-B")):
        assert (
            api.put(f"/api/v1/inventory/{location}/{sku}", {"on_hand": 50}, role="integrator").status_code
            == 200
        )
    ids = set()
    for index in range(5):
        body = example_order(f"S-{index}", token="tok_decline" if index == 3 else "tok_ok")
        body["customer"]["email"] = f"buyer{index}@example.com"
        ids.add(place(api, body, key=f"s-{index}")["id"])

    seen: list[str] = []
    cursor = None
    while True:
        path = "/api/v1/order-summaries?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path, role="agent").json()
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5

    by_email = api.get("/api/v1/order-summaries?q=BUYER2@example.com", role="agent").json()["items"]
    assert [item["order_number"] for item in by_email] == ["S-2"]
    failing = api.get("/api/v1/order-summaries?has_exceptions=true", role="agent").json()["items"]
    assert [item["order_number"] for item in failing] == ["S-3"]
    forged = api.get("/api/v1/order-summaries?cursor=not-a-cursor", role="agent")
    assert forged.status_code == 422


def test_a_listed_summary_gives_its_money_in_its_currencys_places(api: Api) -> None:
    setup_stock(api)
    placed = place(api, example_order())
    [item] = api.get("/api/v1/order-summaries?limit=5").json()["items"]
    assert item["id"] == placed["id"]
    assert (item["grand_total"], item["balance_due"]) == ("51.98", "51.98")
