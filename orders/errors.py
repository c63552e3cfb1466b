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


class NotFound(DomainError):
    """A record named by the caller does not exist."""


class Conflict(DomainError):
    """The request clashes with the current state: a duplicate order number, a shipment shipped again."""


class ValidationFailed(DomainError):
    """Input that breaks the domain's rules; ``errors`` names each offending field.

    Each error is ``{"field": "lines.0.quantity", "message": "..."}``; fields use dotted paths with list
    indexes, as in the request body.
    """

    def __init__(self, errors: list[dict[str, str]], message: str = "the order is invalid") -> None:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        super().__init__(f"{message}: {detail}" if detail else message)
        self.errors = errors


class PaymentError(DomainError):
    """Money could not be moved: a gateway declined or timed out, or nothing is left to draw on."""


class NotAuthorized(PaymentError):
    """What is to be captured is more than the order's authorizations hold (or it has no payment
    method): asking again cannot help until someone authorizes more."""
