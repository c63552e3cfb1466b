"""How a line reaches the customer: shipped, or picked up at a store (BOPIS)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from orders.columns import StrEnumType, one_of
from orders.models.base import Record
from orders.models.enums import DeliveryKind


class DeliveryMethod(Record):
    __tablename__ = "delivery_methods"
    __table_args__ = (one_of("kind", DeliveryKind),)
    id_prefix = "dm"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[DeliveryKind] = mapped_column(StrEnumType(DeliveryKind), default=DeliveryKind.SHIP)

    @property
    def is_pickup(self) -> bool:
        return self.kind == DeliveryKind.PICKUP
