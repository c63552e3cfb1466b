"""An example payment processor for Ordo, registered as the ``example`` gateway (``ordo.gateways``).

It keeps its ledger in this process's memory, as a processor's own books: what each authorization still
holds, what each capture can still give back. Enough to show what a processor plugin must do, and to
run orders through one, not to take money: a real one calls its processor's API where this one writes
to the ledger. Tokens: ``card_ok`` approves, ``card_insufficient`` declines authorizations,
``card_timeout`` never answers.

What Ordo asks of every gateway (see docs/plugins.md):

- Every call carries an idempotency key. A call with a key already seen returns the first call's
  result and does nothing again, so a step retried after a lost answer never moves money twice.
- ``GatewayDeclined`` when the processor said no (retrying the same request will not help);
  ``GatewayTimeout`` when there was no answer (Ordo retries with the same key).
- Amounts are Decimals in the order's currency, never floats.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import Any

from orders.gateway import GatewayDeclined, GatewayResult, GatewayTimeout


@dataclass
class _Hold:
    """An authorization (what it can still give to captures) or a capture (what it can still refund)."""

    left: Decimal
    open: bool = True


@dataclass
class ExampleGateway:
    name: str = "example"
    holds: dict[str, _Hold] = field(default_factory=dict)
    # The first answer to each idempotency key: a repeat gets it again.
    answers: dict[str, GatewayResult] = field(default_factory=dict)
    _numbers: Any = field(default_factory=count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _once(self, key: str, act: Any) -> GatewayResult:
        with self._lock:
            if key not in self.answers:
                self.answers[key] = act()
            return self.answers[key]

    def _new(self, kind: str, amount: Decimal) -> GatewayResult:
        reference = f"ex_{kind}_{next(self._numbers)}"
        self.holds[reference] = _Hold(amount)
        return GatewayResult(reference, amount)

    def _draw(self, reference: str, amount: Decimal, what: str) -> _Hold:
        hold = self.holds.get(reference)
        if hold is None or not hold.open:
            raise GatewayDeclined(f"example gateway: no open {what} {reference}")
        if amount <= 0 or amount > hold.left:
            raise GatewayDeclined(
                f"example gateway: {amount} is more than {what} {reference} holds ({hold.left})"
            )
        hold.left -= amount
        return hold

    def authorize(
        self, session: object, *, token: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        def act() -> GatewayResult:
            if token == "card_timeout":
                raise GatewayTimeout("example gateway: no answer")
            if token != "card_ok":
                raise GatewayDeclined(f"example gateway: card {token} declined")
            return self._new("auth", amount)

        return self._once(idempotency_key, act)

    def capture(
        self,
        session: object,
        *,
        token: str,
        authorization_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult:
        def act() -> GatewayResult:
            self._draw(authorization_reference, amount, "authorization")
            return self._new("capture", amount)

        return self._once(idempotency_key, act)

    def refund(
        self,
        session: object,
        *,
        token: str,
        payment_reference: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
    ) -> GatewayResult:
        def act() -> GatewayResult:
            self._draw(payment_reference, amount, "capture")
            return GatewayResult(f"ex_refund_{next(self._numbers)}", amount)

        return self._once(idempotency_key, act)

    def void(
        self, session: object, *, token: str, authorization_reference: str, idempotency_key: str
    ) -> GatewayResult:
        def act() -> GatewayResult:
            hold = self.holds.get(authorization_reference)
            if hold is None or not hold.open:
                raise GatewayDeclined(f"example gateway: no open authorization {authorization_reference}")
            released, hold.left, hold.open = hold.left, Decimal(0), False
            return GatewayResult(f"ex_void_{next(self._numbers)}", released)

        return self._once(idempotency_key, act)
