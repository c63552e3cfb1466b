"""The service operations on the domain alone: buckets checked first, change records, exact money,
refunds to the payments the money came from, newest first, once per idempotency key."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db import Database
from orders import billing, exchanges, fulfillment, payments, refunds, returns, routing, service_ops
from orders.errors import Conflict, ImmutableRecordError, QuantityError
from orders.gateway import calls_for
from orders.models import (
    ChangeKind,
    FulfillmentStatus,
    ItemOrigin,
    OrderChange,
    OrderChangeLine,
    OrderSummary,
    Refund,
    ReturnOrder,
    ReturnStatus,
)
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
        assert [c.calls for c in calls_for(session, "rf", "refund")] == [1]
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
