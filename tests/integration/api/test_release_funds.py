"""Authorizations the order no longer needs are voided at the gateway, through the starter flows:
after a cancel that leaves nothing to bill, and once a partly canceled order is paid in full."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import ManualClock
from engine.db import Database
from engine.worker import run_due_work
from orders.gateway import GatewayResult
from orders.gateway import _gateways as gateway_registry
from orders.models import AuthorizationStatus, GatewayCall, OrderChange, PaymentAuthorization
from orders.testing_gateway import TestGateway
from tests.integration.api.conftest import Api
from tests.integration.api.service_helpers import item_id, run_ok, ship_open, summary
from tests.integration.api.test_flaky_gateway import activate_fast_retry_clone
from tests.integration.api.test_worked_example import example_order, place, setup_stock


def _placed(api: Api) -> str:
    setup_stock(api)
    return str(place(api, example_order())["id"])


def _voids(api: Api) -> list[GatewayCall]:
    with api.database.session_factory() as session:
        return list(session.scalars(select(GatewayCall).where(GatewayCall.operation == "void")))


def _authorizations(api: Api, summary_id: str) -> list[tuple[str, Decimal]]:
    with api.database.session_factory() as session:
        rows = session.scalars(
            select(PaymentAuthorization).where(PaymentAuthorization.order_summary_id == summary_id)
        )
        return [(str(auth.status), auth.remaining) for auth in rows]


def _cancel_all(api: Api, summary_id: str) -> None:
    view = summary(api, summary_id)
    lines = [{"item_id": item_id(view, sku), "quantity": q} for sku, q in (("SKU-A", 2), ("SKU-B", 1))]
    run_ok(api, summary_id, "cancel", {"lines": lines})


def test_a_full_cancel_voids_the_authorization(api: Api) -> None:
    sid = _placed(api)
    _cancel_all(api, sid)
    view = summary(api, sid)
    assert view["status"] == "Canceled"
    assert view["totals"]["grand_total"] == "0.00"
    assert view["totals"]["authorized"] == "0.00"
    assert _authorizations(api, sid) == [(AuthorizationStatus.VOIDED, Decimal(0))]
    assert [(call.outcome, call.calls) for call in _voids(api)] == [("approved", 1)]


def test_a_partial_cancel_keeps_the_one_authorization_the_rest_still_needs(api: Api) -> None:
    sid = _placed(api)
    view = summary(api, sid)
    run_ok(api, sid, "cancel", {"lines": [{"item_id": item_id(view, "SKU-A"), "quantity": 1}]})
    assert summary(api, sid)["totals"]["authorized"] == "51.98"
    assert _voids(api) == []

    # Shipped in full, the order is paid: the 20.70 still held for the canceled unit is let go.
    assert ship_open(api, sid, "SKU-B") == 1
    assert summary(api, sid)["totals"]["authorized"] == "41.40"
    assert _voids(api) == []
    assert ship_open(api, sid) == 1
    view = summary(api, sid)
    assert view["totals"]["captured"] == "31.28"
    assert view["totals"]["balance_due"] == "0.00"
    assert view["totals"]["authorized"] == "0.00"
    assert _authorizations(api, sid) == [(AuthorizationStatus.VOIDED, Decimal(0))]
    assert len(_voids(api)) == 1


def test_an_order_captured_in_full_has_nothing_to_void(api: Api) -> None:
    sid = _placed(api)
    assert ship_open(api, sid) == 2
    assert summary(api, sid)["totals"]["authorized"] == "0.00"
    assert _authorizations(api, sid) == [(AuthorizationStatus.CLOSED, Decimal(0))]
    assert _voids(api) == []


def test_a_void_that_times_out_is_retried_with_the_same_key(api: Api) -> None:
    setup_stock(api)
    activate_fast_retry_clone(api)
    sid = str(place(api, example_order(token="tok_flaky"))["id"])
    clock = api.runtime.clock
    assert isinstance(clock, ManualClock)
    clock.advance(1)
    assert run_due_work(api.database, runtime=api.runtime) == 1  # the authorization's retry
    assert summary(api, sid)["totals"]["authorized"] == "51.98"

    _cancel_all(api, sid)  # the void times out: the run waits a minute for its retry
    assert summary(api, sid)["totals"]["authorized"] == "51.98"
    clock.advance(60)
    assert run_due_work(api.database, runtime=api.runtime) == 1
    view = summary(api, sid)
    assert view["totals"]["authorized"] == "0.00"
    assert view["process_exceptions"] == []
    assert _authorizations(api, sid) == [(AuthorizationStatus.VOIDED, Decimal(0))]
    # One business call, seen twice by the gateway.
    assert [(call.outcome, call.calls) for call in _voids(api)] == [("approved", 2)]


class _CommittedProbe(TestGateway):
    """The test processor, noting at each void how many changes of the order another connection sees:
    only what is committed."""

    __test__ = False
    name = "probe"

    def __init__(self, database: Database, summary_id: list[str]) -> None:
        self._database = database
        self._summary_id = summary_id
        self.changes_seen: list[int] = []

    def void(
        self, session: Session, *, token: str, authorization_reference: str, idempotency_key: str
    ) -> GatewayResult:
        with self._database.engine.connect() as other:
            count = other.execute(
                select(func.count())
                .select_from(OrderChange)
                .where(OrderChange.order_summary_id == self._summary_id[0])
            ).scalar_one()
        self.changes_seen.append(int(count))
        return super().void(
            session,
            token=token,
            authorization_reference=authorization_reference,
            idempotency_key=idempotency_key,
        )


def test_the_cancel_is_committed_before_the_void_goes_out(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    summary_id: list[str] = []
    probe = _CommittedProbe(api.database, summary_id)
    monkeypatch.setitem(gateway_registry, "probe", probe)
    setup_stock(api)
    body = example_order("PROBE-1")
    body["payment"] = {"gateway": "probe", "token": "tok_ok"}
    summary_id.append(str(place(api, body)["id"]))
    _cancel_all(api, summary_id[0])
    # A crash during the call cannot leave a void for a cancel the database would not have.
    assert probe.changes_seen == [1]
    assert summary(api, summary_id[0])["totals"]["authorized"] == "0.00"
