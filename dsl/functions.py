"""The whitelisted functions an expression may call. Nothing else is reachable from flow text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from dsl.values import CLOCK_KEY, is_list, is_number, to_decimal, type_name


class FunctionError(Exception):
    """A function was given values it cannot work on; the caller adds the span."""


def _flatten(values: Any) -> list[Any]:
    out: list[Any] = []
    stack = [iter(values)]
    while stack:
        for item in stack[-1]:
            if is_list(item):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _numbers(values: list[Any], fname: str) -> list[Any]:
    for v in values:
        if not is_number(v):
            raise FunctionError(f"{fname}() needs numbers, got {type_name(v)}")
    return values


def _len(scope: Mapping[str, Any], x: Any) -> int:
    if isinstance(x, str | Mapping) or is_list(x):
        return len(x)
    raise FunctionError(f"len() needs a list, text or record, got {type_name(x)}")


def _sum(scope: Mapping[str, Any], x: Any) -> Any:
    if not is_list(x):
        raise FunctionError(f"sum() needs a list, got {type_name(x)}")
    total: Any = 0
    for v in _numbers(_flatten(x), "sum"):
        total = total + (to_decimal(v) if isinstance(v, float) else v)
    return total


def _extreme(fname: str, pick: Callable[[list[Any]], Any]) -> Callable[..., Any]:
    def run(scope: Mapping[str, Any], *args: Any) -> Any:
        values = _flatten(args[0]) if len(args) == 1 and is_list(args[0]) else list(args)
        if not values:
            raise FunctionError(f"{fname}() of an empty list")
        try:
            return pick(values)
        except TypeError:
            kinds = ", ".join(sorted({type_name(v) for v in values}))
            raise FunctionError(f"{fname}() cannot compare {kinds}") from None

    return run


def _round(scope: Mapping[str, Any], x: Any, places: Any = 0) -> Any:
    if not is_number(x):
        raise FunctionError(f"round() needs a number, got {type_name(x)}")
    if not isinstance(places, int) or isinstance(places, bool) or not 0 <= places <= 12:
        raise FunctionError("round() places must be a whole number from 0 to 12")
    # half-even, as the money rules round
    rounded = to_decimal(x).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return int(rounded) if places == 0 else rounded


def _abs(scope: Mapping[str, Any], x: Any) -> Any:
    if not is_number(x):
        raise FunctionError(f"abs() needs a number, got {type_name(x)}")
    return abs(x)


def _lower(scope: Mapping[str, Any], x: Any) -> str:
    if not isinstance(x, str):
        raise FunctionError(f"lower() needs text, got {type_name(x)}")
    return x.lower()


def _upper(scope: Mapping[str, Any], x: Any) -> str:
    if not isinstance(x, str):
        raise FunctionError(f"upper() needs text, got {type_name(x)}")
    return x.upper()


def _now(scope: Mapping[str, Any]) -> Any:
    clock = scope.get(CLOCK_KEY) if isinstance(scope, Mapping) else None
    if clock is None:
        return datetime.now(UTC)
    return clock()


def _days(scope: Mapping[str, Any], n: Any) -> timedelta:
    if not is_number(n):
        raise FunctionError(f"days() needs a number, got {type_name(n)}")
    return timedelta(days=float(n))


# name -> (implementation taking the scope first, least args, most args or None for any)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int | None]] = {
    "len": (_len, 1, 1),
    "sum": (_sum, 1, 1),
    "min": (_extreme("min", min), 1, None),
    "max": (_extreme("max", max), 1, None),
    "round": (_round, 1, 2),
    "abs": (_abs, 1, 1),
    "lower": (_lower, 1, 1),
    "upper": (_upper, 1, 1),
    "now": (_now, 0, 0),
    "days": (_days, 1, 1),
}
