"""Which authorizations a release voids: never one the order still needs, and no more could go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import AuthorizationStatus, PaymentAuthorization
from orders.payments import choose_spare

START = datetime(2026, 1, 1, tzinfo=UTC)
CENTS = st.integers(1, 10**7).map(lambda n: Decimal(n) / 100)


def _authorizations(remaining: list[Decimal]) -> list[PaymentAuthorization]:
    return [
        PaymentAuthorization(
            id=f"pa_{index:04d}",
            amount=amount,
            remaining=amount,
            status=AuthorizationStatus.AUTHORIZED,
            created_at=START + timedelta(minutes=index),
        )
        for index, amount in enumerate(remaining)
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(CENTS, min_size=0, max_size=8), st.integers(0, 10**8).map(lambda n: Decimal(n) / 100))
def test_what_is_kept_covers_what_is_needed_and_nothing_more_could_go(
    remaining: list[Decimal], still_needed: Decimal
) -> None:
    sources = _authorizations(remaining)
    spare = choose_spare(sources, still_needed)
    assert len({id(a) for a in spare}) == len(spare) and all(a in sources for a in spare)
    kept = [a for a in sources if a not in spare]
    held = sum((a.remaining for a in kept), Decimal(0))
    total = sum(remaining, Decimal(0))
    if total >= still_needed:
        assert held >= still_needed
    else:
        assert spare == []  # short already: nothing is let go
    # Maximal: voiding any authorization that was kept as well would leave too little.
    assert all(held - a.remaining < still_needed for a in kept)


def test_nothing_left_to_capture_voids_every_authorization_newest_first() -> None:
    sources = _authorizations([Decimal("30.00"), Decimal("20.00")])
    assert [a.id for a in choose_spare(sources, Decimal(0))] == ["pa_0001", "pa_0000"]


def test_the_newest_goes_first_when_the_older_one_covers_the_rest() -> None:
    sources = _authorizations([Decimal("30.00"), Decimal("20.00")])
    assert [a.id for a in choose_spare(sources, Decimal("25.00"))] == ["pa_0001"]
    assert choose_spare(sources, Decimal("31.00")) == []
