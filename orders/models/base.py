"""What every order-domain record shares: a readable string id, a creation time, and the history guard."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Mapped, Session, UOWTransaction, mapped_column

from engine.db import Base, new_id
from orders.columns import UTCDateTime, utcnow
from orders.errors import ImmutableRecordError

ID_LENGTH = 48


class Record(Base):
    __abstract__ = True
    id_prefix: ClassVar[str] = "rec"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, sort_order=-1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __init__(self, **kwargs: Any) -> None:
        # Ids, timestamps and zero buckets exist from construction, not from the first flush, so domain
        # code can link records and check buckets before anything touches the database.
        columns = _column_keys(type(self))
        values = self.__dict__
        # A new record's column values go straight into its state (the ORM's own constructor sets them
        # one instrumented attribute at a time, a tenth of an order's time); relationships still go
        # through it, for their back-references and cascades.
        related = {}
        for key, value in kwargs.items():
            if key in columns:
                values[key] = value
            else:
                related[key] = value
        if "id" not in values:
            values["id"] = new_id(self.id_prefix)
        if "created_at" not in values:
            values["created_at"] = utcnow()
        for key, value in _scalar_defaults(type(self)):
            if key not in values:
                values[key] = value
        if related:
            super().__init__(**related)


_DEFAULTS: dict[type[Record], tuple[tuple[str, Any], ...]] = {}
_COLUMNS: dict[type[Record], frozenset[str]] = {}


def _column_keys(cls: type[Record]) -> frozenset[str]:
    found = _COLUMNS.get(cls)
    if found is None:
        found = frozenset(attr.key for attr in inspect(cls).column_attrs)
        _COLUMNS[cls] = found
    return found


def _scalar_defaults(cls: type[Record]) -> tuple[tuple[str, Any], ...]:
    """The columns of ``cls`` with a scalar default and that default, read from the mapper once."""
    found = _DEFAULTS.get(cls)
    if found is None:
        pairs: list[tuple[str, Any]] = []
        for attr in inspect(cls).column_attrs:
            default = attr.columns[0].default
            if default is not None and default.is_scalar:
                pairs.append((attr.key, default.arg))
        found = tuple(pairs)
        _DEFAULTS[cls] = found
    return found


class Immutable:
    """Marks records that are history: written once, never updated or deleted through the ORM."""

    def immutable_parent(self) -> object | None:
        """The record this one belongs to; a child may only be written together with a new parent."""
        return None


def _guard_history(session: Session, _context: UOWTransaction, _instances: object) -> None:
    for obj in session.dirty:
        if isinstance(obj, Immutable) and session.is_modified(obj, include_collections=False):
            raise ImmutableRecordError(
                f"{type(obj).__name__} {getattr(obj, 'id', '?')} is history: never updated"
            )
    for obj in session.deleted:
        if isinstance(obj, Immutable):
            raise ImmutableRecordError(
                f"{type(obj).__name__} {getattr(obj, 'id', '?')} is history: never deleted"
            )
    for obj in session.new:
        if isinstance(obj, Immutable):
            parent = obj.immutable_parent()
            if parent is not None and parent not in session.new:
                raise ImmutableRecordError(
                    f"{type(obj).__name__} cannot be added to {type(parent).__name__} "
                    f"{getattr(parent, 'id', '?')} after it was captured"
                )


# On the Session class, so every session (the API's, the worker's, a test's) keeps history intact.
event.listen(Session, "before_flush", _guard_history)


class CustomerColumns:
    """Who ordered and where it goes, on the original order and again on its living summary."""

    customer_email: Mapped[str] = mapped_column(String(320), index=True)
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    ship_to_name: Mapped[str] = mapped_column(String(200), default="")
    ship_to_line1: Mapped[str] = mapped_column(String(200), default="")
    ship_to_city: Mapped[str] = mapped_column(String(100), default="")
    ship_to_region: Mapped[str] = mapped_column(String(100), default="")
    ship_to_postal_code: Mapped[str] = mapped_column(String(32), default="")
    ship_to_country: Mapped[str] = mapped_column(String(64), default="")

    def ship_to(self) -> dict[str, str]:
        return {
            "name": self.ship_to_name,
            "line1": self.ship_to_line1,
            "city": self.ship_to_city,
            "region": self.ship_to_region,
            "postal_code": self.ship_to_postal_code,
            "country": self.ship_to_country,
        }
