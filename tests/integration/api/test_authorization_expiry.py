"""Authorizations lapse: the test gateway's hold for seven days. A shipment after that authorizes the
invoice anew before capturing it; a cancel lets a lapsed authorization go without voiding it; and a
retried capture decides as of its first attempt, so it repeats that attempt's calls and no other."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from engine.clock import ManualClock
from engine.worker import run_due_work
from orders.models import AuthorizationStatus, GatewayCall, Order, Payment, PaymentAuthorization
from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import item_id, run_ok, ship_open, summary
from tests.integration.api.test_flaky_gateway import activate_edited_clone, activate_fast_retry_clone
from tests.integration.api.test_worked_example import example_order, place, setup_stock

HOLD = timedelta(days=7)


def _clock(api: Api) -> ManualClock:
    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    return clock


def _placed(api: Api, token: str = "tok_ok") -> str:
    setup_stock(api)
    return str(place(api, example_order(token=token))["id"])


def _authorizations(api: Api, summary_id: str) -> list[tuple[str, Decimal, Decimal]]:
    with api.database.session_factory() as session:
        rows = session.scalars(
            select(PaymentAuthorization)
            .where(PaymentAuthorization.order_summary_id == summary_id)
            .order_by(PaymentAuthorization.created_at, PaymentAuthorization.id)
        )
        return [(str(auth.status), auth.amount, auth.remaining) for auth in rows]


def _calls(api: Api, operation: str) -> list[tuple[str, str, int]]:
    """(key's last part, outcome, times called) of each key the gateway saw for ``operation``."""
    with api.database.session_factory() as session:
        rows = session.scalars(
            select(GatewayCall).where(GatewayCall.operation == operation).order_by(GatewayCall.created_at)
        )
        return [(call.idempotency_key.rsplit(":", 1)[-1], call.outcome, call.calls) for call in rows]


def _captured(api: Api) -> list[Decimal]:
    with api.database.session_factory() as session:
        return list(session.scalars(select(Payment.amount).order_by(Payment.created_at)))


def _exceptions(api: Api, summary_id: str) -> list[tuple[str, str]]:
    return [(e["category"], e["message"]) for e in summary(api, summary_id)["process_exceptions"]]


def test_the_test_gateway_holds_an_authorization_for_seven_days(api: Api) -> None:
    placed_at = _clock(api).now()
    sid = _placed(api)
    with api.database.session_factory() as session:
        auth = session.scalars(
            select(PaymentAuthorization).where(PaymentAuthorization.order_summary_id == sid)
        ).one()
        assert auth.expires_at == placed_at + HOLD


def test_a_shipment_after_the_authorization_lapsed_authorizes_the_invoice_anew(api: Api) -> None:
    sid = _placed(api)
    _clock(api).advance(delta=HOLD + timedelta(days=1))

    assert ship_open(api, sid, "SKU-B") == 1
    view = summary(api, sid)
    assert view["process_exceptions"] == []
    assert view["status"] == "Partially Fulfilled"
    assert view["totals"]["captured"] == "10.58"
    # The lapsed 51.98 is no longer counted; the new authorization was drawn in full.
    assert view["totals"]["authorized"] == "0.00"
    assert view["totals"]["balance_due"] == "41.40"
    assert _authorizations(api, sid) == [
        (AuthorizationStatus.EXPIRED, Decimal("51.98"), Decimal("51.98")),
        (AuthorizationStatus.CLOSED, Decimal("10.58"), Decimal(0)),
    ]

    assert ship_open(api, sid) == 1
    view = summary(api, sid)
    assert view["process_exceptions"] == []
    assert view["status"] == "Fulfilled"
    assert view["totals"]["captured"] == "51.98"
    assert view["totals"]["balance_due"] == "0.00"
    assert view["totals"]["authorized"] == "0.00"
    assert [amount for _status, amount, _left in _authorizations(api, sid)] == [
        Decimal("51.98"),
        Decimal("10.58"),
        Decimal("41.40"),
    ]
    assert _captured(api) == [Decimal("10.58"), Decimal("41.40")]
    # Each new authorization once, each capture from the one it drew on; nothing voided.
    assert [(last, outcome, n) for last, outcome, n in _calls(api, "authorize")][1:] == [
        ("reauth", "approved", 1),
        ("reauth", "approved", 1),
    ]
    assert [(last, n) for last, _outcome, n in _calls(api, "capture")] == [
        ("reauth-capture", 1),
        ("reauth-capture", 1),
    ]
    assert _calls(api, "void") == []
    auth_ids = _authorization_ids(api, sid)
    # What the flows' steps said: the first authorization, then each capture with what it authorized
    # anew, in the currency's places.
    outputs = [step["output"] for step in _steps(api, sid) if step["kind"] == "action"]
    assert {"authorized": "51.98", "authorization_id": auth_ids[0]} in outputs
    captures = [out for out in outputs if isinstance(out, dict) and "reauthorized" in out]
    assert sorted(str(out) for out in captures) == [
        str({"amount": "10.58", "reauthorized": "10.58"}),
        str({"amount": "41.40", "reauthorized": "41.40"}),
    ]


def _steps(api: Api, summary_id: str) -> list[dict[str, object]]:
    steps: list[dict[str, object]] = []
    for run in api.get(f"/api/v1/flow-runs?order_summary_id={summary_id}").json()["items"]:
        steps.extend(api.get(f"/api/v1/flow-runs/{run['id']}").json()["steps"])
    return steps


def test_before_the_authorization_lapses_a_capture_draws_on_it_alone(api: Api) -> None:
    sid = _placed(api)
    _clock(api).advance(delta=HOLD - timedelta(minutes=1))
    assert ship_open(api, sid) == 2
    view = summary(api, sid)
    assert view["totals"]["captured"] == "51.98"
    assert _authorizations(api, sid) == [(AuthorizationStatus.CLOSED, Decimal("51.98"), Decimal(0))]
    assert len(_calls(api, "authorize")) == 1
    # Each capture keyed by the authorization it drew on.
    [auth_id] = _authorization_ids(api, sid)
    assert {last for last, _outcome, _n in _calls(api, "capture")} == {auth_id}


def _authorization_ids(api: Api, summary_id: str) -> list[str]:
    with api.database.session_factory() as session:
        return list(
            session.scalars(
                select(PaymentAuthorization.id)
                .where(PaymentAuthorization.order_summary_id == summary_id)
                .order_by(PaymentAuthorization.created_at, PaymentAuthorization.id)
            )
        )


def test_with_reauthorize_off_a_lapsed_authorization_fails_the_capture_and_captures_nothing(
    api: Api,
) -> None:
    activate_edited_clone(
        api,
        "invoice_and_capture",
        "no_reauth",
        "capture_funds(invoice: invoice)",
        "capture_funds(invoice: invoice, reauthorize: false)",
    )

    sid = _placed(api)
    _clock(api).advance(delta=HOLD)  # lapsed at the very instant it expires
    assert ship_open(api, sid, "SKU-B") == 1
    [(category, message)] = _exceptions(api, sid)
    assert category == "Payment"
    assert "only 0.00 is authorized (51.98 lapsed)" in message
    assert summary(api, sid)["totals"]["captured"] == "0.00"
    assert _calls(api, "capture") == []
    assert len(_calls(api, "authorize")) == 1


def test_a_declined_reauthorization_captures_nothing(api: Api) -> None:
    sid = _placed(api)
    # The card on file no longer authorizes (canceled since the order was placed).
    with api.database.session_factory() as session:
        session.execute(update(Order).values(payment_token="tok_decline"))
        session.commit()
    _clock(api).advance(delta=HOLD + timedelta(hours=1))
    assert ship_open(api, sid, "SKU-B") == 1
    [(category, message)] = _exceptions(api, sid)
    assert category == "Payment"
    assert "declined" in message
    view = summary(api, sid)
    assert view["totals"]["captured"] == "0.00"
    assert _calls(api, "capture") == []
    # Nothing of the failed step was kept: the authorization is marked lapsed by the next step that looks.
    assert [status for status, _a, _r in _authorizations(api, sid)] == [AuthorizationStatus.AUTHORIZED]


def test_a_cancel_lets_a_lapsed_authorization_go_without_voiding_it(api: Api) -> None:
    sid = _placed(api)
    _clock(api).advance(delta=HOLD + timedelta(days=2))
    view = summary(api, sid)
    lines = [{"item_id": item_id(view, sku), "quantity": q} for sku, q in (("SKU-A", 2), ("SKU-B", 1))]
    run_ok(api, sid, "cancel", {"lines": lines})
    view = summary(api, sid)
    assert view["status"] == "Canceled"
    assert view["totals"]["authorized"] == "0.00"
    assert _authorizations(api, sid) == [(AuthorizationStatus.EXPIRED, Decimal("51.98"), Decimal("51.98"))]
    assert _calls(api, "void") == []


def test_a_retried_capture_decides_as_of_its_first_attempt(api: Api) -> None:
    """The first attempt, a minute before the authorization lapses, times out; its retry comes after.
    It must send the same capture again (the gateway may have carried it out), not lapse the
    authorization and authorize anew: that could take the money twice."""
    setup_stock(api)
    activate_fast_retry_clone(api)
    clock = _clock(api)
    placed_at = clock.now()
    sid = str(place(api, example_order(token="tok_flaky"))["id"])
    clock.advance(1)
    assert run_due_work(api.database, runtime=api.runtime) == 1  # the authorization's retry
    assert summary(api, sid)["totals"]["authorized"] == "51.98"

    clock.set(placed_at + HOLD - timedelta(seconds=30))
    assert ship_open(api, sid, "SKU-B") == 1  # its capture times out: retried in a minute
    assert summary(api, sid)["totals"]["captured"] == "0.00"
    clock.advance(60)
    assert run_due_work(api.database, runtime=api.runtime) == 1
    view = summary(api, sid)
    assert view["process_exceptions"] == []
    assert view["totals"]["captured"] == "10.58"
    [auth_id] = _authorization_ids(api, sid)
    assert _calls(api, "capture") == [(auth_id, "approved", 2)]
    assert [last for last, _outcome, _n in _calls(api, "authorize")] == [_calls(api, "authorize")[0][0]]
    # Nothing after it looked at the authorization again: its rest is marked lapsed by the next step.
    assert _authorizations(api, sid) == [(AuthorizationStatus.AUTHORIZED, Decimal("51.98"), Decimal("41.40"))]
