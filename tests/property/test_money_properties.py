"""Properties of the money rules that no example list can cover."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.money import allocate_largest_remainder, minor_unit, pool_amount

CURRENCIES = st.sampled_from(["USD", "JPY", "EUR", "KRW", "KWD", "CLF"])
FAST = settings(max_examples=300, deadline=None)


@st.composite
def amounts(draw: st.DrawFn, currency: str, max_minor: int = 10**9, signed: bool = True) -> Decimal:
    low = -max_minor if signed else 0
    return Decimal(draw(st.integers(low, max_minor))) * minor_unit(currency)


@st.composite
def allocation_cases(draw: st.DrawFn) -> tuple[str, Decimal, list[Decimal]]:
    currency = draw(CURRENCIES)
    total = draw(amounts(currency))
    weights = draw(st.lists(amounts(currency, 10**7, signed=False), min_size=1, max_size=12))
    return currency, total, weights


@FAST
@given(allocation_cases())
def test_shares_add_up_and_stay_within_a_minor_unit(case: tuple[str, Decimal, list[Decimal]]) -> None:
    currency, total, weights = case
    shares = allocate_largest_remainder(total, weights, currency)
    assert len(shares) == len(weights)
    assert sum(shares, Decimal(0)) == total
    weight_sum = sum(weights, Decimal(0))
    unit = Fraction(minor_unit(currency))
    for share, weight in zip(shares, weights, strict=True):
        assert share == share.quantize(minor_unit(currency))
        exact = Fraction(total) * Fraction(weight) / Fraction(weight_sum) if weight_sum else None
        if exact is not None:
            assert abs(Fraction(share) - exact) < unit
        # A share never points the other way from the total.
        assert share * total >= 0


@st.composite
def pool_runs(draw: st.DrawFn) -> tuple[str, Decimal, int, list[int]]:
    currency = draw(CURRENCIES)
    units = draw(st.integers(1, 50))
    line_total = draw(amounts(currency, 10**8, signed=False))
    takes: list[int] = []
    left = units
    while left:
        k = draw(st.integers(1, left))
        takes.append(k)
        left -= k
    return currency, line_total, units, takes


@FAST
@given(pool_runs())
def test_partial_pool_operations_add_up_to_the_line_total(case: tuple[str, Decimal, int, list[int]]) -> None:
    currency, line_total, units, takes = case
    remaining_amount, remaining_units = line_total, units
    taken: list[Decimal] = []
    for k in takes:
        amount = pool_amount(remaining_amount, remaining_units, k, currency)
        assert amount >= 0
        assert amount == amount.quantize(minor_unit(currency))
        remaining_amount -= amount
        remaining_units -= k
        assert remaining_amount >= 0
        taken.append(amount)
    assert remaining_units == 0
    assert remaining_amount == 0
    assert sum(taken, Decimal(0)) == line_total


@FAST
@given(pool_runs(), st.data())
def test_two_pools_drawing_on_one_line_never_exceed_it(
    case: tuple[str, Decimal, int, list[int]], data: st.DataObject
) -> None:
    # Invoices and cancels draw on one pool in any interleaving; together they give exactly the line.
    currency, line_total, units, takes = case
    remaining_amount, remaining_units = line_total, units
    invoiced = canceled = Decimal(0)
    for k in takes:
        amount = pool_amount(remaining_amount, remaining_units, k, currency)
        if data.draw(st.booleans()):
            invoiced += amount
        else:
            canceled += amount
        remaining_amount -= amount
        remaining_units -= k
        assert 0 <= invoiced + canceled <= line_total
    assert invoiced + canceled == line_total
