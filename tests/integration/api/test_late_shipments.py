"""A shipment later than its authorization lasts, through the API and the starter flows: the capture
authorizes again what it needs, or raises a Payment exception when the card says no by then."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from ordo_example_plugin.gateway import ExampleGateway
from sqlalchemy import select

from engine.clock import ManualClock
from orders import gateway
from orders.gateway import GatewayDeclined, GatewayResult
from orders.models import GatewayCall
from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import summary
from tests.integration.api.test_worked_example import example_order, fulfillment_orders, place, setup_stock

EIGHT_DAYS = timedelta(days=8)


def _ship(api: Api, fo_id: str) -> None:
    response = api.post(
        f"/api/v1/fulfillment-orders/{fo_id}/ship", {"carrier": "UPS", "tracking_number": "1Z"}
    )
    assert response.status_code == 200, response.text


def _by_location(api: Api, sid: str) -> dict[str, str]:
    return {fo["location"]: fo["id"] for fo in fulfillment_orders(api, sid)}


def _clock(api: Api) -> ManualClock:
    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    return clock


def test_a_shipment_after_the_authorization_lapsed_is_still_captured(api: Api) -> None:
    setup_stock(api)
    sid = place(api, example_order())["id"]
    fos = _by_location(api, sid)
    _ship(api, fos["WH2"])
    _clock(api).advance(delta=EIGHT_DAYS)
    _ship(api, fos["WH1"])
    view = summary(api, sid)
    assert view["process_exceptions"] == []
    assert (view["status"], view["totals"]["captured"], view["totals"]["authorized"]) == (
        "Fulfilled",
        "51.98",
        "0.00",
    )
    # The order's authorization, then, eight days on, the one for what lapsed of it (41.40).
    with api.database.session_factory() as session:
        authorized = session.execute(
            select(GatewayCall.idempotency_key, GatewayCall.amount).where(
                GatewayCall.operation == "authorize"
            )
        ).all()
    assert sorted(amount for _, amount in authorized) == [Decimal("41.40"), Decimal("51.98")]
    assert sum(key.endswith(":reauthorize") for key, _ in authorized) == 1


class _CardCanceledLater(ExampleGateway):
    """Holds authorizations for a week, and declines every one after the first: the customer's card was
    canceled after the order was placed."""

    def authorize(self, session: object, **call: Any) -> GatewayResult:
        if self.answers and call["idempotency_key"] not in self.answers:
            raise GatewayDeclined("example gateway: card canceled")
        return replace(super().authorize(session, **call), valid_for=timedelta(days=7))


@pytest.fixture
def canceled_card(monkeypatch: pytest.MonkeyPatch) -> _CardCanceledLater:
    fresh = _CardCanceledLater()
    monkeypatch.setattr(gateway, "_gateways", {**gateway._gateways, "example": fresh})
    return fresh


def test_a_card_that_declines_by_then_is_a_payment_exception(
    api: Api, canceled_card: _CardCanceledLater
) -> None:
    setup_stock(api)
    body = example_order()
    body["payment"] = {"gateway": "example", "token": "card_ok"}
    sid = place(api, body)["id"]
    _clock(api).advance(delta=EIGHT_DAYS)
    _ship(api, _by_location(api, sid)["WH2"])
    view = summary(api, sid)
    [problem] = view["process_exceptions"]
    assert problem["category"] == "Payment"
    assert "card canceled" in problem["message"]
    assert view["totals"]["captured"] == "0.00"
    # Nothing was captured from the lapsed authorization at the processor either.
    assert all(hold.left == Decimal("51.98") for hold in canceled_card.holds.values())
