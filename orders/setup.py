"""Set-up data: locations, stock and delivery methods, as CONTRACT.md's PUT endpoints write them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orders.errors import NotFound, QuantityError
from orders.models import DeliveryKind, DeliveryMethod, InventoryLevel, Location, LocationKind
from orders.writes import write_pending


def location_view(location: Location) -> dict[str, Any]:
    return {
        "code": location.code,
        "name": location.name,
        "kind": location.kind.value,
        "ships": location.ships,
        "pickup": location.pickup,
        "priority": location.priority,
    }


def inventory_view(level: InventoryLevel, location_code: str) -> dict[str, Any]:
    return {
        "location": location_code,
        "sku": level.sku,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
        "safety_stock": level.safety_stock,
        "available": level.available,
    }


def delivery_method_view(method: DeliveryMethod) -> dict[str, Any]:
    return {"code": method.code, "name": method.name, "kind": method.kind.value}


def location_by_code(session: Session, code: str) -> Location | None:
    return session.execute(select(Location).where(Location.code == code)).scalar_one_or_none()


def delivery_method_by_code(session: Session, code: str) -> DeliveryMethod | None:
    return session.execute(select(DeliveryMethod).where(DeliveryMethod.code == code)).scalar_one_or_none()


def put_location(
    session: Session, code: str, *, name: str, kind: str, ships: bool, pickup: bool, priority: int
) -> dict[str, Any]:
    """Create or replace the location ``code``."""
    location = location_by_code(session, code)
    if location is None:
        location = Location(code=code, name=name)
        session.add(location)
    location.name = name
    location.kind = LocationKind(kind)
    location.ships = ships
    location.pickup = pickup
    location.priority = priority
    write_pending(session)
    return location_view(location)


def put_inventory(
    session: Session, location_code: str, sku: str, *, on_hand: int, safety_stock: int = 0
) -> dict[str, Any]:
    """Set the counted stock of ``sku`` at a location; what is reserved stays reserved."""
    location = location_by_code(session, location_code)
    if location is None:
        raise NotFound(f"no location {location_code!r}")
    if on_hand < 0 or safety_stock < 0:
        raise QuantityError("on_hand and safety_stock must not be negative")
    level = session.execute(
        select(InventoryLevel)
        .where(InventoryLevel.location_id == location.id, InventoryLevel.sku == sku)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if level is None:
        level = InventoryLevel(location_id=location.id, sku=sku, on_hand=0, reserved=0, safety_stock=0)
        session.add(level)
    level.set_stock(on_hand, safety_stock)
    write_pending(session)
    return inventory_view(level, location.code)


def availability(session: Session, sku: str) -> dict[str, Any]:
    """``{sku, locations: [{location, on_hand, reserved, available}]}``, locations by priority then code."""
    rows = session.execute(
        select(InventoryLevel, Location.code)
        .join(Location, Location.id == InventoryLevel.location_id)
        .where(InventoryLevel.sku == sku)
        .order_by(Location.priority, Location.code)
        .execution_options(populate_existing=True)
    ).all()
    return {
        "sku": sku,
        "locations": [
            {
                "location": code,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "safety_stock": level.safety_stock,
                "available": level.available,
            }
            for level, code in rows
        ],
    }


def put_delivery_method(session: Session, code: str, *, name: str, kind: str) -> dict[str, Any]:
    method = delivery_method_by_code(session, code)
    if method is None:
        method = DeliveryMethod(code=code, name=name)
        session.add(method)
    method.name = name
    method.kind = DeliveryKind(kind)
    write_pending(session)
    return delivery_method_view(method)
