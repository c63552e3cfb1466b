"""Set-up shared by the order-domain service tests: the worked example's locations, stock and order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from engine.db import Database
from orders.intake import OrderInput, capture_order
from orders.models import OrderSummary
from orders.setup import put_delivery_method, put_inventory, put_location

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def worked_example_body(number: str = "A-1001", token: str = "tok_ok", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "order_number": number,
        "channel": "web",
        "currency": "USD",
        "customer": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "ship_to": {
            "name": "Ada Lovelace",
            "line1": "1 Analytical Way",
            "city": "London",
            "region": "LDN",
            "postal_code": "N1",
            "country": "GB",
        },
        "delivery_method": "ground",
        "lines": [
            {"sku": "SKU-A", "name": "A", "quantity": 2, "unit_price": "19.99", "tax": "3.20"},
            {"sku": "SKU-B", "name": "B", "quantity": 1, "unit_price": "5.00", "tax": "0.40"},
        ],
        "adjustments": "-2.00",
        "shipping": {"amount": "5.00", "tax": "0.40"},
        "payment": {"gateway": "test", "token": token},
    }
    body.update(changes)
    return body


def setup_world(session: Session) -> None:
    """WH1 (priority 1) and WH2 (priority 2), SKU-A: WH1 5, SKU-B: WH2 4; ground and a pickup store."""
    put_location(session, "WH1", name="Warehouse 1", kind="warehouse", ships=True, pickup=False, priority=1)
    put_location(session, "WH2", name="Warehouse 2", kind="warehouse", ships=True, pickup=False, priority=2)
    put_location(session, "STORE1", name="Store 1", kind="store", ships=False, pickup=True, priority=10)
    put_location(session, "STORE2", name="Store 2", kind="store", ships=False, pickup=False, priority=11)
    put_delivery_method(session, "ground", name="Ground", kind="ship")
    put_delivery_method(session, "pickup", name="Pick up in store", kind="pickup")
    put_inventory(session, "WH1", "SKU-A", on_hand=5)
    put_inventory(session, "WH2", "SKU-B", on_hand=4)
    put_inventory(session, "STORE1", "SKU-A", on_hand=2)


def capture(session: Session, body: dict[str, Any]) -> OrderSummary:
    summary, _ = capture_order(session, OrderInput.model_validate(body), now=NOW)
    return summary


@pytest.fixture
def world(db: Database) -> Iterator[Database]:
    with db.session_factory() as session:
        setup_world(session)
        session.commit()
    yield db


def capture_order_with_events(session: Session, body: dict[str, Any]) -> tuple[str, list[Any]]:
    summary, events = capture_order(session, OrderInput.model_validate(body), now=NOW)
    return summary.id, events
