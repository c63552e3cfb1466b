"""The test gateway's tokens and idempotency, and authorization and capture through it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from engine.db import Database
from orders.errors import PaymentError
from orders.gateway import (
    GatewayDeclined,
    GatewayMismatch,
    GatewayResult,
    GatewayTimeout,
    authorization_expiry,
    calls_for,
    get_gateway,
)
from orders.gateway import _gateways as gateway_registry
from orders.models import AuthorizationStatus, OrderSummary
from orders.payments import ensure_funds
from tests.integration.orders.conftest import NOW, capture, worked_example_body


def _authorize(db: Database, token: str, key: str, amount: str = "10.00") -> str:
    with db.session_factory() as session:
        return (
            get_gateway("test")
            .authorize(session, token=token, amount=D(amount), currency="USD", idempotency_key=key)
            .reference
        )


def _calls(db: Database, key: str) -> list[tuple[str, int, str]]:
    with db.session_factory() as session:
        return [(c.operation, c.calls, c.outcome) for c in calls_for(session, key)]


def test_tok_ok_approves_and_a_repeated_key_returns_the_first_result(db: Database) -> None:
    first = _authorize(db, "tok_ok", "k-ok")
    second = _authorize(db, "tok_ok", "k-ok", amount="99.00")
    assert first == second
    assert _calls(db, "k-ok") == [("authorize", 2, "approved")]


def test_tok_decline_declines_authorization_only(db: Database) -> None:
    with pytest.raises(GatewayDeclined):
        _authorize(db, "tok_decline", "k-dec")
    with db.session_factory() as session:
        gateway = get_gateway("test")
        assert gateway.refund(
            session,
            token="tok_decline",
            payment_reference="p",
            amount=D(1),
            currency="USD",
            idempotency_key="k-r",
        ).reference
    assert _calls(db, "k-dec") == [("authorize", 1, "declined")]


def test_tok_capture_fail_authorizes_but_declines_every_capture(db: Database) -> None:
    reference = _authorize(db, "tok_capture_fail", "k-cf")
    with db.session_factory() as session:
        gateway = get_gateway("test")
        for _ in range(2):
            with pytest.raises(GatewayDeclined):
                gateway.capture(
                    session,
                    token="tok_capture_fail",
                    authorization_reference=reference,
                    amount=D(1),
                    currency="USD",
                    idempotency_key="k-cf-cap",
                )
    assert _calls(db, "k-cf-cap") == [("capture", 2, "declined")]


def test_tok_flaky_times_out_first_then_succeeds_per_key(db: Database) -> None:
    with pytest.raises(GatewayTimeout):
        _authorize(db, "tok_flaky", "k-fl")
    reference = _authorize(db, "tok_flaky", "k-fl")
    assert _authorize(db, "tok_flaky", "k-fl") == reference
    # Another key starts over: its first attempt times out too.
    with pytest.raises(GatewayTimeout):
        _authorize(db, "tok_flaky", "k-fl-2")
    assert _calls(db, "k-fl") == [("authorize", 3, "approved")]


def test_unknown_tokens_are_declined(db: Database) -> None:
    with pytest.raises(GatewayDeclined):
        _authorize(db, "tok_nonsense", "k-unknown")


def test_ensure_funds_is_idempotent_and_tops_up(world: Database) -> None:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body())
        session.commit()
        sid = summary.id
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        auth = ensure_funds(session, summary, D("40.00"), key="run:ensure:1", at=NOW)
        session.commit()
        assert auth is not None and auth.amount == D("40.00")
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        assert ensure_funds(session, summary, D("40.00"), key="run:ensure:1", at=NOW) is not None
        assert summary.authorized_total == D("40.00")
        top_up = ensure_funds(session, summary, summary.balance_due, key="run:ensure:2", at=NOW)
        session.commit()
        assert top_up is not None and top_up.amount == D("11.98")
        assert summary.authorized_total == D("51.98")
    assert _calls(world, "run:ensure:1") == [("authorize", 1, "approved")]


def test_a_declined_authorization_writes_nothing(world: Database) -> None:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body(token="tok_decline"))
        session.commit()
        with pytest.raises(PaymentError):
            ensure_funds(session, summary, summary.balance_due, key="run:decline", at=NOW)
        assert summary.authorizations == []
        assert summary.authorized_total == 0


def test_ensure_funds_counts_no_lapsed_authorization_and_authorizes_in_full_again(world: Database) -> None:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body())
        first = ensure_funds(session, summary, summary.balance_due, key="run:lapse:1", at=NOW)
        session.commit()
        assert first is not None and first.expires_at == NOW + timedelta(days=7)
    later = NOW + timedelta(days=7)  # the moment it lapses
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, summary.id)
        again = ensure_funds(session, summary, summary.balance_due, key="run:lapse:2", at=later)
        session.commit()
        assert again is not None and again.amount == D("51.98")
        assert again.expires_at == later + timedelta(days=7)
        assert [(a.status, a.remaining) for a in summary.authorizations] == [
            (AuthorizationStatus.EXPIRED, D("51.98")),
            (AuthorizationStatus.AUTHORIZED, D("51.98")),
        ]
        assert summary.authorized_total == D("51.98")
        # Covered by the new one a second before it lapses too.
        assert (
            ensure_funds(
                session,
                summary,
                summary.balance_due,
                key="run:lapse:3",
                at=later + timedelta(days=7, seconds=-1),
            )
            is None
        )


class _HalfApproving:
    """A processor that approves half of what it is asked (a partial approval)."""

    name = "half"

    def authorize(
        self, session: object, *, token: str, amount: D, currency: str, idempotency_key: str
    ) -> GatewayResult:
        return GatewayResult("half_1", amount / 2)


def test_an_authorization_for_another_amount_than_asked_is_a_mismatch_and_writes_nothing(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(gateway_registry, "test", _HalfApproving())
    with world.session_factory() as session:
        summary = capture(session, worked_example_body())
        with pytest.raises(GatewayMismatch, match=r"not the 51\.98 asked"):
            ensure_funds(session, summary, summary.balance_due, key="run:half", at=NOW)
        assert summary.authorizations == []
        assert summary.authorized_total == 0


def test_an_authorization_lapses_when_its_gateway_says_or_after_the_gateways_hold() -> None:
    at = NOW
    said = GatewayResult("r", D(1), expires_at=datetime(2026, 2, 1, 9, 0))  # no zone: UTC
    assert authorization_expiry(get_gateway("test"), said, at) == datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    assert authorization_expiry(get_gateway("test"), GatewayResult("r", D(1)), at) == at + timedelta(days=7)
    assert authorization_expiry(_HalfApproving(), GatewayResult("r", D(1)), at) is None  # holds until voided
