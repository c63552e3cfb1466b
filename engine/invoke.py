"""Calling one action: validate its inputs, run it (bounded by a timeout), check what it returned."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from engine.codec import RecordRef
from engine.registry import ActionContext, ActionDef, ActionError, NotAllowed
from engine.scope import plain


@dataclass
class Invocation:
    ok: bool
    value: Any = None
    message: str = ""
    code: str = ""
    retryable: bool = True
    refused: bool = False
    category: str | None = None


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(input)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def _run_with_timeout(definition: ActionDef, ctx: ActionContext, inputs: BaseModel, timeout_s: float) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = definition.func(ctx, inputs)
        except BaseException as exc:  # handed back to the engine's thread, which decides
            box["error"] = exc

    # A daemon thread, not a pool: a plugin that never returns must not keep the process from exiting.
    thread = threading.Thread(target=target, name=f"action-{definition.name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"action {definition.name} ran past its timeout of {timeout_s:g}s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def invoke(
    definition: ActionDef, args: dict[str, Any], ctx: ActionContext, timeout_s: float | None
) -> Invocation:
    try:
        inputs = definition.input_model.model_validate(plain(args))
    except ValidationError as exc:
        # A wrong shape will not heal on retry: fail the step at once with a message naming the fields.
        return Invocation(
            False,
            message=f"bad input to {definition.name}: {_describe(exc)}",
            code="bad_input",
            retryable=False,
        )
    try:
        if timeout_s is not None and timeout_s > 0:
            raw = _run_with_timeout(definition, ctx, inputs, timeout_s)
        else:
            raw = definition.func(ctx, inputs)
    except NotAllowed as exc:
        return Invocation(False, message=exc.message, code=exc.code, retryable=False, refused=True)
    except ActionError as exc:
        return Invocation(
            False, message=exc.message, code=exc.code, category=exc.category, retryable=exc.retryable
        )
    except TimeoutError as exc:
        return Invocation(False, message=str(exc), code="timeout")
    except Exception as exc:  # any failure of an action fails its step, never the engine
        return Invocation(False, message=f"{type(exc).__name__}: {exc}", code="exception")
    try:
        if isinstance(raw, definition.output_model):
            output = raw
        else:
            output = definition.output_model.model_validate(plain(raw) if raw is not None else raw)
    except ValidationError as exc:
        return Invocation(
            False,
            message=f"{definition.name} returned a wrong shape: {_describe(exc)}",
            code="bad_output",
            retryable=False,
        )
    value = output.model_dump()
    if definition.record_kind is not None and "id" in value:
        return Invocation(True, RecordRef(definition.record_kind, str(value["id"]), value))
    return Invocation(True, value)
