"""Order validation: every invalid body names its field, and nothing at all is written."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.db import Base, Database
from orders.errors import Conflict, ValidationFailed
from orders.intake import OrderInput, capture_order
from tests.integration.orders.conftest import NOW, capture, worked_example_body

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return edit


_DELETE = object()

CASES: list[tuple[str, Edit, str]] = [
    ("sku with a space", _set("lines.0.sku", "SKU A"), "lines.0.sku"),
    ("sku too long", _set("lines.1.sku", "X" * 65), "lines.1.sku"),
    ("zero quantity", _set("lines.0.quantity", 0), "lines.0.quantity"),
    ("negative quantity", _set("lines.1.quantity", -3), "lines.1.quantity"),
    ("fractional quantity", _set("lines.0.quantity", 1.5), "lines.0.quantity"),
    ("quantity as text", _set("lines.0.quantity", "two"), "lines.0.quantity"),
    ("negative price", _set("lines.0.unit_price", "-1.00"), "lines.0.unit_price"),
    ("price not a number", _set("lines.0.unit_price", "abc"), "lines.0.unit_price"),
    ("price with too many decimals", _set("lines.0.unit_price", "19.999"), "lines.0.unit_price"),
    ("yen with cents", _set("currency", "JPY"), "lines.0.unit_price"),
    ("unknown currency", _set("currency", "XXX"), "currency"),
    ("negative tax", _set("lines.1.tax", "-0.40"), "lines.1.tax"),
    ("unknown delivery method", _set("delivery_method", "teleport"), "delivery_method"),
    ("unknown line delivery method", _set("lines.1.delivery_method", "drone"), "lines.1.delivery_method"),
    ("pickup line without a store", _set("lines.0.delivery_method", "pickup"), "lines.0.pickup_location"),
    (
        "pickup at a store that is not a pickup store",
        lambda b: b["lines"][0].update(delivery_method="pickup", pickup_location="STORE2"),
        "lines.0.pickup_location",
    ),
    (
        "pickup at an unknown store",
        lambda b: b["lines"][0].update(delivery_method="pickup", pickup_location="NOWHERE"),
        "lines.0.pickup_location",
    ),
    ("total too large", _set("lines.0.unit_price", "99999999999999"), "lines.0.unit_price"),
    (
        "line total too large",
        lambda b: b["lines"][0].update(quantity=1_000_000, unit_price="100000000.00"),
        "lines.0",
    ),
    ("quantity over the limit", _set("lines.0.quantity", 1_000_001), "lines.0.quantity"),
    ("negative shipping", _set("shipping.amount", "-5"), "shipping.amount"),
    ("adjustment larger than the order", _set("adjustments", "-100.00"), "adjustments"),
    ("no lines", _set("lines", []), "lines"),
    ("missing customer", _set("customer", _DELETE), "customer"),
    ("bad email", _set("customer.email", "not-an-email"), "customer.email"),
    ("unknown gateway", _set("payment.gateway", "paypal"), "payment.gateway"),
    ("missing token", _set("payment.token", ""), "payment.token"),
    ("order number too long", _set("order_number", "N" * 65), "order_number"),
    ("amount as boolean", _set("shipping.tax", True), "shipping.tax"),
    ("bad lifecycle", _set("lifecycle", "sometimes"), "lifecycle"),
    ("NUL in a name", _set("customer.name", "Ada\x00"), "customer.name"),
    ("NUL in an address", _set("ship_to.line1", "1 Way\x00"), "ship_to.line1"),
]


def _row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
        for table in Base.metadata.sorted_tables
    }


def _field_errors(session: Session, body: dict[str, Any]) -> list[str]:
    try:
        data = OrderInput.model_validate(body)
    except ValidationError as exc:
        return [".".join(str(p) for p in err["loc"]) for err in exc.errors()]
    try:
        capture_order(session, data, now=NOW)
    except ValidationFailed as exc:
        return [err["field"] for err in exc.errors]
    return []


@pytest.mark.parametrize(("label", "edit", "field"), CASES, ids=[c[0] for c in CASES])
def test_invalid_orders_name_the_field_and_write_nothing(
    world: Database, label: str, edit: Edit, field: str
) -> None:
    body = copy.deepcopy(worked_example_body())
    edit(body)
    with world.session_factory() as session:
        before = _row_counts(session)
        fields = _field_errors(session, body)
        assert any(f == field or f.startswith(field + ".") for f in fields), (label, fields)
        session.flush()
        assert _row_counts(session) == before
        session.commit()
    assert len(CASES) >= 15


def test_every_problem_is_reported_at_once(world: Database) -> None:
    body = worked_example_body()
    body["lines"][0]["quantity"] = 0
    body["lines"][1]["sku"] = "bad sku"
    body["delivery_method"] = "nope"
    with world.session_factory() as session, pytest.raises(ValidationFailed) as caught:
        capture_order(session, OrderInput.model_validate(body), now=NOW)
    assert {e["field"] for e in caught.value.errors} >= {"lines.0.quantity", "lines.1.sku", "delivery_method"}


def test_every_line_over_its_price_is_named_and_a_bad_shipping_hides_none(world: Database) -> None:
    body = worked_example_body()
    for line in body["lines"]:
        line["adjustments"] = "-1000.00"
    body["shipping"]["amount"] = "-5.00"
    body["lines"][1].update(delivery_method="drone", pickup_location="NOWHERE")
    with world.session_factory() as session, pytest.raises(ValidationFailed) as caught:
        capture_order(session, OrderInput.model_validate(body), now=NOW)
    assert {e["field"] for e in caught.value.errors} >= {
        "lines.0.adjustments",
        "lines.1.adjustments",
        "shipping.amount",
        "lines.1.delivery_method",
        "lines.1.pickup_location",
    }


def test_amounts_from_json_numbers_stay_exact() -> None:
    data = OrderInput.model_validate(
        worked_example_body(lines=[{"sku": "S", "quantity": 1, "unit_price": 0.1}])
    )
    assert data.lines[0].unit_price == D("0.1")
    assert OrderInput.model_validate(worked_example_body(adjustments=-2)).adjustments == D(-2)


def test_duplicate_order_number_is_a_conflict(world: Database) -> None:
    with world.session_factory() as session:
        capture(session, worked_example_body("DUP-1"))
        session.commit()
        with pytest.raises(Conflict):
            capture(session, worked_example_body("DUP-1"))


def test_yen_orders_are_whole_units(world: Database) -> None:
    body = worked_example_body(
        "JPY-1",
        currency="JPY",
        lines=[
            {"sku": "SKU-A", "quantity": 3, "unit_price": "1000"},
            {"sku": "SKU-B", "quantity": 1, "unit_price": "500"},
        ],
        adjustments="-100",
        shipping={"amount": "300", "tax": "0"},
    )
    with world.session_factory() as session:
        summary = capture(session, body)
        shares = [item.adjustment_share for item in summary.items]
        assert sum(shares) == D(-100)
        assert summary.ordered_total == D(3000 + 500 - 100 + 300)
