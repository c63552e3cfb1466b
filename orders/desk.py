"""The fulfillment desk's steps before shipping: picked and packed.

Shipping is ``orders.fulfillment.ship`` (it moves stock and emits the event flows wait for); picking and
packing only record progress, through the fulfillment order's own transitions, so a warehouse that
skips them can still ship straight away.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from orders.errors import Conflict, InvalidTransitionError, NotFound
from orders.models import FulfillmentOrder, FulfillmentStatus
from orders.writes import write_pending


def _move(session: Session, fo_id: str, status: FulfillmentStatus) -> FulfillmentOrder:
    # Locked like a shipment, so a pick racing a ship or a cancel waits for it instead of overwriting.
    fo = session.get(FulfillmentOrder, fo_id, with_for_update=True, populate_existing=True)
    if fo is None:
        raise NotFound(f"no fulfillment order {fo_id}")
    try:
        fo.move_to(status)
    except InvalidTransitionError as exc:
        raise Conflict(str(exc)) from exc
    write_pending(session)
    return fo


def mark_picked(session: Session, fo_id: str) -> FulfillmentOrder:
    return _move(session, fo_id, FulfillmentStatus.PICKED)


def mark_packed(session: Session, fo_id: str) -> FulfillmentOrder:
    return _move(session, fo_id, FulfillmentStatus.PACKED)
