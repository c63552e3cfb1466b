"""When authorizations lapse: exactly the expired open ones close, the summary's authorized total drops by
exactly what they held, and the rest are untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import AuthorizationStatus, OrderSummary, PaymentAuthorization
from orders.payments import close_lapsed, open_authorizations

START = datetime(2026, 1, 1, tzinfo=UTC)
CENTS = st.integers(0, 10**7).map(lambda n: Decimal(n) / 100)
# (what it still holds, whether it is still authorized, days until it expires or None for never)
HOLDS = st.tuples(CENTS, st.booleans(), st.one_of(st.none(), st.integers(0, 30)))


@settings(max_examples=300, deadline=None)
@given(st.lists(HOLDS, max_size=8), st.integers(0, 40))
def test_only_the_expired_open_ones_lapse_and_the_total_drops_by_what_they_held(
    holds: list[tuple[Decimal, bool, int | None]], day: int
) -> None:
    auths = [
        PaymentAuthorization(
            id=f"pa_{i}",
            amount=remaining,
            remaining=remaining,
            status=AuthorizationStatus.AUTHORIZED if authorized else AuthorizationStatus.VOIDED,
            expires_at=START + timedelta(days=expires) if expires is not None else None,
            created_at=START,
        )
        for i, (remaining, authorized, expires) in enumerate(holds)
    ]
    held = sum((a.remaining for a in open_authorizations_of(auths)), Decimal(0))
    summary = OrderSummary(authorized_total=held)
    summary.authorizations = auths
    now = START + timedelta(days=day)
    before = [(a.status, a.remaining) for a in auths]

    released = close_lapsed(summary, now)

    expired = [
        i
        for i, (_, authorized, expires) in enumerate(holds)
        if authorized and expires is not None and expires <= day
    ]
    expected = sum((holds[i][0] for i in expired if holds[i][0] > 0), Decimal(0))
    assert released == expected
    assert summary.authorized_total == held - released
    for i, auth in enumerate(auths):
        if i in expired and holds[i][0] > 0:
            assert (auth.status, auth.remaining) == (AuthorizationStatus.CLOSED, Decimal(0))
        else:
            assert (auth.status, auth.remaining) == before[i]
    # What is still open is exactly what has not expired.
    assert all(not a.lapsed(now) for a in open_authorizations(summary))
    assert summary.authorized_total == sum((a.remaining for a in open_authorizations(summary)), Decimal(0))


def open_authorizations_of(auths: list[PaymentAuthorization]) -> list[PaymentAuthorization]:
    return [a for a in auths if a.status == AuthorizationStatus.AUTHORIZED and a.remaining > 0]
