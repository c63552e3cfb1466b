"""Routing and reservations: fewest splits, priority, pickup stores, all-or-nothing, races for the last unit."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.db import Database
from orders.fulfillment import create_fulfillment_orders
from orders.models import InventoryLevel, OrderItemSummary, OrderSummary, Reservation
from orders.routing import route_order
from orders.setup import availability, put_inventory, put_location
from tests.integration.orders.conftest import capture, worked_example_body


def _one_line(number: str, sku: str, quantity: int, **line: Any) -> dict[str, Any]:
    return worked_example_body(
        number,
        lines=[{"sku": sku, "quantity": quantity, "unit_price": "10.00", **line}],
        adjustments="0",
    )


def _reserved_total(db: Database) -> int:
    with db.session_factory() as session:
        return int(session.scalar(select(func.coalesce(func.sum(InventoryLevel.reserved), 0))) or 0)


def _three_by_three(db: Database) -> None:
    with db.session_factory() as session:
        for n, code in enumerate(("WH3", "WH4", "WH5"), start=3):
            put_location(session, code, name=code, kind="warehouse", ships=True, pickup=False, priority=n)
            put_inventory(session, code, "SKU-C", on_hand=3)
        session.commit()


def test_five_units_from_three_by_three_makes_exactly_two_fulfillment_orders(world: Database) -> None:
    _three_by_three(world)
    with world.session_factory() as session:
        summary = capture(session, _one_line("C-1", "SKU-C", 5))
        result = route_order(session, summary, strategy="fewest_splits")
        fos = create_fulfillment_orders(session, summary, result.allocations)
        session.commit()
        assert result.unallocated_quantity == 0
        assert len(fos) == 2
        # Ties go to the lower priority numbers: WH3 and WH4, the whole of the first used first.
        placed = {fo.location.code: sum(line.quantity for line in fo.lines) for fo in fos}
        assert placed == {"WH3": 3, "WH4": 2}
    assert _reserved_total(world) == 5


def test_fewest_splits_prefers_one_location_over_a_better_priority(world: Database) -> None:
    with world.session_factory() as session:
        put_location(session, "WH9", name="far", kind="warehouse", ships=True, pickup=False, priority=9)
        put_inventory(session, "WH1", "SKU-B", on_hand=1)
        put_inventory(session, "WH9", "SKU-A", on_hand=10)
        put_inventory(session, "WH9", "SKU-B", on_hand=10)
        summary = capture(session, worked_example_body())
        fewest = route_order(session, summary, strategy="fewest_splits")
        assert [a["location"] for a in fewest.allocations] == ["WH1"]
        session.rollback()

    with world.session_factory() as session:
        put_inventory(session, "WH1", "SKU-B", on_hand=0)
        summary = capture(session, worked_example_body("P-1"))
        by_priority = route_order(session, summary, strategy="priority")
        assert {a["location"] for a in by_priority.allocations} == {"WH1", "WH2"}


def test_priority_fills_from_the_lowest_priority_number_and_splits(world: Database) -> None:
    _three_by_three(world)
    with world.session_factory() as session:
        put_inventory(session, "WH3", "SKU-C", on_hand=1)
        summary = capture(session, _one_line("C-2", "SKU-C", 5))
        result = route_order(session, summary, strategy="priority")
        placed = {a["location"]: a["lines"][0]["quantity"] for a in result.allocations}
        assert placed == {"WH3": 1, "WH4": 3, "WH5": 1}


def test_not_enough_stock_reserves_nothing(world: Database) -> None:
    with world.session_factory() as session:
        body = worked_example_body()
        body["lines"][0]["quantity"] = 6  # WH1 holds 5 of SKU-A
        summary = capture(session, body)
        result = route_order(session, summary, strategy="fewest_splits")
        session.commit()
        assert result.unallocated_quantity == 1
        assert result.allocations == []
        assert session.scalar(select(func.count()).select_from(Reservation)) == 0
        assert all(item.quantity_allocated == 0 for item in summary.items)
    assert _reserved_total(world) == 0


def test_pickup_lines_come_only_from_their_store(world: Database) -> None:
    with world.session_factory() as session:
        body = _one_line("PU-1", "SKU-A", 2, delivery_method="pickup", pickup_location="STORE1")
        summary = capture(session, body)
        result = route_order(session, summary, strategy="fewest_splits")
        assert result.allocations == [
            {
                "location": "STORE1",
                "delivery_method": "pickup",
                "lines": [{"item_id": summary.items[0].id, "sku": "SKU-A", "quantity": 2}],
            }
        ]
        session.rollback()
    with world.session_factory() as session:
        # Three wanted, the store has two: the warehouse's five do not help a pickup line.
        body = _one_line("PU-2", "SKU-A", 3, delivery_method="pickup", pickup_location="STORE1")
        summary = capture(session, body)
        assert route_order(session, summary, strategy="fewest_splits").unallocated_quantity == 1


def test_a_store_that_ships_gives_its_units_to_its_pickup_line_and_ship_lines_go_elsewhere(
    world: Database,
) -> None:
    with world.session_factory() as session:
        # The store ships too, and has the better priority; its two units are all the pickup line's.
        put_location(session, "STORE1", name="Store 1", kind="store", ships=True, pickup=True, priority=1)
        put_location(
            session, "WH1", name="Warehouse 1", kind="warehouse", ships=True, pickup=False, priority=2
        )
        pickup = {"sku": "SKU-A", "quantity": 2, "unit_price": "10.00"}
        body = worked_example_body(
            "PU-3",
            lines=[
                {**pickup, "delivery_method": "pickup", "pickup_location": "STORE1"},
                {**pickup, "name": "shipped"},
            ],
            adjustments="0",
        )
        summary = capture(session, body)
        result = route_order(session, summary, strategy="fewest_splits")
        assert result.unallocated_quantity == 0
        placed = {
            (a["location"], a["delivery_method"]): a["lines"][0]["quantity"] for a in result.allocations
        }
        assert placed == {("STORE1", "pickup"): 2, ("WH1", "ground"): 2}


def test_fewest_splits_finds_the_fewest_locations_among_many(world: Database) -> None:
    """Six SKUs: LX (the best priority) holds four of them, LS1 and LS2 three each, and eleven more
    locations one unit each. A greedy cover takes LX first and needs three; two are enough."""
    skus = [f"SKU-{n}" for n in range(1, 7)]
    with world.session_factory() as session:
        for code, priority, held in (("LX", 1, (1, 2, 4, 5)), ("LS1", 5, (1, 2, 3)), ("LS2", 5, (4, 5, 6))):
            put_location(
                session, code, name=code, kind="warehouse", ships=True, pickup=False, priority=priority
            )
            for n in held:
                put_inventory(session, code, f"SKU-{n}", on_hand=1)
        for n in range(11):
            code = f"F{n:02d}"
            put_location(
                session, code, name=code, kind="warehouse", ships=True, pickup=False, priority=20 + n
            )
            put_inventory(session, code, "SKU-1", on_hand=1)
        body = worked_example_body(
            "M-1", lines=[{"sku": sku, "quantity": 1, "unit_price": "1.00"} for sku in skus], adjustments="0"
        )
        summary = capture(session, body)
        result = route_order(session, summary, strategy="fewest_splits")
        assert result.unallocated_quantity == 0
        assert sorted(a["location"] for a in result.allocations) == ["LS1", "LS2"]


def test_ship_lines_never_come_from_locations_that_do_not_ship(world: Database) -> None:
    with world.session_factory() as session:
        put_inventory(session, "WH1", "SKU-A", on_hand=0)
        summary = capture(session, _one_line("S-1", "SKU-A", 1))
        # STORE1 holds two, but it does not ship.
        assert route_order(session, summary, strategy="priority").unallocated_quantity == 1


def test_safety_stock_is_not_available(world: Database) -> None:
    with world.session_factory() as session:
        put_inventory(session, "WH1", "SKU-A", on_hand=5, safety_stock=4)
        session.commit()
        summary = capture(session, _one_line("SS-1", "SKU-A", 2))
        assert route_order(session, summary, strategy="priority").unallocated_quantity == 1
        session.rollback()
    with world.session_factory() as session:
        assert availability(session, "SKU-A")["locations"][0]["available"] == 1


def test_reshipment_lines_move_the_reship_buckets(world: Database) -> None:
    with world.session_factory() as session:
        summary = capture(session, worked_example_body())
        item = next(i for i in summary.items if i.sku == "SKU-B")
        with pytest.raises(Exception, match="reship"):
            route_order(session, summary, strategy="priority", lines=[(item.id, 1)])


def test_concurrent_orders_for_the_last_unit_exactly_one_wins(world: Database) -> None:
    # On PostgreSQL the writers really race; SQLite lets one write at a time, and must agree.
    with world.session_factory() as session:
        put_location(session, "WHL", name="last", kind="warehouse", ships=True, pickup=False, priority=1)
        put_inventory(session, "WHL", "SKU-LAST", on_hand=1)
        ids = [capture(session, _one_line(f"L-{n}", "SKU-LAST", 1)).id for n in range(20)]
        session.commit()
    barrier = threading.Barrier(len(ids))
    outcomes: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(summary_id: str) -> None:
        try:
            with world.session_factory() as session:
                summary = session.get_one(OrderSummary, summary_id)
                session.commit()  # back to the pool, so more threads than connections can line up
                barrier.wait(timeout=30)
                result = route_order(session, summary, strategy="fewest_splits")
                session.commit()
                with lock:
                    outcomes.append(result.unallocated_quantity)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(sid,)) for sid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(outcomes) == [0] + [1] * (len(ids) - 1)
    with world.session_factory() as session:
        level = session.scalars(select(InventoryLevel).where(InventoryLevel.sku == "SKU-LAST")).one()
        assert (level.on_hand, level.reserved) == (1, 1)
        allocated = session.scalar(
            select(func.sum(OrderItemSummary.quantity_allocated)).where(OrderItemSummary.sku == "SKU-LAST")
        )
        assert allocated == 1
