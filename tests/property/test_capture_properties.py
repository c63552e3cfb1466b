"""What a capture may draw on: lapsed authorizations never, the rest oldest first, and exactly the
amount outstanding between what it draws and what it must authorize anew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import AuthorizationStatus, OrderSummary, PaymentAuthorization
from orders.payments import lapse_expired, open_authorizations, plan_draws

START = datetime(2026, 1, 1, tzinfo=UTC)
CENTS = st.integers(0, 10**7).map(lambda n: Decimal(n) / 100)
# Hours after START an authorization lapses; None: it holds until voided.
EXPIRY = st.one_of(st.none(), st.integers(0, 400))
STATUS = st.sampled_from([AuthorizationStatus.AUTHORIZED] * 3 + [AuthorizationStatus.CLOSED])


def _summary(held: list[tuple[Decimal, int | None, AuthorizationStatus]]) -> OrderSummary:
    authorizations = [
        PaymentAuthorization(
            id=f"pa_{index:04d}",
            amount=remaining,
            remaining=remaining if status == AuthorizationStatus.AUTHORIZED else Decimal(0),
            status=status,
            expires_at=None if hours is None else START + timedelta(hours=hours),
            created_at=START + timedelta(minutes=index),
        )
        for index, (remaining, hours, status) in enumerate(held)
    ]
    authorized = sum((a.remaining for a in authorizations), Decimal(0))
    return OrderSummary(authorizations=authorizations, authorized_total=authorized, currency="USD")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(CENTS, EXPIRY, STATUS), max_size=8), st.integers(0, 400))
def test_lapsing_takes_exactly_the_expired_off_the_authorized_total(
    held: list[tuple[Decimal, int | None, AuthorizationStatus]], hours: int
) -> None:
    summary = _summary(held)
    at = START + timedelta(hours=hours)
    before = summary.authorized_total
    expected = sum(
        (
            a.remaining
            for a in summary.authorizations
            if a.status == AuthorizationStatus.AUTHORIZED and a.expires_at is not None and a.expires_at <= at
        ),
        Decimal(0),
    )
    assert lapse_expired(summary, at) == expected
    assert summary.authorized_total == before - expected
    # Only what is still authorized and not yet expired is there to draw on, oldest first.
    usable = open_authorizations(summary, at)
    assert usable == [
        a
        for a in summary.authorizations
        if a.status == AuthorizationStatus.AUTHORIZED
        and a.remaining > 0
        and (a.expires_at is None or a.expires_at > at)
    ]
    assert sum((a.remaining for a in usable), Decimal(0)) == summary.authorized_total
    # Lapsing twice lapses nothing more.
    assert lapse_expired(summary, at) == 0


@settings(max_examples=500, deadline=None)
@given(st.lists(CENTS, max_size=8), CENTS)
def test_draws_and_the_shortfall_make_up_exactly_what_is_outstanding(
    remaining: list[Decimal], outstanding: Decimal
) -> None:
    takes, shortfall = plan_draws(remaining, outstanding)
    assert len(takes) == len(remaining)
    assert all(Decimal(0) <= take <= held for take, held in zip(takes, remaining, strict=True))
    assert sum(takes, Decimal(0)) + shortfall == outstanding
    assert shortfall == max(outstanding - sum(remaining, Decimal(0)), Decimal(0))
    # Oldest first: a source is drawn on only once every older one was taken in full.
    for index, take in enumerate(takes):
        if take > 0:
            assert all(takes[j] == remaining[j] for j in range(index))


OPERATION = st.one_of(
    st.tuples(st.just("lapse"), st.integers(0, 400), st.just(0), st.just(Decimal(0))),
    st.tuples(st.just("draw"), st.integers(0, 400), st.integers(0, 7), CENTS),
    st.tuples(st.just("void"), st.integers(0, 400), st.integers(0, 7), st.just(Decimal(0))),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(CENTS, EXPIRY, st.just(AuthorizationStatus.AUTHORIZED)), min_size=1, max_size=8),
    st.lists(OPERATION, max_size=20),
)
def test_the_authorized_total_is_what_unlapsed_authorizations_hold_in_any_order_of_steps(
    held: list[tuple[Decimal, int | None, AuthorizationStatus]],
    operations: list[tuple[str, int, int, Decimal]],
) -> None:
    """Steps deciding as of different times (a retry as of its first attempt, another step as of
    now) lapse, draw on and void the same authorizations, in any order, as the payment steps do."""
    summary = _summary(held)
    for kind, hours, index, amount in operations:
        _step(summary, kind, START + timedelta(hours=hours), index, amount)
        held_now = sum((a.remaining for a in summary.authorizations if a.counted_as_authorized), Decimal(0))
        assert summary.authorized_total == held_now >= 0


def _step(summary: OrderSummary, kind: str, at: datetime, index: int, amount: Decimal) -> None:
    if kind == "lapse":
        lapse_expired(summary, at)
        return
    auth = summary.authorizations[index % len(summary.authorizations)]
    if not auth.usable_at(at):
        return
    counted = auth.counted_as_authorized
    if kind == "draw":
        take = min(amount, auth.remaining)
        if take <= 0:
            return
        auth.draw(take)
    else:
        take = auth.void()
    if counted:
        summary.authorized_total -= take
