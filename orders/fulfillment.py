"""Fulfillment orders: made from routed allocations, shipped (consuming reservations) or canceled."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_dict, set_committed_value

from engine.db.plain_load import RecordQuery, RecordShape, read_rows
from engine.db.plain_sql import execute_write
from orders import billing, loading, reference
from orders.errors import Conflict, NotFound, QuantityError
from orders.events import FULFILLMENT_ORDER_SHIPPED, DomainEvent
from orders.models import (
    ChangeKind,
    DeliveryMethod,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    InventoryLevel,
    Location,
    Order,
    OrderChange,
    OrderChangeLine,
    OrderItemSummary,
    OrderStatus,
    OrderSummary,
    Reservation,
    ReservationStatus,
)
from orders.reference import R
from orders.views import fulfillment_order_view
from orders.writes import write_pending

# Statuses a shipment or a new fulfillment order may move the summary out of.
_FOLLOWS_FULFILLMENT = {
    OrderStatus.CREATED.value,
    # Fulfillment orders exist only once an approval was given, so they end the wait for it.
    OrderStatus.PENDING_APPROVAL.value,
    OrderStatus.WAITING_TO_FULFILL.value,
    OrderStatus.PARTIALLY_FULFILLED.value,
    OrderStatus.FULFILLED.value,
}

LEVELS = cast(Table, InventoryLevel.__table__)


def fulfillment_status(summary: OrderSummary) -> str:
    """What the buckets say: Fulfilled, Partially Fulfilled, Waiting to Fulfill, or Canceled."""
    items = summary.items
    active = sum(i.quantity_ordered - i.quantity_canceled for i in items)
    if items and active == 0:
        return OrderStatus.CANCELED.value
    shipped = sum(i.quantity_fulfilled for i in items)
    open_reships = sum(i.quantity_reship_open for i in items)
    if shipped >= active and open_reships == 0:
        return OrderStatus.FULFILLED.value
    if shipped > 0:
        return OrderStatus.PARTIALLY_FULFILLED.value
    return OrderStatus.WAITING_TO_FULFILL.value


def refresh_status(summary: OrderSummary) -> None:
    if summary.status in _FOLLOWS_FULFILLMENT:
        summary.status = fulfillment_status(summary)


def _by_code(session: Session, model: type[R], code: str) -> R:
    found = reference.by_code(session, model, code)
    if found is None:
        raise NotFound(f"no {model.__tablename__[:-1].replace('_', ' ')} {code!r}")
    return found


def create_fulfillment_orders(
    session: Session,
    summary: OrderSummary,
    allocations: Iterable[Mapping[str, Any]],
    *,
    charge: bool = True,
    reason: str | None = None,
) -> list[FulfillmentOrder]:
    """One fulfillment order (Allocated) per location + delivery method + recipient of ``allocations``.

    Each takes over the routing's reservations of its lines at its location. ``charge=False`` marks a
    reshipment: what ships is not billed again.
    """
    items = {item.id: item for item in summary.items}
    groups: dict[tuple[str, str], dict[str, int]] = {}
    for allocation in allocations:
        key = (str(allocation["location"]), str(allocation["delivery_method"]))
        lines = groups.setdefault(key, {})
        for line in allocation.get("lines", []):
            item_id = str(line["item_id"])
            if item_id not in items:
                raise NotFound(f"order {summary.order_number} has no item {item_id}")
            quantity = int(line["quantity"])
            if quantity <= 0:
                raise QuantityError(f"item {item_id}: a fulfillment quantity must be > 0")
            lines[item_id] = lines.get(item_id, 0) + quantity
    # Everything read before anything is added: one flush at the end instead of one per read.
    wanted = [key for key, lines in groups.items() if lines]
    locations: dict[str, Location] = {}
    methods: dict[str, DeliveryMethod] = {}
    for location_code, method_code in wanted:
        if location_code not in locations:
            locations[location_code] = _by_code(session, Location, location_code)
        if method_code not in methods:
            methods[method_code] = _by_code(session, DeliveryMethod, method_code)
    free = _free_reservations(session, {item_id for key in wanted for item_id in groups[key]})
    created: list[FulfillmentOrder] = []
    for location_code, method_code in wanted:
        lines = groups[(location_code, method_code)]
        location = locations[location_code]
        method = methods[method_code]
        fo = FulfillmentOrder(
            summary=summary,
            order_summary_id=summary.id,
            location=location,
            location_id=location.id,
            delivery_method=method,
            delivery_method_id=method.id,
            status=FulfillmentStatus.ALLOCATED,
            recipient_name=summary.ship_to_name,
            charge=charge,
            reason=reason,
        )
        session.add(fo)
        for item_id, quantity in lines.items():
            session.add(
                FulfillmentOrderLine(
                    fulfillment_order=fo,
                    item=items[item_id],
                    order_item_summary_id=item_id,
                    quantity=quantity,
                )
            )
            _claim_reservations(session, fo, items[item_id], location, quantity, free)
        created.append(fo)
    if not charge and created:
        _record_reshipment(session, summary, created, reason)
    refresh_status(summary)
    write_pending(session)
    return created


def _record_reshipment(
    session: Session, summary: OrderSummary, fos: list[FulfillmentOrder], reason: str | None
) -> None:
    """A reshipment is a service action like any other: it leaves an immutable change record."""
    change = OrderChange(
        summary=summary, order_summary_id=summary.id, kind=ChangeKind.RESHIPMENT, reason=reason or ""
    )
    for fo in fos:
        fo.change = change
        for line in fo.lines:
            session.add(
                OrderChangeLine(
                    change=change, item=line.item, order_item_summary_id=line.item.id, quantity=line.quantity
                )
            )
    session.add(change)


def release_units(session: Session, item: OrderItemSummary, k: int) -> None:
    """Take ``k`` allocated, unshipped units of ``item`` off their reservations and open fulfillment
    orders, so they can be canceled. Reservations not yet on a fulfillment order go first (they cost
    nothing to undo), then the newest fulfillment orders (the least likely to be picked already).
    A fulfillment order left with no units is canceled.
    """
    item.release(k)  # checks the buckets before anything else moves
    left = k
    unclaimed = session.execute(
        select(Reservation)
        .where(
            Reservation.order_item_summary_id == item.id,
            Reservation.status == ReservationStatus.ACTIVE,
            Reservation.fulfillment_order_id.is_(None),
        )
        .order_by(Reservation.created_at.desc())
    ).scalars()
    for reservation in unclaimed:
        if left == 0:
            break
        n = min(reservation.quantity, left)
        _adjust_level(session, reservation.location_id, reservation.sku, on_hand=0, reserved=-n)
        reservation.release(n)
        left -= n
    open_fos = sorted(
        (fo for fo in item.summary.fulfillment_orders if fo.is_open and fo.charge),
        key=lambda fo: fo.created_at,
        reverse=True,
    )
    for fo in open_fos:
        for line in fo.lines:
            if left == 0 or line.order_item_summary_id != item.id or line.quantity == 0:
                continue
            n = min(line.quantity, left)
            line.quantity -= n
            line.quantity_canceled += n
            left -= n
            _release_fo_reservations(session, fo, item, n)
        if all(line.quantity == 0 for line in fo.lines):
            fo.move_to(FulfillmentStatus.CANCELED)
    if left:
        raise QuantityError(f"item {item.sku} ({item.id}): {left} allocated units are on no reservation")


def _release_fo_reservations(session: Session, fo: FulfillmentOrder, item: OrderItemSummary, n: int) -> None:
    left = n
    for reservation in _reservations(session, fo):
        if left == 0:
            break
        if reservation.order_item_summary_id != item.id:
            continue
        m = min(reservation.quantity, left)
        _adjust_level(session, reservation.location_id, reservation.sku, on_hand=0, reserved=-m)
        reservation.release(m)
        left -= m


_FREE_RESERVATIONS = RecordQuery(
    Reservation,
    Reservation.order_item_summary_id.in_(bindparam("b_items", expanding=True)),
    Reservation.status == ReservationStatus.ACTIVE,
    Reservation.fulfillment_order_id.is_(None),
    order_by=(Reservation.created_at,),
)
_FO_RESERVATIONS = RecordQuery(
    Reservation,
    Reservation.fulfillment_order_id == bindparam("b_fo"),
    Reservation.status == ReservationStatus.ACTIVE,
    order_by=(Reservation.created_at,),
)


def _free_reservations(session: Session, item_ids: set[str]) -> list[Reservation]:
    """The active reservations of these items on no fulfillment order yet, oldest first."""
    if not item_ids:
        return []
    return _FREE_RESERVATIONS.all(session, {"b_items": sorted(item_ids)})


def _claim_reservations(
    session: Session,
    fo: FulfillmentOrder,
    item: OrderItemSummary,
    location: Location,
    quantity: int,
    free: list[Reservation],
) -> None:
    """Point ``quantity`` reserved units of ``item`` at ``location`` to ``fo``, splitting a reservation.

    ``free`` is what ``_free_reservations`` read before this call's fulfillment orders were added; a
    reservation claimed since (here, unflushed) is skipped.
    """
    needed = quantity
    for reservation in free:
        if needed == 0:
            break
        if (
            reservation.order_item_summary_id != item.id
            or reservation.location_id != location.id
            or reservation.fulfillment_order is not None
        ):
            continue
        if reservation.quantity <= needed:
            reservation.fulfillment_order = fo
            needed -= reservation.quantity
        else:
            reservation.quantity -= needed
            session.add(
                Reservation(
                    item=item,
                    order_item_summary_id=item.id,
                    location=location,
                    location_id=location.id,
                    sku=item.sku,
                    quantity=needed,
                    fulfillment_order=fo,
                )
            )
            needed = 0
    if needed:
        raise QuantityError(
            f"item {item.sku} ({item.id}): {needed} of {quantity} units are not reserved at {location.code}; "
            "route the order first"
        )


# The fulfillment order, locked, read fresh with what shipping it and its event need: its summary,
# location and delivery method, and of the original order only the payment method (which the capture
# after a shipment needs). One Core join, not five queries, and none of the ORM's per-query cost.
_FO_SHAPE = RecordShape(FulfillmentOrder)
_SUMMARY_SHAPE = RecordShape(OrderSummary)
_ORDER_SHAPE = RecordShape(Order, keys=("payment_gateway", "payment_token"))
_LOCATION_SHAPE = RecordShape(Location)
_METHOD_SHAPE = RecordShape(DeliveryMethod)
_FO_PARTS = (_FO_SHAPE, _SUMMARY_SHAPE, _ORDER_SHAPE, _LOCATION_SHAPE, _METHOD_SHAPE)
_FO_TABLE = cast(Table, FulfillmentOrder.__table__)
_LOAD_FO = (
    select(*(column for shape in _FO_PARTS for column in shape.columns))
    .select_from(
        _FO_TABLE.join(cast(Table, OrderSummary.__table__))
        .join(cast(Table, Order.__table__))
        .join(cast(Table, Location.__table__), Location.id == FulfillmentOrder.location_id)
        .join(cast(Table, DeliveryMethod.__table__), DeliveryMethod.id == FulfillmentOrder.delivery_method_id)
    )
    .where(FulfillmentOrder.id == bindparam("b_fo"))
    .with_for_update(of=_FO_TABLE)
)


def _load_fo(session: Session, fo_id: str) -> FulfillmentOrder:
    """The fulfillment order with its summary, location, delivery method and order's payment method
    (see ``_LOAD_FO``), each the session's own record if it holds one, read again as
    ``populate_existing`` would."""
    rows = read_rows(session, _LOAD_FO, {"b_fo": fo_id})
    if not rows:
        raise NotFound(f"no fulfillment order {fo_id}")
    row = rows[0]
    records = []
    at = 0
    for shape in _FO_PARTS:
        width = len(shape.columns)
        records.append(shape.record(session, row[at : at + width], refresh=True))
        at += width
    fo, summary, order, location, method = records
    set_committed_value(fo, "summary", summary)
    set_committed_value(summary, "order", order)
    set_committed_value(fo, "location", location)
    set_committed_value(fo, "delivery_method", method)
    return cast(FulfillmentOrder, fo)


def _reservations(session: Session, fo: FulfillmentOrder) -> list[Reservation]:
    return _FO_RESERVATIONS.all(session, {"b_fo": fo.id})


# Stock moves by addition in the database, guarded so neither bucket can go below zero.
_ADJUST_LEVEL = (
    update(LEVELS)
    .where(
        LEVELS.c.location_id == bindparam("b_location"),
        LEVELS.c.sku == bindparam("b_sku"),
        LEVELS.c.reserved >= bindparam("b_min_reserved"),
        LEVELS.c.on_hand >= bindparam("b_min_on_hand"),
    )
    .values(
        on_hand=LEVELS.c.on_hand + bindparam("b_on_hand"),
        reserved=LEVELS.c.reserved + bindparam("b_reserved"),
        version=LEVELS.c.version + 1,
    )
)


def _adjust_level(session: Session, location_id: str, sku: str, *, on_hand: int, reserved: int) -> None:
    params = {
        "b_location": location_id,
        "b_sku": sku,
        "b_min_reserved": max(-reserved, 0),
        "b_min_on_hand": max(-on_hand, 0),
        "b_on_hand": on_hand,
        "b_reserved": reserved,
    }
    if execute_write(session.connection(), _ADJUST_LEVEL, params).rowcount != 1:
        raise QuantityError(f"SKU {sku}: the stock at location {location_id} no longer holds these units")
    for obj in list(session.identity_map.values()):
        if isinstance(obj, InventoryLevel):
            loaded = instance_dict(obj)
            if loaded.get("location_id") == location_id and loaded.get("sku") == sku:
                session.expire(obj)


def ship(
    session: Session, fo_id: str, *, carrier: str, tracking_number: str, now: datetime
) -> tuple[FulfillmentOrder, list[DomainEvent]]:
    """Ship a fulfillment order: its reservations leave on hand, its units move to fulfilled."""
    fo = _load_fo(session, fo_id)
    if not fo.is_open:
        raise Conflict(f"fulfillment order {fo.id} is {fo.status.value}: only open ones can ship")
    # Read before writing, so the reads flush nothing: the summary's items (which the lines' items and
    # the status need), the lines and the reservations. The stock UPDATEs go first (as in routing), so
    # everything the ORM changes goes out in the one flush below.
    loading.summary_items(session, fo.summary)
    lines = loading.fulfillment_order_lines(session, fo)
    reservations = _reservations(session, fo)
    for reservation in reservations:
        k = reservation.quantity
        try:
            _adjust_level(session, reservation.location_id, reservation.sku, on_hand=-k, reserved=-k)
        except QuantityError as exc:
            # A recount since the reservation found fewer units than it holds: the count is what to fix.
            raise Conflict(
                f"fulfillment order {fo.id} cannot ship: {exc} (it takes {k}); correct the stock count "
                "at that location, then ship again"
            ) from exc
    for line in lines:
        if line.quantity == 0:
            continue
        if fo.charge:
            line.item.fulfill(line.quantity)
        else:
            line.item.fulfill_reship(line.quantity)
    for reservation in reservations:
        reservation.consume(reservation.quantity)
    fo.mark_fulfilled(carrier, tracking_number, now)
    refresh_status(fo.summary)
    write_pending(session)
    billing.note_shipped(session, fo.id)
    event = DomainEvent(
        FULFILLMENT_ORDER_SHIPPED, {"fulfillment_order": fulfillment_order_view(fo)}, fo.order_summary_id
    )
    return fo, [event]


def cancel_fulfillment_order(session: Session, fo_id: str, *, reason: str | None = None) -> FulfillmentOrder:
    """Cancel an open fulfillment order: its reservations are released, its units can be routed again."""
    fo = _load_fo(session, fo_id)
    if not fo.is_open:
        raise Conflict(f"fulfillment order {fo.id} is {fo.status.value}: only open ones can be canceled")
    for line in fo.lines:
        if line.quantity == 0:
            continue
        if fo.charge:
            line.item.release(line.quantity)
        else:
            line.item.release_reship(line.quantity)
        line.quantity_canceled += line.quantity
        line.quantity = 0
    for reservation in _reservations(session, fo):
        k = reservation.quantity
        _adjust_level(session, reservation.location_id, reservation.sku, on_hand=0, reserved=-k)
        reservation.release(k)
    fo.move_to(FulfillmentStatus.CANCELED)
    if reason:
        fo.reason = reason
    write_pending(session)
    return fo
