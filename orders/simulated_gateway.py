"""The gateway a simulation talks to: it approves every call and touches nothing.

A flow simulated against a real order runs its payment steps too, so the admin sees the path and the
records they would write; none of them may reach the order's real processor (a capture would take
real money) or leave a row behind. Every payment step asks ``orders.gateway.gateway_for``, which hands
out this one inside a simulation.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from orders.gateway import GatewayResult

ZERO = Decimal(0)


class SimulatedGateway:
    name = "simulation"

    def _approve(self, operation: str, idempotency_key: str, amount: Decimal) -> GatewayResult:
        return GatewayResult(f"sim_{operation}_{idempotency_key}"[:200], amount)

    def authorize(
        self, session: Session, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        return self._approve("auth", idempotency_key, amount)

    def capture(
        self,
        session: Session,
        *,
        token: str,
        authorization_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult:
        return self._approve("cap", idempotency_key, amount)

    def refund(
        self,
        session: Session,
        *,
        token: str,
        payment_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult:
        return self._approve("ref", idempotency_key, amount)

    def void(
        self, session: Session, *, token: str, authorization_reference: str, idempotency_key: str
    ) -> GatewayResult:
        return self._approve("void", idempotency_key, ZERO)
