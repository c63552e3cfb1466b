"""The money rules of DESIGN.md, by example."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from orders.errors import MoneyError, UnknownCurrencyError
from orders.money import (
    PricedLine,
    allocate_largest_remainder,
    exponent,
    format_amount,
    line_subtotal,
    line_total,
    pool_amount,
    price_lines,
    quantize,
    require_exact,
)


def test_worked_example_order_adjustment_shares() -> None:
    weights = [line_subtotal(3, D("19.99")), line_subtotal(1, D("5.00")), line_subtotal(2, D("7.50"))]
    shares = allocate_largest_remainder(D("-10.00"), weights, "USD")
    assert shares == [D("-7.50"), D("-0.62"), D("-1.88")]
    assert [str(s) for s in shares] == ["-7.50", "-0.62", "-1.88"]
    assert sum(shares) == D("-10.00")


def test_capture_example_line_totals() -> None:
    lines = [PricedLine(2, D("19.99"), tax=D("3.20")), PricedLine(1, D("5.00"), tax=D("0.40"))]
    priced = price_lines(lines, D("-2.00"), "USD")
    assert [p.adjustment_share for p in priced] == [D("-1.78"), D("-0.22")]
    assert [p.total for p in priced] == [D("41.40"), D("5.18")]


def test_ties_go_to_the_earlier_line() -> None:
    assert allocate_largest_remainder(D("0.01"), [1, 1, 1], "USD") == [D("0.01"), D("0"), D("0")]
    assert allocate_largest_remainder(D("-0.02"), [1, 1, 1], "USD") == [D("-0.01"), D("-0.01"), D("0")]
    assert allocate_largest_remainder(D("1"), [D("2"), D("5"), D("2"), D("5")], "JPY") == [0, 1, 0, 0]


def test_jpy_has_no_minor_digits() -> None:
    assert exponent("JPY") == 0
    assert allocate_largest_remainder(D("-100"), [D("1000"), D("500"), D("500")], "JPY") == [-50, -25, -25]
    assert allocate_largest_remainder(D("100"), [1, 1, 1], "JPY") == [D("34"), D("33"), D("33")]
    assert quantize(D("2.5"), "JPY") == D("2")
    assert quantize(D("3.5"), "JPY") == D("4")
    assert pool_amount(D("1000"), 3, 1, "JPY") == D("333")
    with pytest.raises(MoneyError):
        require_exact(D("10.5"), "JPY")


def test_quantize_is_half_even() -> None:
    assert quantize(D("0.125"), "USD") == D("0.12")
    assert quantize(D("0.135"), "USD") == D("0.14")
    assert quantize(D("-0.125"), "USD") == D("-0.12")
    assert str(quantize(D("12.3"), "EUR")) == "12.30"


def test_zero_weights_get_nothing_and_all_zero_shares_equally() -> None:
    assert allocate_largest_remainder(D("-1.00"), [0, D("10"), 0], "USD") == [0, D("-1.00"), 0]
    assert allocate_largest_remainder(D("1.00"), [0, 0, 0], "USD") == [D("0.34"), D("0.33"), D("0.33")]
    assert allocate_largest_remainder(D("0"), [], "USD") == []


def test_pool_rule() -> None:
    assert pool_amount(D("41.40"), 2, 1, "USD") == D("20.70")
    assert pool_amount(D("20.70"), 1, 1, "USD") == D("20.70")
    # 10.00 - 0.01 over three units: 3.33, then 3.33, then the remainder.
    assert pool_amount(D("29.99"), 3, 1, "USD") == D("10.00")
    assert pool_amount(D("19.99"), 2, 1, "USD") == D("10.00")  # 9.995 half-even
    assert pool_amount(D("9.99"), 1, 1, "USD") == D("9.99")
    assert pool_amount(D("0.05"), 2, 1, "USD") == D("0.02")  # 0.025 half-even
    assert pool_amount(D("5.00"), 4, 0, "USD") == D("0.00")
    with pytest.raises(MoneyError):
        pool_amount(D("5.00"), 2, 3, "USD")


def test_unknown_currency_is_a_domain_error() -> None:
    with pytest.raises(UnknownCurrencyError, match="XXX"):
        quantize(D("1"), "XXX")
    with pytest.raises(UnknownCurrencyError):
        allocate_largest_remainder(D("1"), [1], "usd")


def test_floats_and_inexact_amounts_are_refused() -> None:
    with pytest.raises(MoneyError, match="float"):
        quantize(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="decimal places"):
        allocate_largest_remainder(D("1.005"), [1, 2], "USD")
    with pytest.raises(MoneyError):
        allocate_largest_remainder(D("1.00"), [D("-1"), D("2")], "USD")
    with pytest.raises(MoneyError):
        quantize(D("NaN"), "USD")


def test_line_total_and_format() -> None:
    total = line_total(3, D("19.99"), D("-1.00"), D("-7.50"), D("4.00"))
    assert total == D("55.47")
    assert format_amount(total, "USD") == "55.47"
    assert format_amount(D("12.3"), "USD") == "12.30"
    assert format_amount(D("1500"), "JPY") == "1500"
    assert format_amount(D("1E+3"), "KRW") == "1000"
