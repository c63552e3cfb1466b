"""The service operations on the domain alone: buckets checked first, change records, exact money,
refunds to the payments the money came from, newest first, once per idempotency key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db import Database
from engine.registry import ActionContext
from orders import billing, exchanges, fulfillment, payments, refunds, returns, routing, service_ops
from orders.errors import Conflict, ImmutableRecordError, NotAuthorized, QuantityError
from orders.gateway import GatewayMismatch, GatewayResult, calls_for
from orders.gateway import _gateways as gateway_registry
from orders.models import (
    AuthorizationStatus,
    ChangeKind,
    FulfillmentStatus,
    GatewayCall,
    Invoice,
    ItemOrigin,
    OrderChange,
    OrderChangeLine,
    OrderSummary,
    Payment,
    Refund,
    ReturnOrder,
    ReturnStatus,
)
from orders.testing_gateway import TestGateway
from tests.integration.orders.conftest import NOW, capture, worked_example_body


def _routed(session: Session, number: str = "S-1") -> OrderSummary:
    summary = capture(session, worked_example_body(number))
    result = routing.route_order(session, summary)
    payments.ensure_funds(session, summary, summary.balance_due, key=f"{number}:auth", at=NOW)
    fulfillment.create_fulfillment_orders(session, summary, result.allocations)
    session.flush()
    return summary


def _ship_all(session: Session, summary: OrderSummary, key: str) -> None:
    for n, fo in enumerate(list(summary.fulfillment_orders)):
        if fo.is_open:
            fulfillment.ship(session, fo.id, carrier="UPS", tracking_number="1Z", now=NOW)
            invoice = billing.create_invoice(session, fo)
            payments.capture_invoice(session, invoice, key=f"{key}:{n}", at=NOW)


def _shipped_and_invoiced(session: Session, summary: OrderSummary) -> list[Invoice]:
    """Ship every fulfillment order and invoice it, capturing nothing."""
    invoices = []
    for fo in list(summary.fulfillment_orders):
        fulfillment.ship(session, fo.id, carrier="UPS", tracking_number="1Z", now=NOW)
        invoices.append(billing.create_invoice(session, fo))
    return invoices


def _item(summary: OrderSummary, sku: str) -> str:
    return next(i.id for i in summary.items if i.sku == sku)


def test_cancel_releases_allocated_units_and_writes_an_immutable_change(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        a = _item(summary, "SKU-A")
        change = service_ops.cancel_items(session, summary, [(a, 2)], reason="changed mind", actor="agent 7")
        session.commit()
        assert (change.kind, change.amount, change.refund_due) == (ChangeKind.CANCEL, D("41.40"), D("0.00"))
        assert [(ln.quantity, ln.amount) for ln in change.lines] == [(2, D("41.40"))]
        wh1 = next(fo for fo in summary.fulfillment_orders if fo.location.code == "WH1")
        assert wh1.status == FulfillmentStatus.CANCELED  # no unit left on it
        item = next(i for i in summary.items if i.id == a)
        assert item.bucket_violations() == []
        assert (item.quantity_canceled, item.quantity_allocated) == (2, 0)

        change.reason = "edited"
        with pytest.raises(ImmutableRecordError):
            session.flush()
        session.rollback()


def test_canceling_the_last_unshipped_unit_cancels_shipping(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        lines = [(_item(summary, "SKU-A"), 2), (_item(summary, "SKU-B"), 1)]
        change = service_ops.cancel_items(session, summary, lines)
        assert change.shipping_amount == D("5.40")
        assert (summary.canceled_total, summary.grand_total) == (D("51.98"), D("0.00"))
        assert summary.status == "Canceled"


def test_refused_operations_change_nothing(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        a, b = _item(summary, "SKU-A"), _item(summary, "SKU-B")
        before = {i.id: i.buckets() for i in summary.items}
        with pytest.raises(QuantityError):
            service_ops.cancel_items(session, summary, [(b, 1), (a, 3)])  # the second line is too many
        with pytest.raises(QuantityError):
            returns.create_return_order(session, summary, [(a, 1)])  # nothing shipped
        with pytest.raises(Conflict):
            service_ops.create_discount(session, summary, D("60.00"))
        assert {i.id: i.buckets() for i in summary.items} == before
        assert session.scalar(select(func.count()).select_from(OrderChange)) == 0


def test_partial_receipt_is_credited_alone_and_shipping_refunded_once(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        _ship_all(session, summary, "cap")
        a = _item(summary, "SKU-A")
        ro = returns.create_return_order(session, summary, [(a, 2)], reason="too big")
        assert ro.status == ReturnStatus.SUBMITTED
        with pytest.raises(Conflict):
            returns.receive_return(session, ro.id, [(a, 3, "good")], now=NOW)
        ro, events = returns.receive_return(session, ro.id, [(a, 1, "good")], now=NOW)
        assert [e.name for e in events] == ["return_order.received"]
        memo = refunds.memo_for_return(session, ro, include_shipping=True)
        assert (memo.total, memo.shipping_amount) == (D("26.10"), D("5.40"))  # 20.70 + shipping
        again = refunds.memo_for_return(session, ro, include_shipping=True)
        assert again.total == D("0.00")  # nothing new received; shipping never twice
        returns.receive_return(session, ro.id, [(a, 1, "damaged")], now=NOW)
        last = refunds.memo_for_return(session, ro, include_shipping=True)
        assert last.total == D("20.70")
        assert ro.status == ReturnStatus.CLOSED
        assert summary.grand_total == D("5.18")
        assert summary.credited_total == D("46.80")


def test_refunds_go_to_the_newest_payment_first_and_once_per_key(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        _ship_all(session, summary, "cap")  # two payments: 46.80 (WH1, with shipping) then 5.18 (WH2)
        assert [p.amount for p in summary.payments] == [D("46.80"), D("5.18")]
        change = service_ops.create_discount(session, summary, D("46.58"), reason="sorry")
        assert change.refund_due == D("46.58")
        memo = refunds.memo_for_change(session, change)
        assert refunds.memo_for_change(session, change) is memo
        made = refunds.ensure_refunds(session, memo, key="rf")
        first, newest = summary.payments
        assert [(r.payment_id, r.amount) for r in made] == [(newest.id, D("5.18")), (first.id, D("41.40"))]
        assert refunds.ensure_refunds(session, memo, key="rf") == []
        # Keyed by the payment each draws on, each sent once.
        assert [r.idempotency_key for r in made] == [f"rf:{newest.id}", f"rf:{first.id}"]
        for refund in made:
            assert [c.calls for c in calls_for(session, str(refund.idempotency_key), "refund")] == [1]
        assert summary.refunded_total == D("46.58")
        assert summary.balance_due == D("0.00")
        assert session.scalar(select(func.count()).select_from(Refund)) == 2


def test_refund_never_goes_beyond_what_was_captured(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        wh2 = next(fo for fo in summary.fulfillment_orders if fo.location.code == "WH2")
        fulfillment.ship(session, wh2.id, carrier="UPS", tracking_number="1Z", now=NOW)
        billing.create_invoice(session, wh2)  # invoiced 10.58, never captured
        b = _item(summary, "SKU-B")
        ro = returns.create_return_order(session, summary, [(b, 1)])
        returns.receive_return(session, ro.id, [(b, 1, None)], now=NOW)
        memo = refunds.memo_for_return(session, ro)
        assert memo.total == D("5.18")
        assert refunds.ensure_refunds(session, memo, key="none") == []
        assert memo.refund_outstanding == D("5.18")
        assert summary.refunded_total == D("0.00")


def test_discount_spreads_over_uninvoiced_lines_by_largest_remainder(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        change = service_ops.create_discount(session, summary, D("10.00"))
        assert sorted(ln.amount for ln in change.lines) == [D("1.11"), D("8.89")]
        assert change.refund_due == D("0.00")
        assert summary.grand_total == D("41.98")


def test_exchange_adds_a_routed_line_and_refuses_without_stock(world: Database) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        _ship_all(session, summary, "cap")
        a = _item(summary, "SKU-A")
        done = exchanges.exchange_items(session, summary, [(a, 1)], [("SKU-A", 1)], reason="size")
        assert done.price_difference == D("0.00")  # same SKU, same unit value
        [new] = done.new_items
        assert (new.origin, new.quantity_allocated, new.line_total) == (ItemOrigin.EXCHANGE, 1, D("20.70"))
        assert done.allocations[0]["location"] == "WH1"
        assert done.change.kind == ChangeKind.EXCHANGE
        assert summary.grand_total == D("72.68")  # the new unit until the returned one is credited
        session.commit()
        lines_before = session.scalar(select(func.count()).select_from(OrderChangeLine))
        with pytest.raises(QuantityError):
            exchanges.exchange_items(session, summary, [(a, 1)], [("SKU-B", 99)])
        session.rollback()
        assert session.scalar(select(func.count()).select_from(OrderChangeLine)) == lines_before
        assert session.scalar(select(func.count()).select_from(ReturnOrder)) == 1


class _Halving(TestGateway):
    """The test processor, answering ``operation`` for half the amount asked (books that disagree)."""

    __test__ = False

    def __init__(self, operation: str) -> None:
        self._operation = operation

    def _call(
        self, session: Session, operation: str, token: str, amount: D | None, idempotency_key: str
    ) -> GatewayResult:
        result = super()._call(session, operation, token, amount, idempotency_key)
        if operation == self._operation:
            return GatewayResult(result.reference, result.amount / 2)
        return result


def test_a_capture_answered_for_another_amount_is_a_mismatch_and_records_nothing(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        session.commit()
        monkeypatch.setitem(gateway_registry, "test", _Halving("capture"))
        fo = summary.fulfillment_orders[0]
        fulfillment.ship(session, fo.id, carrier="UPS", tracking_number="1Z", now=NOW)
        invoice = billing.create_invoice(session, fo)
        with pytest.raises(GatewayMismatch, match="capture keyed"):
            payments.capture_invoice(session, invoice, key="cap", at=NOW)
        assert summary.captured_total == 0
        assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_a_refund_answered_for_another_amount_is_a_mismatch_and_records_nothing(
    world: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with world.session_factory() as session:
        summary = _routed(session)
        _ship_all(session, summary, "cap")
        change = service_ops.create_discount(session, summary, D("10.00"), reason="sorry")
        memo = refunds.memo_for_change(session, change)
        session.commit()
        monkeypatch.setitem(gateway_registry, "test", _Halving("refund"))
        with pytest.raises(GatewayMismatch, match="refund keyed"):
            refunds.ensure_refunds(session, memo, key="rf")
        assert summary.refunded_total == 0
        assert session.scalar(select(func.count()).select_from(Refund)) == 0


def test_a_retry_from_before_the_lapse_repeats_its_capture_though_another_step_lapsed_it(
    world: Database,
) -> None:
    """Shipment 1's capture goes out a minute before the authorization lapses and its answer is lost;
    shipment 2's capture, after the lapse, marks it lapsed and authorizes its own invoice anew. The
    retry of shipment 1 decides as of its first attempt: it sends its capture again (the gateway
    answers as the first time) instead of authorizing and capturing a second time."""
    first_try = NOW + timedelta(days=7, minutes=-1)
    later = NOW + timedelta(days=7, hours=1)
    with world.session_factory() as session:
        summary = _routed(session)
        invoices = _shipped_and_invoiced(session, summary)
        session.commit()
        one, two = invoices
        sid, one_id, two_id = summary.id, one.id, two.id
    with world.session_factory() as session:
        invoice = session.get_one(Invoice, one_id)
        payments.capture_invoice(session, invoice, key="ship1", at=first_try)
        session.rollback()  # the answer was lost: nothing of it recorded
    with world.session_factory() as session:
        taken = payments.capture_invoice(session, session.get_one(Invoice, two_id), key="ship2", at=later)
        session.commit()
        assert taken.reauthorized == two.total
    with world.session_factory() as session:
        retried = payments.capture_invoice(
            session, session.get_one(Invoice, one_id), key="ship1", at=first_try
        )
        session.commit()
        assert retried.reauthorized == 0 and [p.amount for p in retried.payments] == [one.total]
    with world.session_factory() as session:
        summary = session.get_one(OrderSummary, sid)
        calls = session.scalars(select(GatewayCall).where(GatewayCall.operation == "capture")).all()
        # What the gateway took, once per key, is what Ordo recorded: the order's total, not more.
        assert sum((c.amount for c in calls), D(0)) == summary.captured_total == D("51.98")
        assert sorted(c.calls for c in calls) == [1, 2]
        assert (
            session.scalar(
                select(func.count())
                .select_from(GatewayCall)
                .where(GatewayCall.idempotency_key == "ship1:reauth")
            )
            == 0
        )
        held = sum((a.remaining for a in summary.authorizations if a.counted_as_authorized), D(0))
        assert summary.authorized_total == held == 0


def test_a_retry_begun_before_this_release_keys_its_calls_by_position_as_it_was_keyed(
    world: Database,
) -> None:
    """A capture or refund that an earlier release tried and left waiting for its retry (it stored no
    first attempt time) sends its calls again with that release's keys: ``key``, then ``key:N``."""
    assert ActionContext(None, None, "r", "n", 2, "1").retried_from_before_first_attempt_at
    assert not ActionContext(None, None, "r", "n", 1, "1").retried_from_before_first_attempt_at
    assert not ActionContext(
        None, None, "r", "n", 2, "1", first_attempt_at=NOW
    ).retried_from_before_first_attempt_at
    with world.session_factory() as session:
        summary = _routed(session)
        fo = summary.fulfillment_orders[0]
        fulfillment.ship(session, fo.id, carrier="UPS", tracking_number="1Z", now=NOW)
        invoice = billing.create_invoice(session, fo)
        [payment] = payments.capture_invoice(
            session, invoice, key="old", at=NOW, keys_by_position=True
        ).payments
        assert payment.idempotency_key == "old"
        _ship_all(session, summary, "cap")
        change = service_ops.create_discount(session, summary, D("1.00"), reason="sorry")
        memo = refunds.memo_for_change(session, change)
        [refund] = refunds.ensure_refunds(session, memo, key="old-rf", keys_by_position=True)
        assert refund.idempotency_key == "old-rf"


def test_no_more_is_authorized_anew_than_lapsed_and_was_not_authorized_anew_before(world: Database) -> None:
    later = NOW + timedelta(days=8)
    with world.session_factory() as session:
        summary = _routed(session)
        invoices = _shipped_and_invoiced(session, summary)
        first, second = invoices
        assert payments.capture_invoice(session, first, key="c1", at=later).reauthorized == first.total
        # As if part of what lapsed had been taken before it lapsed (by a capture not recorded here).
        [lapsed] = [a for a in summary.authorizations if a.status == AuthorizationStatus.EXPIRED]
        lapsed.remaining = second.total
        with pytest.raises(NotAuthorized, match=r"only 0\.00 is authorized"):
            payments.capture_invoice(session, second, key="c2", at=later)
