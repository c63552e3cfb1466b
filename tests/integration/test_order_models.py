"""The order model against real databases: exact money, immutable history, guarded buckets, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from engine.db import Database
from orders.errors import ImmutableRecordError, MoneyError, QuantityError
from orders.models import (
    ChangeKind,
    CreditMemo,
    CreditMemoLine,
    DeliveryKind,
    DeliveryMethod,
    DocumentLineKind,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    InventoryLevel,
    Invoice,
    InvoiceLine,
    Location,
    LocationKind,
    Order,
    OrderChange,
    OrderChangeLine,
    OrderItem,
    OrderItemSummary,
    OrderSummary,
    Payment,
    PaymentAuthorization,
    Refund,
    Reservation,
    ReturnOrder,
    ReturnOrderLine,
    ReturnStatus,
)

BIG = D("99999999999999.9999")


def capture(session: Session, number: str = "A-1001", currency: str = "USD") -> OrderSummary:
    """2 x SKU-A at 19.99 (tax 3.20), 1 x SKU-B at 5.00 (tax 0.40), -2.00 off, shipping 5.00 + 0.40 tax."""
    order = Order(
        order_number=number,
        channel="web",
        currency=currency,
        customer_email="ada@example.com",
        customer_name="Ada",
        ship_to_city="London",
        delivery_method="ground",
        adjustments=D("-2.00"),
        shipping_amount=D("5.00"),
        shipping_tax=D("0.40"),
        payment_gateway="test",
        payment_token="tok_ok",
    )
    order.items = [
        OrderItem(line_number=1, sku="SKU-A", name="A", quantity=2, unit_price=D("19.99"), tax=D("3.20")),
        OrderItem(line_number=2, sku="SKU-B", name="B", quantity=1, unit_price=D("5.00"), tax=D("0.40")),
    ]
    summary = OrderSummary(
        order=order,
        order_number=number,
        channel="web",
        currency=currency,
        customer_email="ada@example.com",
        customer_name="Ada",
        ship_to_city="London",
        order_adjustments=D("-2.00"),
        shipping_amount=D("5.00"),
        shipping_tax=D("0.40"),
        ordered_total=D("51.98"),
        shipping_total=D("5.40"),
    )
    for oi, share, total in zip(order.items, (D("-1.78"), D("-0.22")), (D("41.40"), D("5.18")), strict=True):
        summary.items.append(
            OrderItemSummary(
                order_item=oi,
                line_number=oi.line_number,
                sku=oi.sku,
                name=oi.name,
                unit_price=oi.unit_price,
                tax=oi.tax,
                adjustment_share=share,
                line_total=total,
                quantity_ordered=oi.quantity,
            )
        )
    session.add_all([order, summary])
    return summary


def test_whole_order_graph_round_trips_exactly(db: Database) -> None:
    with db.uow() as uow:
        s = uow.session
        summary = capture(s)
        item_a, item_b = summary.items
        wh = Location(code="WH1", name="Warehouse 1", kind=LocationKind.WAREHOUSE, priority=1)
        store = Location(code="ST1", name="Store 1", kind=LocationKind.STORE, ships=False, pickup=True)
        ground = DeliveryMethod(code="ground", name="Ground", kind=DeliveryKind.SHIP)
        level = InventoryLevel(location=wh, sku="SKU-A", on_hand=5)
        level.reserve(2)
        item_a.allocate(2)
        fo = FulfillmentOrder(
            summary=summary, location=wh, delivery_method=ground, status=FulfillmentStatus.ALLOCATED
        )
        fo.lines.append(FulfillmentOrderLine(item=item_a, quantity=2))
        reservation = Reservation(
            item=item_a, location=wh, sku="SKU-A", quantity=2, fulfillment_order_id=fo.id
        )
        auth = PaymentAuthorization(
            summary=summary, gateway="test", token="tok_ok", amount=D("51.98"), remaining=D("51.98")
        )
        invoice = Invoice(
            summary=summary, fulfillment_order_id=fo.id, total=D("46.80"), shipping_amount=D("5.40")
        )
        invoice.lines.append(InvoiceLine(order_item_summary_id=item_a.id, quantity=2, amount=D("41.40")))
        invoice.lines.append(InvoiceLine(kind=DocumentLineKind.SHIPPING, amount=D("5.40")))
        payment = Payment(summary=summary, gateway="test", authorization_id=auth.id, invoice_id=invoice.id)
        payment.amount = D("46.80")
        rma = ReturnOrder(summary=summary, status=ReturnStatus.SUBMITTED, reason="too small")
        rma.lines.append(ReturnOrderLine(item=item_a, quantity=1))
        change = OrderChange(
            summary=summary,
            kind=ChangeKind.RETURN,
            amount=D("20.70"),
            refund_due=D("20.70"),
            actor="agent:bo",
        )
        change.lines.append(OrderChangeLine(item=item_a, quantity=1, amount=D("20.70")))
        memo = CreditMemo(summary=summary, change_id=change.id, return_order_id=rma.id, total=D("20.70"))
        memo.lines.append(CreditMemoLine(order_item_summary_id=item_a.id, quantity=1, amount=D("20.70")))
        refund = Refund(
            summary=summary, payment=payment, credit_memo_id=memo.id, gateway="test", amount=D("20.70")
        )
        s.add_all([store, level, reservation, auth, payment, refund, memo, change, fo, invoice, rma])
        uow.commit()
        ids = {"summary": summary.id, "item_b": item_b.id, "fo": fo.id, "memo": memo.id}

    with db.uow() as uow:
        s = uow.session
        summary = s.get_one(OrderSummary, ids["summary"])
        assert summary.order.items[0].unit_price == D("19.99")
        assert [i.line_total for i in summary.items] == [D("41.40"), D("5.18")]
        assert (
            sum((i.line_total for i in summary.items), D(0)) + summary.shipping_charge
            == summary.ordered_total
        )
        assert summary.grand_total == D("51.98")
        assert summary.balance_due == D("51.98")
        assert summary.items[0].quantity_allocated == 2
        assert summary.fulfillment_orders[0].lines[0].item.sku == "SKU-A"
        assert summary.fulfillment_orders[0].location.code == "WH1"
        assert summary.invoices[0].total == D("46.80")
        assert [line.amount for line in summary.invoices[0].lines] == [D("41.40"), D("5.40")]
        assert summary.payments[0].refundable == D("46.80")
        assert summary.refunds[0].payment.id == summary.payments[0].id
        assert summary.credit_memos[0].lines[0].amount == D("20.70")
        assert summary.return_orders[0].lines[0].quantity_outstanding == 1
        assert summary.changes[0].kind is ChangeKind.RETURN
        assert summary.changes[0].lines[0].amount == D("20.70")
        assert summary.authorizations[0].remaining == D("51.98")
        level = s.scalars(select(InventoryLevel).where(InventoryLevel.sku == "SKU-A")).one()
        assert (level.on_hand, level.reserved, level.available) == (5, 2, 3)
        assert summary.created_at.tzinfo is not None
        assert summary.created_at.utcoffset() == UTC.utcoffset(None)
        assert isinstance(summary.ordered_total, D)


def test_money_columns_are_exact(db: Database) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        summary.captured_total = D("0.10") + D("0.20")
        summary.invoiced_total = BIG
        summary.order_adjustments = D("-0.0001")
        uow.commit()
        sid = summary.id
    with db.uow() as uow:
        s = uow.session
        summary = s.get_one(OrderSummary, sid)
        assert summary.captured_total == D("0.3")
        assert summary.captured_total == D("0.10") + D("0.20")
        assert summary.invoiced_total == BIG
        assert summary.order_adjustments == D("-0.0001")
        # Comparisons and sums in SQL stay numeric and exact on both databases.
        assert s.scalar(select(OrderSummary.id).where(OrderSummary.ordered_total > D("51.97"))) == sid
        assert s.scalar(select(OrderSummary.id).where(OrderSummary.ordered_total > D("51.98"))) is None
        assert s.scalar(select(func.sum(OrderItemSummary.line_total))) == D("46.58")
        assert s.scalar(select(func.max(OrderItemSummary.line_total))) == D("41.40")


@pytest.mark.parametrize(
    ("value", "error"),
    [(0.1, "not float"), (D("0.00001"), "decimal places"), (D("1E14"), "too large"), (D("NaN"), "finite")],
)
def test_money_columns_refuse_what_they_cannot_keep(db: Database, value: object, error: str) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        summary.captured_total = value  # type: ignore[assignment]
        with pytest.raises(StatementError) as raised:
            uow.session.flush()
        assert isinstance(raised.value.orig, MoneyError)
        assert error.split()[-1] in str(raised.value.orig)
    with db.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(OrderSummary)) == 0


def test_order_is_immutable_after_capture(db: Database) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        uow.commit()
        order_id = summary.order_id

    with db.uow() as uow:
        order = uow.session.get_one(Order, order_id)
        order.channel = "phone"
        with pytest.raises(ImmutableRecordError, match="never updated"):
            uow.commit()
    with db.uow() as uow:
        order = uow.session.get_one(Order, order_id)
        order.items[0].unit_price = D("0.01")
        with pytest.raises(ImmutableRecordError):
            uow.commit()
    with db.uow() as uow:
        order = uow.session.get_one(Order, order_id)
        order.items.append(OrderItem(line_number=3, sku="SKU-C", quantity=1, unit_price=D("1.00")))
        with pytest.raises(ImmutableRecordError, match="after it was captured"):
            uow.commit()
    with db.uow() as uow:
        uow.session.delete(uow.session.get_one(Order, order_id))
        with pytest.raises(ImmutableRecordError, match="never deleted"):
            uow.commit()

    with db.uow() as uow:
        order = uow.session.get_one(Order, order_id)
        assert order.channel == "web"
        assert [i.unit_price for i in order.items] == [D("19.99"), D("5.00")]
        # Reading and touching without a real change is not an update.
        order.channel = "web"
        uow.commit()


def test_change_records_are_immutable(db: Database) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        change = OrderChange(summary=summary, kind=ChangeKind.DISCOUNT, amount=D("10.00"), reason="late")
        uow.session.add(change)
        uow.commit()
        change_id = change.id
    with db.uow() as uow:
        change = uow.session.get_one(OrderChange, change_id)
        change.amount = D("1.00")
        with pytest.raises(ImmutableRecordError):
            uow.commit()
    with db.uow() as uow:
        assert uow.session.get_one(OrderChange, change_id).amount == D("10.00")


def test_bucket_violation_changes_nothing_in_the_database(db: Database) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        summary.items[0].allocate(2)
        summary.items[0].fulfill(1)
        uow.commit()
        item_id = summary.items[0].id

    with db.uow() as uow:
        item = uow.session.get_one(OrderItemSummary, item_id)
        before = (item.buckets(), item.canceled_amount, item.version)
        with pytest.raises(QuantityError, match="SKU-A"):
            item.cancel_units(2)
        with pytest.raises(QuantityError):
            item.initiate_return(2)
        uow.commit()

    with db.uow() as uow:
        item = uow.session.get_one(OrderItemSummary, item_id)
        assert (item.buckets(), item.canceled_amount, item.version) == before
        assert item.quantity_available_to_cancel == 1


def test_database_checks_back_the_domain(db: Database) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        uow.commit()
        item_id = summary.items[0].id
    with db.engine.connect() as conn, pytest.raises(IntegrityError):
        conn.execute(
            text("UPDATE order_item_summaries SET quantity_canceled = -1 WHERE id = :item"), {"item": item_id}
        )


def test_duplicate_order_number_is_refused(db: Database) -> None:
    with db.uow() as uow:
        capture(uow.session, "DUP-1")
        uow.commit()
    with db.uow() as uow:
        capture(uow.session, "DUP-1")
        with pytest.raises(IntegrityError):
            uow.commit()


def test_version_column_bumps_and_stops_a_stale_writer(db: Database) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        uow.commit()
        sid = summary.id
        assert summary.version == 1

    with db.uow() as first, db.uow() as second:
        mine = first.session.get_one(OrderSummary, sid)
        theirs = second.session.get_one(OrderSummary, sid)
        mine.captured_total = D("10.58")
        first.commit()
        assert mine.version == 2
        theirs.canceled_total = D("20.70")
        with pytest.raises(StaleDataError):
            second.commit()

    with db.uow() as uow:
        summary = uow.session.get_one(OrderSummary, sid)
        assert (summary.version, summary.captured_total, summary.canceled_total) == (2, D("10.58"), D("0"))
        assert summary.updated_at >= summary.created_at


def test_two_reservations_for_the_last_unit_cannot_both_win(db: Database) -> None:
    with db.uow() as uow:
        wh = Location(code="WH1", name="Warehouse 1")
        uow.session.add(InventoryLevel(location=wh, sku="SKU-Z", on_hand=1))
        uow.commit()

    with db.uow() as first, db.uow() as second:
        query = select(InventoryLevel).where(InventoryLevel.sku == "SKU-Z")
        mine = first.session.scalars(query).one()
        theirs = second.session.scalars(query).one()
        mine.reserve(1)
        theirs.reserve(1)
        first.commit()
        with pytest.raises(StaleDataError):
            second.commit()

    with db.uow() as uow:
        level = uow.session.scalars(select(InventoryLevel).where(InventoryLevel.sku == "SKU-Z")).one()
        assert (level.on_hand, level.reserved, level.available, level.version) == (1, 1, 0, 2)


def test_timestamps_are_utc_and_naive_ones_are_refused(db: Database) -> None:
    with db.uow() as uow:
        summary = capture(uow.session)
        summary.created_at = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
        uow.commit()
        sid = summary.id
    with db.uow() as uow:
        summary = uow.session.get_one(OrderSummary, sid)
        assert summary.created_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
        assert summary.created_at.tzinfo is not None
        summary.updated_at = datetime(2024, 3, 1, 12, 0)
        with pytest.raises(StatementError, match="naive"):
            uow.commit()
