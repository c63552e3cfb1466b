"""Exact money: currency exponents, rounding, largest-remainder allocation and the pool rule.

Everything here is a small pure function over ``Decimal``. Intermediate proportions are computed with
``Fraction`` so that no step rounds before the single rounding the rules in DESIGN.md ask for: a
28-digit Decimal division could otherwise turn an exact half into something that rounds the other way.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction
from typing import NamedTuple

from orders.currencies import CURRENCY_EXPONENTS
from orders.errors import MoneyError, UnknownCurrencyError

ZERO = Decimal(0)


def exponent(currency: str) -> int:
    """The number of decimal places of ``currency``'s minor unit."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrencyError(currency) from None


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``0.01`` for USD, ``1`` for JPY."""
    return Decimal(1).scaleb(-exponent(currency))


def _as_decimal(amount: Decimal | int) -> Decimal:
    # bool is an int, and float is the thing this module exists to keep out.
    if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
        raise MoneyError(f"amounts must be Decimal or int, not {type(amount).__name__}")
    if isinstance(amount, int):
        return Decimal(amount)
    if not amount.is_finite():
        raise MoneyError(f"amount {amount} is not a finite number")
    return amount


def quantize(amount: Decimal | int, currency: str) -> Decimal:
    """``amount`` rounded half-even to the minor unit of ``currency``."""
    value = _as_decimal(amount)
    try:
        return value.quantize(minor_unit(currency), rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        raise MoneyError(f"amount {amount} is too large to represent in {currency}") from None


def is_exact(amount: Decimal | int, currency: str) -> bool:
    """Whether ``amount`` needs no rounding in ``currency`` (``1.005`` USD does; ``1.50`` does not)."""
    value = _as_decimal(amount)
    return quantize(value, currency) == value


def require_exact(amount: Decimal | int, currency: str) -> Decimal:
    """``amount`` at the minor unit of ``currency``, or a MoneyError if that would lose anything."""
    value = _as_decimal(amount)
    exact = quantize(value, currency)
    if exact != value:
        raise MoneyError(f"{value} has more decimal places than {currency} allows ({exponent(currency)})")
    return exact


def format_amount(amount: Decimal | int, currency: str) -> str:
    """The JSON form of an amount: a plain decimal string at the currency's minor unit (``"12.30"``)."""
    return f"{require_exact(amount, currency):f}"


def _to_minor(amount: Decimal, currency: str) -> int:
    return int(require_exact(amount, currency).scaleb(exponent(currency)))


def _from_minor(units: int, currency: str) -> Decimal:
    return quantize(Decimal(units).scaleb(-exponent(currency)), currency)


def allocate_largest_remainder(
    total: Decimal | int, weights: Sequence[Decimal | int], currency: str
) -> list[Decimal]:
    """Share ``total`` among ``weights`` in proportion, exactly, by the largest-remainder method.

    Each share is first cut toward zero to the minor unit; the minor units left over go one each to
    the shares with the largest cut-off remainders, ties to the earlier one. The shares add up to
    ``total`` exactly and none is a minor unit or more away from its exact proportion. Works for
    negative totals (adjustments are negative). Zero weights get nothing, unless every weight is zero:
    then there is no proportion to follow and the total is shared equally, so it is never lost.
    """
    total_minor = _to_minor(_as_decimal(total), currency)
    if not weights:
        if total_minor:
            raise MoneyError(f"cannot share {total} {currency} among no lines")
        return []
    exact_weights = [Fraction(_as_decimal(w)) for w in weights]
    if any(w < 0 for w in exact_weights):
        raise MoneyError("allocation weights must not be negative")
    weight_sum = sum(exact_weights, Fraction(0))
    if weight_sum == 0:
        exact_weights = [Fraction(1)] * len(weights)
        weight_sum = Fraction(len(weights))

    exact_shares = [Fraction(total_minor) * w / weight_sum for w in exact_weights]
    cut = [int(share) for share in exact_shares]  # int() of a Fraction truncates toward zero
    remainders = [abs(share - c) for share, c in zip(exact_shares, cut, strict=True)]
    leftover = total_minor - sum(cut)
    step = 1 if leftover > 0 else -1
    by_remainder = sorted(range(len(cut)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[: abs(leftover)]:
        cut[i] += step
    return [_from_minor(units, currency) for units in cut]


def pool_amount(remaining_amount: Decimal | int, remaining_units: int, k: int, currency: str) -> Decimal:
    """The amount of ``k`` units taken from a pool holding ``remaining_amount`` for ``remaining_units``.

    The whole remainder when ``k`` empties the pool, otherwise the proportional part rounded half-even,
    so any sequence of partial operations on a line adds up to exactly what the pool held.
    """
    amount = require_exact(_as_decimal(remaining_amount), currency)
    if remaining_units < 0 or k < 0:
        raise MoneyError("pool units must not be negative")
    if k > remaining_units:
        raise MoneyError(f"cannot take {k} units from a pool of {remaining_units}")
    if k == remaining_units:
        return amount
    minor = Fraction(_to_minor(amount, currency)) * k / remaining_units
    return _from_minor(round(minor), currency)  # round() of a Fraction is half-even


def line_subtotal(quantity: int, unit_price: Decimal, adjustments: Decimal = ZERO) -> Decimal:
    """A line's weight for order-level adjustments: quantity x unit price + line adjustments."""
    return _as_decimal(unit_price) * quantity + _as_decimal(adjustments)


def line_total(
    quantity: int,
    unit_price: Decimal,
    adjustments: Decimal = ZERO,
    adjustment_share: Decimal = ZERO,
    tax: Decimal = ZERO,
) -> Decimal:
    """quantity x unit price + line adjustments + share of order-level adjustments + tax."""
    return line_subtotal(quantity, unit_price, adjustments) + _as_decimal(adjustment_share) + _as_decimal(tax)


class PricedLine(NamedTuple):
    quantity: int
    unit_price: Decimal
    adjustments: Decimal = ZERO
    tax: Decimal = ZERO


class LineTotals(NamedTuple):
    subtotal: Decimal
    adjustment_share: Decimal
    total: Decimal


def price_lines(lines: Sequence[PricedLine], order_adjustment: Decimal, currency: str) -> list[LineTotals]:
    """Every line's subtotal, share of the order-level adjustment and total, all exact in ``currency``."""
    subtotals = [
        require_exact(line_subtotal(line.quantity, line.unit_price, line.adjustments), currency)
        for line in lines
    ]
    shares = allocate_largest_remainder(order_adjustment, subtotals, currency)
    return [
        LineTotals(sub, share, require_exact(sub + share + line.tax, currency))
        for line, sub, share in zip(lines, subtotals, shares, strict=True)
    ]
