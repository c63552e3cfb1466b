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


# The table ``record_effect`` writes to. Create it before the first run (``create_effects_table``): a
# ``CREATE TABLE`` racing in many workers' transactions at once can fail on PostgreSQL.
EFFECTS_TABLE = "example_effects"
EFFECTS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {EFFECTS_TABLE} ("
    " idempotency_key VARCHAR(300) NOT NULL PRIMARY KEY,"
    " label VARCHAR(120) NOT NULL,"
    " run_id VARCHAR(64) NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 1)"
)


def create_effects_table(connection: object) -> None:
    """Creates the effects table on a SQLAlchemy connection or session, if it is not there."""
    from sqlalchemy import text

    connection.execute(text(EFFECTS_DDL))  # type: ignore[attr-defined]


class EffectInput(BaseModel):
    label: str


class EffectOutput(BaseModel):
    key: str
    attempts: int


def record_effect(ctx: object, inputs: EffectInput) -> EffectOutput:
    """An effect in the step's own transaction, keyed by the step's idempotency key.

    The first execution inserts a row; one that commits again for the same key (a step that ran twice)
    bumps ``attempts`` instead, so a test counting rows and attempts sees every double.
    """
    from sqlalchemy import text

    session = ctx.session  # type: ignore[attr-defined]
    if session is None:
        raise RuntimeError("record_effect needs a database session")
    key = ctx.idempotency_key  # type: ignore[attr-defined]
    attempts = session.execute(
        text(
            f"INSERT INTO {EFFECTS_TABLE} (idempotency_key, label, run_id, attempts)"
            " VALUES (:key, :label, :run_id, 1)"
            f" ON CONFLICT (idempotency_key) DO UPDATE SET attempts = {EFFECTS_TABLE}.attempts + 1"
            " RETURNING attempts"
        ),
        {"key": key, "label": inputs.label, "run_id": ctx.run_id},  # type: ignore[attr-defined]
    ).scalar_one()
    return EffectOutput(key=key, attempts=attempts)


def register(registrar: object) -> None:
    # Duck-typed, so this package needs no import of Ordo to be installed beside it.
    registrar.register("fraud_score", fraud_score, category="Plugin", timeout_s=5.0)  # type: ignore[attr-defined]
    registrar.register("slow_lookup", slow_lookup, timeout_s=0.5)  # type: ignore[attr-defined]
    registrar.register("always_fails", always_fails)  # type: ignore[attr-defined]
    registrar.register("record_effect", record_effect, timeout_s=30.0)  # type: ignore[attr-defined]
    # Events the example flows may trigger on and wait for; ``n`` tells the runs apart.
    registrar.register_event("example.tick", {"n"})  # type: ignore[attr-defined]
    registrar.register_event("example.go", {"n"})  # type: ignore[attr-defined]
