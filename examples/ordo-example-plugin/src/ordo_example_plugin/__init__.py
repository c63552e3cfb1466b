"""Example Ordo plugin: the engine calls ``register`` with a registrar for the ``example`` namespace."""

from __future__ import annotations

import time
from decimal import Decimal

from pydantic import BaseModel, Field


class ScoreInput(BaseModel):
    email: str
    amount: Decimal = Field(ge=0)


class ScoreOutput(BaseModel):
    score: Decimal
    flagged: bool


class LookupInput(BaseModel):
    seconds: Decimal = Decimal("60")


class LookupOutput(BaseModel):
    found: bool


def fraud_score(ctx: object, inputs: ScoreInput) -> ScoreOutput:
    """A toy risk score: big orders from throwaway domains look risky."""
    score = Decimal("0.1")
    if inputs.email.endswith(("@example.invalid", "@mailinator.com")):
        score += Decimal("0.5")
    if inputs.amount > 1000:
        score += Decimal("0.3")
    return ScoreOutput(score=score, flagged=score >= Decimal("0.7"))


def slow_lookup(ctx: object, inputs: LookupInput) -> LookupOutput:
    """Stands in for a remote service that hangs: its step times out instead of holding the engine."""
    time.sleep(float(inputs.seconds))
    return LookupOutput(found=True)


def always_fails(ctx: object, inputs: LookupInput) -> LookupOutput:
    raise RuntimeError("the example service is down")


def register(registrar: object) -> None:
    # Duck-typed, so this package needs no import of Ordo to be installed beside it.
    registrar.register("fraud_score", fraud_score, category="Plugin", timeout_s=5.0)  # type: ignore[attr-defined]
    registrar.register("slow_lookup", slow_lookup, timeout_s=0.5)  # type: ignore[attr-defined]
    registrar.register("always_fails", always_fails)  # type: ignore[attr-defined]
