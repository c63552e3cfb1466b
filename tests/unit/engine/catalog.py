"""A test catalog of actions: no orders needed. Counters record effects per idempotency key."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from engine.registry import ActionContext, ActionError, ActionRegistry, NotAllowed


class Effects:
    """What the test actions did, and how the tests tell them to misbehave."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.effects: Counter[str] = Counter()
        self.keys: list[str] = []
        # The time each charge decided as of (ActionContext.decided_at), attempt by attempt.
        self.decided: list[datetime] = []
        self.fail_first: dict[str, int] = {}
        self.summaries: dict[str, dict[str, Any]] = {}
        self.things: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()


class Amount(BaseModel):
    amount: Decimal


class Charged(BaseModel):
    charged: Decimal
    key: str
    attempt: int


class Note(BaseModel):
    text: str = ""


class Done(BaseModel):
    ok: bool = True


class ThingIn(BaseModel):
    name: str
    status: str = "new"


class Thing(BaseModel):
    id: str
    name: str
    status: str


class ThingRef(BaseModel):
    thing: dict[str, Any]
    status: str


class Value(BaseModel):
    value: Any = None


class Emit(BaseModel):
    event: str
    id: str


def build_registry(effects: Effects) -> ActionRegistry:
    registry = ActionRegistry()

    # A payment gateway's stand-in: it calls outside the database, so what leads up to it commits first.
    @registry.action("charge", category="Payment", external=True)
    def charge(ctx: ActionContext, inputs: Amount) -> Charged:
        with effects.lock:
            effects.calls["charge"] += 1
            effects.keys.append(ctx.idempotency_key)
            effects.decided.append(ctx.decided_at())
            remaining = effects.fail_first.get("charge", 0)
            if remaining > 0:
                effects.fail_first["charge"] = remaining - 1
                raise ActionError("gateway timeout", code="timeout")
            # The effect counts once per key, like a gateway honouring idempotency keys.
            effects.effects[ctx.idempotency_key] += 1
        return Charged(charged=inputs.amount, key=ctx.idempotency_key, attempt=ctx.attempt)

    @registry.action("always_fail", category="Stock")
    def always_fail(ctx: ActionContext, inputs: Note) -> Done:
        effects.calls["always_fail"] += 1
        raise ActionError(inputs.text or "it failed", code="broken")

    @registry.action("decline", category="Payment")
    def decline(ctx: ActionContext, inputs: Note) -> Done:
        effects.calls["decline"] += 1
        raise ActionError(inputs.text or "declined", code="declined", retryable=False)

    @registry.action("refuse")
    def refuse(ctx: ActionContext, inputs: Note) -> Done:
        raise NotAllowed("not now")

    @registry.action("echo")
    def echo(ctx: ActionContext, inputs: Value) -> Value:
        effects.calls["echo"] += 1
        return Value(value=inputs.value)

    @registry.action("create_thing", record_kind="thing")
    def create_thing(ctx: ActionContext, inputs: ThingIn) -> Thing:
        thing_id = f"thing_{len(effects.things) + 1}"
        effects.things[thing_id] = {"id": thing_id, "name": inputs.name, "status": inputs.status}
        return Thing(**effects.things[thing_id])

    @registry.action("set_thing_status")
    def set_thing_status(ctx: ActionContext, inputs: ThingRef) -> Done:
        effects.things[inputs.thing["id"]]["status"] = inputs.status
        return Done()

    @registry.action("emit")
    def emit(ctx: ActionContext, inputs: Emit) -> Done:
        ctx.emit(inputs.event, {"id": inputs.id})
        return Done()

    def boom(ctx: ActionContext, inputs: Note) -> Done:
        raise RuntimeError("plugin exploded")

    def hang(ctx: ActionContext, inputs: Note) -> Done:
        time.sleep(5)
        return Done()

    def bad_shape(ctx: ActionContext, inputs: Note) -> Done:
        return "not a record"  # type: ignore[return-value]

    registry.register("acme.boom", boom, plugin=True)
    registry.register("acme.hang", hang, plugin=True, timeout_s=0.2)
    registry.register("acme.bad_shape", bad_shape, plugin=True)
    registry.register_event("thing.happened", {"id", "value"})
    registry.register_event("order_summary.created", {"id"})
    registry.register_scope("summary", lambda req: effects.summaries.get(req.subject_id or ""))
    registry.register_record_loader("thing", lambda session, thing_id: effects.things.get(thing_id))
    return registry
