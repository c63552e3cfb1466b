"""Authorizations lapse: the test gateway holds money for a week. After that an authorization covers
nothing and cannot be captured or voided; a shipment's capture authorizes again what it needs of what
lapsed, once per step, whatever the retries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest

from engine.db import Database
from orders.errors import NotAuthorized
from orders.gateway import calls_for
from orders.models import AuthorizationStatus, Invoice, OrderSummary
from orders.payments import capture_invoice, ensure_funds, release_funds
from orders.testing_gateway import AUTHORIZATION_VALIDITY
from tests.integration.orders.conftest import NOW, capture, worked_example_body

WEEK_AND_A_DAY = AUTHORIZATION_VALIDITY + timedelta(days=1)


def _authorized_order(world: Database, number: str = "X-1") -> str:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body(number))
        auth = ensure_funds(session, summary, summary.balance_due, key=f"{number}:auth", now=NOW)
        assert auth is not None and auth.expires_at == NOW + AUTHORIZATION_VALIDITY
        session.commit()
        return summary.id


def _invoice(session: object, summary: OrderSummary, total: str) -> Invoice:
    invoice = Invoice(summary=summary, total=D(total))
    session.add(invoice)  # type: ignore[attr-defined]
    return invoice


def test_a_lapsed_authorization_covers_nothing_and_a_new_one_is_asked_for(world: Database) -> None:
    sid = _authorized_order(world)
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        # Within the week the order is covered: nothing is asked.
        assert (
            ensure_funds(session, summary, summary.balance_due, key="again", now=NOW + timedelta(days=6))
            is None
        )
        later = NOW + WEEK_AND_A_DAY
        fresh = ensure_funds(session, summary, summary.balance_due, key="after", now=later)
        session.commit()
        assert (
            fresh is not None
            and fresh.amount == D("51.98")
            and fresh.expires_at == later + AUTHORIZATION_VALIDITY
        )
        first = next(a for a in summary.authorizations if a.idempotency_key == "X-1:auth")
        assert (first.status, first.remaining) == (AuthorizationStatus.CLOSED, D(0))
        assert summary.authorized_total == D("51.98")


def test_a_capture_after_the_lapse_authorizes_again_what_the_invoice_needs(world: Database) -> None:
    sid = _authorized_order(world)
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        early = _invoice(session, summary, "10.58")
        session.flush()
        capture_invoice(session, early, key="cap1", now=NOW + timedelta(days=1))
        late = _invoice(session, summary, "41.40")
        session.flush()
        taken = capture_invoice(session, late, key="cap2", now=NOW + WEEK_AND_A_DAY)
        session.commit()
        assert [p.amount for p in taken] == [D("41.40")]
        assert summary.captured_total == D("51.98")
        assert summary.authorized_total == D(0)
        first, second = sorted(summary.authorizations, key=lambda a: a.created_at)
        assert (first.amount, first.remaining, first.status) == (D("51.98"), D(0), AuthorizationStatus.CLOSED)
        assert (second.amount, second.remaining, second.idempotency_key) == (
            D("41.40"),
            D(0),
            "cap2:reauthorize",
        )
        assert [(c.operation, c.calls) for c in calls_for(session, "cap2:reauthorize")] == [("authorize", 1)]


def test_a_retried_capture_authorizes_again_only_once(world: Database) -> None:
    sid = _authorized_order(world)
    later = NOW + WEEK_AND_A_DAY
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        invoice = _invoice(session, summary, "51.98")
        session.commit()
        invoice_id = invoice.id
    # The first attempt's rows are lost (a crash before its commit); the gateway remembers its calls.
    with world.session_factory() as session:
        capture_invoice(session, session.get_one(Invoice, invoice_id), key="cap", now=later)
        session.rollback()
    with world.session_factory() as session:
        capture_invoice(session, session.get_one(Invoice, invoice_id), key="cap", now=later)
        session.commit()
        summary = session.get_one(OrderSummary, sid)
        assert summary.captured_total == D("51.98")
        # One authorization at the gateway for the key (on PostgreSQL it counts the repeat; on SQLite
        # the test gateway records inside the lost transaction, so only the second call is there).
        assert [c.operation for c in calls_for(session, "cap:reauthorize")] == ["authorize"]
        assert len([a for a in summary.authorizations if a.idempotency_key == "cap:reauthorize"]) == 1


def test_what_never_was_authorized_is_still_refused(world: Database) -> None:
    """Authorizing again covers what lapsed, not an invoice beyond what the order ever held."""
    sid = _authorized_order(world)
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        invoice = _invoice(session, summary, "60.00")
        session.flush()
        with pytest.raises(NotAuthorized, match=r"only 51\.98 is authorized"):
            capture_invoice(session, invoice, key="cap", now=NOW + WEEK_AND_A_DAY)


def test_a_lapsed_authorization_is_closed_not_voided(world: Database) -> None:
    sid = _authorized_order(world)
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        summary.canceled_total = summary.ordered_total  # nothing is owed any more
        released = release_funds(session, summary, key="rel", now=NOW + WEEK_AND_A_DAY)
        session.commit()
        assert released == D("51.98")
        assert summary.authorized_total == D(0)
        assert [a.status for a in summary.authorizations] == [AuthorizationStatus.CLOSED]
        assert [c.operation for c in calls_for(session, f"rel:{summary.authorizations[0].id}")] == []
