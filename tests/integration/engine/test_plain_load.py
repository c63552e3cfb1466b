"""engine.db.plain_load: a Core query makes the records an ORM query would, and keeps the session's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import String, bindparam, event, func, inspect, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.db import Database
from engine.db.plain_load import RecordQuery, RecordShape
from orders import setup
from orders.models import InventoryLevel, Location, OrderSummary

BY_SKU = RecordQuery(
    InventoryLevel, InventoryLevel.sku == bindparam("b_sku"), order_by=(InventoryLevel.on_hand,)
)
ALL_LOCATIONS = RecordQuery(Location, order_by=(Location.priority,))


@pytest.fixture
def stocked(db: Database) -> Iterator[Database]:
    with db.session_factory() as session:
        for code, priority in (("WH1", 1), ("WH2", 2), ("ST1", 3)):
            setup.put_location(
                session, code, name=code, kind="warehouse", ships=True, pickup=False, priority=priority
            )
        setup.put_inventory(session, "WH1", "SKU-A", on_hand=5, safety_stock=1)
        setup.put_inventory(session, "WH2", "SKU-A", on_hand=2)
        setup.put_inventory(session, "ST1", "SKU-B", on_hand=9)
        session.commit()
    yield db


def _columns(record: Any) -> dict[str, Any]:
    return {attr.key: getattr(record, attr.key) for attr in inspect(type(record)).column_attrs}


def test_the_records_are_the_ones_an_orm_query_makes(stocked: Database) -> None:
    with stocked.session_factory() as session:
        plain = [_columns(level) for level in BY_SKU.all(session, {"b_sku": "SKU-A"})]
    with stocked.session_factory() as session:
        query = select(InventoryLevel).where(InventoryLevel.sku == "SKU-A").order_by(InventoryLevel.on_hand)
        orm = [_columns(level) for level in session.scalars(query)]
    assert plain == orm
    assert [row["on_hand"] for row in plain] == [2, 5]


def test_they_are_persistent_clean_and_written_when_changed(stocked: Database) -> None:
    with stocked.session_factory() as session:
        _low, high = BY_SKU.all(session, {"b_sku": "SKU-A"})
        state = inspect(high)
        assert state.persistent and not session.dirty
        assert high.location.code == "WH1"  # relationships load lazily, as on any loaded record
        updates: list[str] = []
        event.listen(
            session.connection(),
            "before_cursor_execute",
            lambda _c, _cur, statement, *_rest: updates.append(statement),
        )
        high.on_hand = 7
        session.commit()
        assert any(s.startswith("UPDATE inventory_levels") for s in updates)
    with stocked.session_factory() as session:
        assert [level.on_hand for level in BY_SKU.all(session, {"b_sku": "SKU-A"})] == [2, 7]


def test_a_record_the_session_holds_comes_back_as_it_is(stocked: Database) -> None:
    with stocked.session_factory() as session:
        first = ALL_LOCATIONS.all(session, {})
        with session.no_autoflush:
            first[0].name = "changed, not flushed"
            again = ALL_LOCATIONS.all(session, {})
        assert [loc is held for loc, held in zip(again, first, strict=True)] == [True, True, True]
        assert again[0].name == "changed, not flushed"


def test_pending_records_are_flushed_first_as_an_orm_query_would(stocked: Database) -> None:
    with stocked.session_factory() as session:
        session.add(Location(code="ST2", name="Store 2", kind="store", ships=False, pickup=True, priority=0))
        found = ALL_LOCATIONS.all(session, {})
        assert [loc.code for loc in found] == ["ST2", "WH1", "WH2", "ST1"]
        session.rollback()


class _Elsewhere(DeclarativeBase):
    pass


class _TwoKeys(_Elsewhere):
    __tablename__ = "two_keys"
    a: Mapped[str] = mapped_column(String(8), primary_key=True)
    b: Mapped[str] = mapped_column(String(8), primary_key=True)


def test_only_plain_one_table_records_qualify() -> None:
    with pytest.raises(TypeError, match="not a plain one-table record"):
        RecordQuery(_TwoKeys)
    assert RecordQuery(OrderSummary).model is OrderSummary


def test_extra_columns_come_with_each_record(stocked: Database) -> None:
    stock_of = (
        select(func.coalesce(func.sum(InventoryLevel.on_hand), 0))
        .where(InventoryLevel.location_id == Location.id)
        .scalar_subquery()
    )
    query = RecordQuery(Location, order_by=(Location.priority,), extra=(func.lower(Location.code), stock_of))
    with stocked.session_factory() as session:
        found = query.with_extra(session, {})
    assert [(loc.code, extra) for loc, extra in found] == [
        ("WH1", ("wh1", 5)),
        ("WH2", ("wh2", 2)),
        ("ST1", ("st1", 9)),
    ]


def test_a_shape_of_some_columns_leaves_the_rest_to_load_when_used(stocked: Database) -> None:
    shape = RecordShape(Location, keys=("code",))
    with stocked.session_factory() as session:
        row = session.execute(select(*shape.columns).where(Location.code == "WH2")).one()
        location = shape.record(session, row)
        assert "priority" not in inspect(location).dict
        assert location.priority == 2  # read when first used, as load_only leaves it
        assert not session.dirty


def test_refresh_reads_a_held_record_again_as_populate_existing_would(stocked: Database) -> None:
    shape = RecordShape(Location)
    with stocked.session_factory() as session:
        held = session.scalars(select(Location).where(Location.code == "WH1")).one()
        with stocked.engine.begin() as other:
            other.execute(update(Location).where(Location.code == "WH1").values(name="renamed elsewhere"))
        row = session.execute(select(*shape.columns).where(Location.code == "WH1")).one()
        assert shape.record(session, row) is held and held.name == "WH1"  # kept as held
        assert shape.record(session, row, refresh=True) is held
        assert held.name == "renamed elsewhere" and not session.dirty
