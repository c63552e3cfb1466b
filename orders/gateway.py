"""Payment gateways: the interface real processors implement, a registry by name, and the ``test`` one.

Every call carries an idempotency key; a gateway must return the first successful result for a key it
has seen and never act twice on it. Failures are ``GatewayDeclined`` (the processor said no; retrying
the same request will not help) or ``GatewayTimeout`` (no answer; the same key may be retried).
Plugins add processors with ``register_gateway(name, gateway)``.

An authorization lapses: card networks let a processor hold funds for days, not for ever. A gateway
says when one lapses in its answer (``GatewayResult.expires_at``) or, for all of them, with an
``authorization_hold`` attribute (a ``timedelta``); one that says neither holds them until voided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import simulating
from orders.errors import PaymentError
from orders.models import GatewayCall


class GatewayError(PaymentError):
    """Base of what a gateway call can fail with."""


class GatewayDeclined(GatewayError):
    pass


class GatewayTimeout(GatewayError):
    pass


class UnknownGateway(GatewayError):
    pass


class GatewayMismatch(GatewayError):
    """The processor answered for another amount than Ordo asked for (a key it had seen with another
    amount, or a partial approval): its books and Ordo's disagree, and a person must look."""


def check_amount(result: GatewayResult, asked: Decimal, operation: str, idempotency_key: str) -> None:
    """Raise :class:`GatewayMismatch` unless the processor acted on exactly ``asked``."""
    if result.amount != asked:
        raise GatewayMismatch(
            f"the gateway answered the {operation} keyed {idempotency_key} for {result.amount}, "
            f"not the {asked} asked: reconcile it with the processor's records"
        )


@dataclass(frozen=True)
class GatewayResult:
    reference: str
    amount: Decimal
    # When an authorization stops holding funds, where the processor says (see authorization_expiry).
    expires_at: datetime | None = None


class PaymentGateway(Protocol):
    """What a processor implements. ``session`` is the caller's, for gateways that keep records."""

    name: str

    def authorize(
        self, session: Session, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    def capture(
        self,
        session: Session,
        *,
        token: str,
        authorization_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult: ...

    def refund(
        self,
        session: Session,
        *,
        token: str,
        payment_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult: ...

    def void(
        self, session: Session, *, token: str, authorization_reference: str, idempotency_key: str
    ) -> GatewayResult: ...


_gateways: dict[str, PaymentGateway] = {}


def register_gateway(name: str, gateway: PaymentGateway, *, replace: bool = False) -> None:
    if name in _gateways and not replace:
        raise ValueError(f"payment gateway {name!r} is already registered")
    _gateways[name] = gateway


def get_gateway(name: str) -> PaymentGateway:
    try:
        return _gateways[name]
    except KeyError:
        raise UnknownGateway(f"unknown payment gateway {name!r}") from None


def gateway_for(session: Session, name: str) -> PaymentGateway:
    """The gateway a payment step calls: ``name``'s, or in a simulation one that touches nothing."""
    if simulating(session):
        from orders.simulated_gateway import SimulatedGateway

        return SimulatedGateway()
    return get_gateway(name)


def authorization_expiry(
    gateway: PaymentGateway, result: GatewayResult, authorized_at: datetime
) -> datetime | None:
    """When an authorization ``gateway`` gave at ``authorized_at`` lapses: as its answer says, else
    after the gateway's ``authorization_hold``; None when it says neither (held until voided)."""
    if result.expires_at is not None:
        # A processor's time without a zone is taken as UTC: refusing it now, after the processor
        # acted, would leave its authorization unrecorded.
        if result.expires_at.tzinfo is None:
            return result.expires_at.replace(tzinfo=UTC)
        return result.expires_at.astimezone(UTC)
    hold = getattr(gateway, "authorization_hold", None)
    return authorized_at + hold if isinstance(hold, timedelta) else None


def gateway_names() -> list[str]:
    return sorted(_gateways)


def calls_for(session: Session, idempotency_key: str, operation: str | None = None) -> list[GatewayCall]:
    """What the test gateway recorded for a key (for tests and the bench)."""
    query = select(GatewayCall).where(GatewayCall.idempotency_key == idempotency_key)
    if operation is not None:
        query = query.where(GatewayCall.operation == operation)
    return list(session.execute(query.execution_options(populate_existing=True)).scalars())


# The built-in ``test`` gateway registers itself (it builds on this module).
from orders.testing_gateway import TestGateway  # noqa: E402

register_gateway("test", TestGateway())
