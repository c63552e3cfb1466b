"""Locations and delivery methods by code, as a session has read them.

Every order action looks these few rows up by code (capture, routing, fulfillment orders). A session
keeps the ones it read for its whole life, so the next action in the same transaction finds them
without a query: the identity map alone would let them go as soon as nothing else holds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from orders.models import DeliveryMethod, Location

KEY = "ordo.reference_rows"
R = TypeVar("R", Location, DeliveryMethod)


def remember(session: Session, records: Iterable[Location | DeliveryMethod]) -> None:
    known: dict[tuple[type, str], Location | DeliveryMethod] = session.info.setdefault(KEY, {})
    for record in records:
        known[(type(record), record.code)] = record


def by_code(session: Session, model: type[R], code: str) -> R | None:
    known: dict[tuple[type, str], R] = session.info.setdefault(KEY, {})
    found = known.get((model, code))
    if found is None:
        found = session.execute(select(model).where(model.code == code)).scalar_one_or_none()
        if found is not None:
            known[(model, code)] = found
    return found
