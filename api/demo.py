"""Demo data for ``ordo serve --demo``: locations, stock, delivery methods, keys and a few orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from api.keys import Role, create_key
from api.ordering import place_order, ship_fulfillment_order
from engine.db import Database
from engine.runtime import Runtime
from orders import setup
from orders.intake import OrderInput
from orders.models import FulfillmentOrder, OrderSummary

LOCATIONS = [
    ("WH1", "Central Warehouse", "warehouse", True, False, 1),
    ("WH2", "Coastal Warehouse", "warehouse", True, False, 2),
    ("ST1", "Downtown Store", "store", True, True, 3),
    ("ST2", "Mall Store", "store", False, True, 4),
]
CATALOG = {  # sku: (name, price, stock per location)
    "TSHIRT-BLK-M": ("Black T-shirt, M", "19.99", {"WH1": 40, "WH2": 10, "ST1": 5, "ST2": 3}),
    "HOODIE-GRY-L": ("Grey hoodie, L", "49.00", {"WH1": 12, "WH2": 20, "ST1": 2}),
    "MUG-LOGO": ("Logo mug", "8.50", {"WH2": 60, "ST1": 10, "ST2": 10}),
    "SNEAKER-42": ("Runner sneaker, 42", "89.95", {"WH1": 6, "ST2": 2}),
    "WATCH-GOLD": ("Gold watch", "5400.00", {"WH1": 3}),
}


def _order(
    number: str, email: str, name: str, lines: list[tuple[str, int]], token: str = "tok_ok"
) -> OrderInput:
    body: dict[str, Any] = {
        "order_number": number,
        "channel": "web",
        "currency": "USD",
        "customer": {"email": email, "name": name},
        "ship_to": {
            "name": name,
            "line1": "1 Demo Street",
            "city": "Springfield",
            "region": "IL",
            "postal_code": "62701",
            "country": "US",
        },
        "delivery_method": "STANDARD",
        "lines": [
            {
                "sku": sku,
                "name": CATALOG[sku][0],
                "quantity": qty,
                "unit_price": CATALOG[sku][1],
                "tax": str((Decimal(CATALOG[sku][1]) * qty * Decimal("0.08")).quantize(Decimal("0.01"))),
            }
            for sku, qty in lines
        ],
        "shipping": {"amount": "5.00", "tax": "0.40"},
        "payment": {"gateway": "test", "token": token},
    }
    return OrderInput.model_validate(body)


DEMO_ORDERS = [
    (
        _order("DEMO-1001", "ada@example.com", "Ada Lovelace", [("TSHIRT-BLK-M", 2), ("MUG-LOGO", 1)]),
        "ship_all",
    ),
    (
        _order("DEMO-1002", "alan@example.com", "Alan Turing", [("HOODIE-GRY-L", 1), ("SNEAKER-42", 1)]),
        "ship_one",
    ),
    (_order("DEMO-1003", "grace@example.com", "Grace Hopper", [("TSHIRT-BLK-M", 1)]), "leave"),
    (_order("DEMO-1004", "edsger@example.com", "Edsger Dijkstra", [("WATCH-GOLD", 1)]), "leave"),
    (
        _order("DEMO-1005", "barbara@example.com", "Barbara Liskov", [("MUG-LOGO", 2)], token="tok_decline"),
        "leave",
    ),
]


def load_demo(database: Database, runtime: Runtime) -> dict[str, str]:
    """Loads the demo data once (orders only into an empty database) and returns a fresh key per role."""
    with database.uow() as uow:
        session = uow.session
        for code, name, kind, ships, pickup, priority in LOCATIONS:
            setup.put_location(
                session, code, name=name, kind=kind, ships=ships, pickup=pickup, priority=priority
            )
        setup.put_delivery_method(session, "STANDARD", name="Standard shipping", kind="ship")
        setup.put_delivery_method(session, "PICKUP", name="Pick up in store", kind="pickup")
        has_orders = session.scalars(select(OrderSummary.id).limit(1)).first() is not None
        if not has_orders:
            for sku, (_name, _price, stock) in CATALOG.items():
                for location, on_hand in stock.items():
                    setup.put_inventory(session, location, sku, on_hand=on_hand)
        keys = {role.value: create_key(session, role=role, name=f"demo {role.value}") for role in Role}
        uow.commit()
    if not has_orders:
        for data, fate in DEMO_ORDERS:
            summary_id = place_order(database, runtime, data)
            _ship(database, runtime, summary_id, fate)
    return keys


def _ship(database: Database, runtime: Runtime, summary_id: str, fate: str) -> None:
    if fate == "leave":
        return
    with database.session_factory() as session:
        fo_ids = list(
            session.scalars(
                select(FulfillmentOrder.id)
                .where(FulfillmentOrder.order_summary_id == summary_id)
                .order_by(FulfillmentOrder.created_at, FulfillmentOrder.id)
            )
        )
        for index, fo_id in enumerate(fo_ids if fate == "ship_all" else fo_ids[:1]):
            ship_fulfillment_order(
                session, runtime, fo_id, carrier="UPS", tracking_number=f"1Z{summary_id[-8:].upper()}{index}"
            )
