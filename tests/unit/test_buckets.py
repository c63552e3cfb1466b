"""Quantity buckets and inventory refuse what would break them, and change nothing when they do."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from orders.errors import InsufficientStockError, InvalidTransitionError, QuantityError
from orders.models import (
    FulfillmentOrder,
    FulfillmentStatus,
    InventoryLevel,
    OrderItemSummary,
    OrderSummary,
    Reservation,
    ReservationStatus,
    ReturnOrder,
    ReturnStatus,
)


def make_item(ordered: int = 5, line_total: str = "50.00", currency: str = "USD") -> OrderItemSummary:
    summary = OrderSummary(
        order_number="A-1", channel="web", currency=currency, customer_email="a@example.com"
    )
    return OrderItemSummary(
        summary=summary,
        line_number=1,
        sku="SKU-A",
        unit_price=D("10.00"),
        line_total=D(line_total),
        quantity_ordered=ordered,
    )


def test_new_item_starts_with_zero_buckets() -> None:
    item = make_item()
    assert item.quantity_canceled == 0
    assert item.quantity_available_to_fulfill == 5
    assert item.quantity_available_to_cancel == 5
    assert item.quantity_available_to_return == 0
    assert item.id.startswith("ois_")


def test_lifecycle_of_a_line_keeps_the_buckets_adding_up() -> None:
    item = make_item()
    item.allocate(4)
    item.fulfill(3)
    item.release(1)
    item.cancel(2)
    item.initiate_return(2)
    item.receive_return(1)
    item.cancel_return(1)
    assert item.buckets() == {
        "quantity_ordered": 5,
        "quantity_canceled": 2,
        "quantity_allocated": 3,
        "quantity_fulfilled": 3,
        "quantity_return_initiated": 1,
        "quantity_returned": 1,
        "quantity_reship_allocated": 0,
        "quantity_reshipped": 0,
    }
    assert item.quantity_available_to_fulfill == 0
    assert item.quantity_available_to_cancel == 0
    assert item.quantity_available_to_return == 2
    assert item.bucket_violations() == []


@pytest.mark.parametrize(
    ("prepare", "operation", "k", "message"),
    [
        ((), "allocate", 6, "only 5 available to fulfill"),
        ((("allocate", 2),), "fulfill", 3, "only 2 allocated and not shipped"),
        ((("allocate", 2), ("fulfill", 2)), "release", 1, "only 0 allocated and not shipped"),
        ((("allocate", 2), ("fulfill", 2)), "cancel", 4, "only 3 available to cancel"),
        ((("allocate", 2),), "cancel", 4, "release them from their fulfillment order first"),
        ((("allocate", 2), ("fulfill", 1)), "initiate_return", 2, "only 1 available to return"),
        ((("allocate", 2), ("fulfill", 2), ("initiate_return", 1)), "receive_return", 2, "only 1 awaiting"),
        ((), "cancel_return", 1, "only 0 awaiting return"),
        ((("allocate", 1), ("fulfill", 1)), "allocate_reship", 2, "only 1 available to reship"),
        ((), "fulfill_reship", 1, "only 0 open for reshipment"),
        ((), "allocate", 0, "whole number > 0"),
        ((), "cancel", -1, "whole number > 0"),
    ],
)
def test_violations_raise_and_change_nothing(
    prepare: tuple[tuple[str, int], ...], operation: str, k: int, message: str
) -> None:
    item = make_item()
    for name, units in prepare:
        getattr(item, name)(units)
    before = item.buckets()
    with pytest.raises(QuantityError, match=message) as raised:
        getattr(item, operation)(k)
    assert "SKU-A" in str(raised.value)
    assert item.buckets() == before


def test_reship_does_not_count_twice() -> None:
    item = make_item(ordered=2)
    item.allocate(2)
    item.fulfill(2)
    item.allocate_reship(1)
    assert item.quantity_available_to_reship == 1
    item.fulfill_reship(1)
    assert item.quantity_available_to_reship == 2
    assert item.quantity_available_to_fulfill == 0
    assert item.bucket_violations() == []


def test_pool_rule_on_an_item_adds_up() -> None:
    item = make_item(ordered=3, line_total="29.99")
    assert item.cancel_units(1) == D("10.00")
    item.allocate(2)
    item.fulfill(2)
    assert item.invoice_units(1) == D("10.00")  # 19.99 / 2 = 9.995, half-even to the even cent
    assert item.invoice_units(1) == D("9.99")  # the pool's remainder
    assert item.invoiced_amount + item.canceled_amount == D("29.99")
    item.initiate_return(2)
    item.receive_return(2)
    assert item.credit_units(1) + item.credit_units(1) == item.invoiced_amount
    with pytest.raises(QuantityError, match="only 0 returned, invoiced and not credited"):
        item.credit_units(1)


def test_cannot_invoice_what_has_not_shipped() -> None:
    item = make_item()
    item.allocate(1)
    with pytest.raises(QuantityError, match="shipped and not invoiced"):
        item.invoice_units(1)
    assert item.quantity_invoiced == 0
    assert item.invoiced_amount == 0


def test_cancel_units_that_cannot_be_canceled_changes_no_money() -> None:
    item = make_item()
    item.allocate(5)
    with pytest.raises(QuantityError):
        item.cancel_units(1)
    assert item.canceled_amount == 0
    assert item.quantity_canceled == 0


def test_inventory_reserve_stops_at_available() -> None:
    level = InventoryLevel(location_id="loc_1", sku="SKU-A", on_hand=10, safety_stock=2)
    level.reserve(5)
    assert level.available == 3
    with pytest.raises(InsufficientStockError, match="only 3 available"):
        level.reserve(4)
    assert (level.on_hand, level.reserved) == (10, 5)
    level.consume(2)
    assert (level.on_hand, level.reserved, level.available) == (8, 3, 3)
    with pytest.raises(QuantityError):
        level.release(4)
    assert level.reserved == 3
    level.set_stock(2)
    assert level.available == 0
    with pytest.raises(QuantityError):
        level.set_stock(-1)
    assert level.on_hand == 2


def status_of(record: Reservation | FulfillmentOrder) -> str:
    # A call, so mypy does not keep the status it narrowed before the operation under test.
    return record.status


def test_reservation_runs_down_to_a_final_status() -> None:
    reservation = Reservation(order_item_summary_id="ois_1", location_id="loc_1", sku="SKU-A", quantity=3)
    reservation.consume(2)
    assert status_of(reservation) == ReservationStatus.ACTIVE
    reservation.release(1)
    assert status_of(reservation) == ReservationStatus.RELEASED
    with pytest.raises(QuantityError):
        reservation.consume(1)
    assert reservation.quantity == 0


def test_fulfillment_and_return_status_transitions() -> None:
    fo = FulfillmentOrder(order_summary_id="os_1", location_id="loc_1", delivery_method_id="dm_1")
    assert status_of(fo) == FulfillmentStatus.DRAFT
    fo.move_to(FulfillmentStatus.ALLOCATED)
    fo.mark_fulfilled("UPS", "1Z999")
    assert status_of(fo) == FulfillmentStatus.FULFILLED
    assert fo.fulfilled_at is not None
    with pytest.raises(InvalidTransitionError):
        fo.move_to(FulfillmentStatus.CANCELED)
    rma = ReturnOrder(order_summary_id="os_1")
    with pytest.raises(InvalidTransitionError):
        rma.move_to(ReturnStatus.RECEIVED)
    rma.move_to(ReturnStatus.SUBMITTED)
    rma.move_to(ReturnStatus.RECEIVED)
    rma.move_to(ReturnStatus.RECEIVED)
    assert rma.received_at is not None
