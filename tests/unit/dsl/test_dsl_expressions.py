"""Expressions: values, Decimal arithmetic, paths over lists, functions, run-time errors, safety."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from dsl import ExpressionError, FlowCompileError, compile_expression
from dsl.values import CLOCK_KEY


def ev(text: str, **scope: Any) -> Any:
    return compile_expression(text).evaluate(scope)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("10 - (4 - 3)", 9),
        ("7 / 2", Decimal("3.5")),
        ("1 / 3 * 3", Decimal(1) / Decimal(3) * 3),
        ("0.1 + 0.2", Decimal("0.3")),
        ("7 % 3", 1),
        ("-2 * 3", -6),
        ("--2", 2),
        ('"a" + "b"', "ab"),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("1 < 2 and 2 < 3", True),
        ("1 > 2 or 3 > 2", True),
        ("not 1 > 2", True),
        ("2 in [1, 2]", True),
        ("3 not in [1, 2]", True),
        ('"ell" in "hello"', True),
        ("null == null", True),
        ("true and false", False),
        ("len([1, 2, 3])", 3),
        ("sum([1, 2.5])", Decimal("3.5")),
        ("min(3, 1, 2)", 1),
        ("max([3, 1, 2])", 3),
        ("round(2.345, 2)", Decimal("2.34")),
        ("round(2.5)", 2),
        ("abs(-3)", 3),
        ('lower("AbC")', "abc"),
        ('upper("abc")', "ABC"),
        ("days(2)", timedelta(days=2)),
    ],
)
def test_dsl_expression_values(text: str, value: Any) -> None:
    assert ev(text) == value


def test_dsl_division_gives_decimal_never_float() -> None:
    result = ev("total / 4", total=10)
    assert isinstance(result, Decimal) and result == Decimal("2.5")


def test_dsl_paths_read_mappings_and_map_over_lists() -> None:
    summary = {"items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 3}], "customer": {"email": "x@y"}}
    assert ev("summary.items.sku", summary=summary) == ["A", "B"]
    assert ev("sum(summary.items.qty)", summary=summary) == 5
    assert ev("summary.customer.email", summary=summary) == "x@y"
    assert ev("summary.customer.email", summary=MappingProxyType(summary)) == "x@y"


def test_dsl_interpolation() -> None:
    text = ev(
        '"Order {o.n} for {o.total} {o.ok} {o.none}"',
        o={"n": "A1", "total": Decimal("12.30"), "ok": True, "none": None},
    )
    assert text == "Order A1 for 12.30 true null"
    assert ev('"literal \\{braces\\}"') == "literal {braces}"


def test_dsl_now_uses_the_injected_clock() -> None:
    moment = datetime(2030, 1, 2, tzinfo=UTC)
    expr = compile_expression("now() + days(1)")
    assert expr.evaluate({CLOCK_KEY: lambda: moment}) == moment + timedelta(days=1)
    assert abs(expr.evaluate({}) - datetime.now(UTC) - timedelta(days=1)) < timedelta(seconds=5)


@pytest.mark.parametrize(
    ("text", "scope", "message", "column"),
    [
        ("missing > 1", {}, "'missing' is not set", 1),
        ("a.nope", {"a": {}}, "no field 'nope'", 3),
        ("a.b.c", {"a": {"b": 5}}, "cannot read field 'c' of number", 5),
        ("1 / zero", {"zero": 0}, "division by zero", 1),
        ("x + 1", {"x": "s"}, "cannot apply '+' to text and number", 1),
        ("total > 100", {"total": "abc"}, "cannot compare text with number", 1),
        ("len(5)", {}, "len() needs a list", 1),
        ("-x", {"x": "s"}, "cannot negate text", 1),
        ("2 in 5", {}, "needs a list, text or record", 1),
    ],
)
def test_dsl_runtime_errors_are_expression_errors(
    text: str, scope: dict[str, Any], message: str, column: int
) -> None:
    expr = compile_expression(text)
    with pytest.raises(ExpressionError) as info:
        expr.evaluate(scope)
    assert message in info.value.message
    assert info.value.span.column == column


def test_dsl_fast_path_agrees_with_checked_path() -> None:
    expr = compile_expression('total > 100 and tier == "gold" and (country == "AU" or qty >= 5)')
    scope = {"total": Decimal("150"), "tier": "gold", "country": "NZ", "qty": 5}
    assert expr.evaluate(scope) is True
    assert expr.evaluate({**scope, "qty": 4}) is False
    with pytest.raises(ExpressionError, match="'tier' is not set"):
        expr.evaluate({"total": 101})


def test_dsl_compile_expression_refuses_bad_text_and_names() -> None:
    with pytest.raises(FlowCompileError) as info:
        compile_expression("1 +")
    assert info.value.diagnostics[0].code == "syntax"
    with pytest.raises(FlowCompileError) as info:
        compile_expression("a + b", names={"a"})
    assert info.value.diagnostics[0].code == "unknown-name"
    with pytest.raises(FlowCompileError) as info:
        compile_expression("open(1)")
    assert info.value.diagnostics[0].code == "unknown-function"


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000 + "1" + ")" * 10_000,
        "not " * 10_000 + "x",
        "-" * 10_000 + "1",
        "[" * 10_000 + "]" * 10_000,
        "a" + ".b" * 10_000,
    ],
)
def test_dsl_deep_nesting_is_a_diagnostic(text: str) -> None:
    try:
        expr = compile_expression(text)
    except FlowCompileError as exc:
        assert exc.diagnostics[0].code == "too-deep"
    else:  # parentheses alone build nothing deep; the result must still work
        assert expr.evaluate({}) == 1


def test_dsl_long_flat_chains_are_not_deep() -> None:
    assert ev(" + ".join(["1"] * 10_000)) == 10_000
    assert ev(" and ".join(["true"] * 10_000)) is True


def test_dsl_no_eval_or_exec_in_the_language() -> None:
    root = Path(__file__).resolve().parents[3] / "dsl"
    for path in root.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"\b(eval|exec)\(", text), path.name
        assert "getattr(" not in text or path.name == "export.py", path.name
