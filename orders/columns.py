"""Column types and helpers that behave the same on SQLite and PostgreSQL.

``Numeric`` on SQLite goes through float, so money would drift; SQLite has no time zones, so datetimes
would come back naive. These types make both databases hand back exactly what was stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from engine.db.sqlite_time import WritesSQLiteText
from orders.errors import MoneyError

# Four decimal places hold every ISO 4217 minor unit plus room for unit prices finer than a cent.
MONEY_SCALE = 4
_SCALE_FACTOR = Decimal(10) ** MONEY_SCALE
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
# Below 2**63 ten-thousandths, so SQLite's 64-bit integers hold it; PostgreSQL's NUMERIC(20, 4) holds more.
MAX_STORABLE_AMOUNT = Decimal(10) ** 14


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_storable(value: Decimal) -> Decimal:
    """``value`` unchanged if a Money column can store it exactly, else a MoneyError saying why."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise MoneyError(f"money columns take Decimal, not {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise MoneyError(f"{value} is not a finite amount")
    if abs(value) >= MAX_STORABLE_AMOUNT:
        raise MoneyError(f"{value} is too large to store (limit {MAX_STORABLE_AMOUNT:,})")
    if value.quantize(_QUANTUM) != value:
        raise MoneyError(f"{value} has more than {MONEY_SCALE} decimal places")
    return value


class Money(TypeDecorator[Decimal]):
    """An exact decimal amount: NUMERIC(20, 4) on PostgreSQL, integer ten-thousandths elsewhere.

    Integers rather than strings on SQLite, so that comparisons, ORDER BY and SUM in SQL stay numeric
    and exact. Values always come back as Decimal with four decimal places; round them to the
    currency with ``orders.money`` before showing them.
    """

    impl = Numeric(20, MONEY_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(20, MONEY_SCALE, asdecimal=True))
        return dialect.type_descriptor(BigInteger())

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Decimal | int | None:
        if value is None:
            return None
        exact = check_storable(value)
        if dialect.name == "postgresql":
            return exact
        return int(exact * _SCALE_FACTOR)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return Decimal(value).quantize(_QUANTUM)
        return (Decimal(int(value)) / _SCALE_FACTOR).quantize(_QUANTUM)

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(WritesSQLiteText, TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases; naive datetimes are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not UTC:
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"naive datetime {value!r}: Ordo stores timezone-aware UTC timestamps only")
            value = value.astimezone(UTC)
        # SQLite would drop the offset anyway; storing naive UTC keeps its text sortable.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A string column that reads back as a member of ``enum_cls``; ``one_of`` adds the CHECK."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_cls: type[E], length: int = 32) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum_cls(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum_cls(value)


def one_of(column: str, enum_cls: type[StrEnum]) -> CheckConstraint:
    """A named CHECK that ``column`` holds one of ``enum_cls``'s values."""
    values = ", ".join("'" + member.value.replace("'", "''") + "'" for member in enum_cls)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


def non_negative(*columns: str) -> list[CheckConstraint]:
    """Named CHECKs that each of ``columns`` is >= 0: the database's own guard behind the domain's."""
    return [CheckConstraint(f"{column} >= 0", name=f"{column}_nonneg") for column in columns]
