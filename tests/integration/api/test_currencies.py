"""The worked example in a three-decimal currency: every amount exact to the fils, end to end."""

from __future__ import annotations

from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import ship_open, summary
from tests.integration.api.test_worked_example import example_order, place, setup_stock


def test_the_worked_example_in_kuwaiti_dinars(api: Api) -> None:
    setup_stock(api)
    body = example_order("KWD-1")
    body["currency"] = "KWD"
    body["lines"][0].update(unit_price="19.995", tax="3.205")
    body["lines"][1].update(unit_price="5.000", tax="0.400")
    body["adjustments"] = "-2.000"
    body["shipping"] = {"amount": "5.000", "tax": "0.400"}
    sid = place(api, body)["id"]

    view = summary(api, sid)
    # -2.000 split by the lines' amounts (39.990 and 5.000): 1.778 and 0.222.
    assert sorted(item["total"] for item in view["items"]) == ["41.417", "5.178"]
    assert view["totals"]["shipping"] == "5.400"
    assert view["totals"]["ordered"] == "51.995"
    assert view["totals"]["authorized"] == "51.995"

    assert ship_open(api, sid, "SKU-B") == 1
    assert [invoice["total"] for invoice in summary(api, sid)["invoices"]] == ["10.578"]
    assert ship_open(api, sid) == 1
    view = summary(api, sid)
    assert sorted(invoice["total"] for invoice in view["invoices"]) == ["10.578", "41.417"]
    assert view["totals"]["captured"] == "51.995"
    assert view["totals"]["balance_due"] == "0.000"
    assert view["status"] == "Fulfilled"


def test_a_currency_outside_iso_4217_circulation_is_refused(api: Api) -> None:
    setup_stock(api)
    body = example_order("XAU-1")
    body["currency"] = "XAU"  # gold: a code of ISO 4217, but no order is paid in it
    response = api.post("/api/v1/orders", body, role="integrator", **{"Idempotency-Key": "xau"})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["currency"]
