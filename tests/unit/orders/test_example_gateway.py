"""The example plugin's payment gateway keeps a processor's promises: one effect per idempotency key,
no capture beyond what is authorized, no refund beyond what was captured, nothing after a void."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ordo_example_plugin.gateway import ExampleGateway

from orders.gateway import GatewayDeclined, GatewayTimeout

D = Decimal


def _authorize(gw: ExampleGateway, amount: str, key: str = "a1", token: str = "card_ok") -> str:
    return gw.authorize(None, token=token, amount=D(amount), currency="USD", idempotency_key=key).reference


def _capture(gw: ExampleGateway, auth: str, amount: str, key: str) -> str:
    result = gw.capture(
        None,
        token="card_ok",
        authorization_reference=auth,
        amount=D(amount),
        currency="USD",
        idempotency_key=key,
    )
    return result.reference


def test_a_repeated_key_gets_the_first_answer_and_moves_nothing_again() -> None:
    gw = ExampleGateway()
    auth = _authorize(gw, "50.00")
    assert _authorize(gw, "50.00") == auth
    first = _capture(gw, auth, "30.00", "c1")
    assert _capture(gw, auth, "30.00", "c1") == first
    assert gw.holds[auth].left == D("20.00")


def test_no_capture_beyond_the_authorization_and_no_refund_beyond_the_capture() -> None:
    gw = ExampleGateway()
    auth = _authorize(gw, "50.00")
    with pytest.raises(GatewayDeclined, match="more than"):
        _capture(gw, auth, "50.01", "c1")
    capture = _capture(gw, auth, "50.00", "c2")
    with pytest.raises(GatewayDeclined, match="more than"):
        gw.refund(
            None,
            token="card_ok",
            payment_reference=capture,
            amount=D("60"),
            currency="USD",
            idempotency_key="r1",
        )
    refund = gw.refund(
        None, token="card_ok", payment_reference=capture, amount=D("20"), currency="USD", idempotency_key="r2"
    )
    assert refund.amount == D("20")
    assert gw.holds[capture].left == D("30.00")


def test_a_void_releases_what_is_left_and_ends_the_authorization() -> None:
    gw = ExampleGateway()
    auth = _authorize(gw, "50.00")
    _capture(gw, auth, "10.00", "c1")
    assert gw.void(None, token="card_ok", authorization_reference=auth, idempotency_key="v1").amount == D(
        "40.00"
    )
    with pytest.raises(GatewayDeclined, match="no open authorization"):
        _capture(gw, auth, "1.00", "c2")


def test_declines_and_timeouts_by_token() -> None:
    gw = ExampleGateway()
    with pytest.raises(GatewayDeclined):
        _authorize(gw, "5.00", token="card_insufficient")
    with pytest.raises(GatewayTimeout):
        _authorize(gw, "5.00", key="t1", token="card_timeout")
    assert gw.holds == {}
