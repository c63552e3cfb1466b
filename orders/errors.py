"""Domain errors: what the order model refuses, in words an agent or integrator can act on."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule said no. Nothing was changed when one of these is raised."""


class MoneyError(DomainError):
    """An amount cannot be represented or computed exactly in its currency."""


class UnknownCurrencyError(MoneyError):
    def __init__(self, currency: str) -> None:
        super().__init__(f"unknown currency {currency!r}: Ordo knows no minor unit for it")
        self.currency = currency


class QuantityError(DomainError):
    """A quantity bucket would go negative or past what is available."""


class InsufficientStockError(QuantityError):
    """A reservation asked for more than a location has available."""


class ImmutableRecordError(DomainError):
    """Someone tried to change a record that is history (an order as captured, a change record)."""


class InvalidTransitionError(DomainError):
    """A record was asked to move to a status its current status does not lead to."""
