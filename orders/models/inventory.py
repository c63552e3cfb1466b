"""Where stock is and how much of it is promised: locations, inventory levels, reservations."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from orders.columns import StrEnumType, UTCDateTime, non_negative, one_of, utcnow
from orders.errors import InsufficientStockError, QuantityError
from orders.models.base import Record
from orders.models.enums import LocationKind, ReservationStatus

if TYPE_CHECKING:
    from orders.models.fulfillment import FulfillmentOrder
    from orders.models.item_summary import OrderItemSummary


class Location(Record):
    __tablename__ = "locations"
    __table_args__ = (one_of("kind", LocationKind),)
    id_prefix = "loc"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[LocationKind] = mapped_column(StrEnumType(LocationKind), default=LocationKind.WAREHOUSE)
    ships: Mapped[bool] = mapped_column(default=True)
    pickup: Mapped[bool] = mapped_column(default=False)
    # Lower numbers are preferred when routing has a choice.
    priority: Mapped[int] = mapped_column(default=100)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def _check_units(label: str, verb: str, k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
        raise QuantityError(f"{label}: cannot {verb} {k!r} units: a quantity is a whole number > 0")


class InventoryLevel(Record):
    __tablename__ = "inventory_levels"
    __table_args__ = (
        UniqueConstraint("location_id", "sku"),
        *non_negative("on_hand", "reserved", "safety_stock"),
    )
    id_prefix = "il"

    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    safety_stock: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Two orders racing for the last unit meet here; the loser's flush fails instead of overselling.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    location: Mapped[Location] = relationship()

    def _label(self) -> str:
        return f"SKU {self.sku} at location {self.location_id}"

    @property
    def available(self) -> int:
        """on hand - reserved - safety stock; never below zero (a recount may leave less than is promised)."""
        return max(self.on_hand - self.reserved - self.safety_stock, 0)

    def reserve(self, k: int) -> None:
        _check_units(self._label(), "reserve", k)
        if k > self.available:
            raise InsufficientStockError(
                f"{self._label()}: cannot reserve {k}: only {self.available} available "
                f"(on hand {self.on_hand}, reserved {self.reserved}, safety stock {self.safety_stock})"
            )
        self.reserved += k

    def release(self, k: int) -> None:
        _check_units(self._label(), "release", k)
        if k > self.reserved:
            raise QuantityError(f"{self._label()}: cannot release {k}: only {self.reserved} reserved")
        self.reserved -= k

    def consume(self, k: int) -> None:
        """Reserved units leave the building: on hand and reserved both go down."""
        _check_units(self._label(), "ship", k)
        if k > self.reserved or k > self.on_hand:
            raise QuantityError(
                f"{self._label()}: cannot ship {k}: reserved {self.reserved}, on hand {self.on_hand}"
            )
        self.reserved -= k
        self.on_hand -= k

    def set_stock(self, on_hand: int, safety_stock: int | None = None) -> None:
        """A count from the warehouse; it may fall below what is reserved, and then nothing more is."""
        if on_hand < 0 or (safety_stock is not None and safety_stock < 0):
            raise QuantityError(f"{self._label()}: on hand and safety stock must not be negative")
        self.on_hand = on_hand
        if safety_stock is not None:
            self.safety_stock = safety_stock


class Reservation(Record):
    __tablename__ = "reservations"
    __table_args__ = (one_of("status", ReservationStatus), *non_negative("quantity"))
    id_prefix = "rsv"

    order_item_summary_id: Mapped[str] = mapped_column(ForeignKey("order_item_summaries.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    # Units still held; shipping or releasing takes them off until none are left.
    quantity: Mapped[int]
    status: Mapped[ReservationStatus] = mapped_column(
        StrEnumType(ReservationStatus), default=ReservationStatus.ACTIVE
    )
    fulfillment_order_id: Mapped[str | None] = mapped_column(ForeignKey("fulfillment_orders.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    item: Mapped[OrderItemSummary] = relationship()
    location: Mapped[Location] = relationship()
    fulfillment_order: Mapped[FulfillmentOrder | None] = relationship()

    def _take(self, verb: str, k: int, final: ReservationStatus) -> None:
        label = f"reservation {self.id} of SKU {self.sku}"
        _check_units(label, verb, k)
        if self.status != ReservationStatus.ACTIVE or k > self.quantity:
            held = self.quantity if self.status == ReservationStatus.ACTIVE else 0
            raise QuantityError(f"{label}: cannot {verb} {k}: it holds {held} ({self.status})")
        self.quantity -= k
        if self.quantity == 0:
            self.status = final

    def release(self, k: int) -> None:
        self._take("release", k, ReservationStatus.RELEASED)

    def consume(self, k: int) -> None:
        self._take("ship", k, ReservationStatus.CONSUMED)
