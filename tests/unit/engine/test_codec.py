"""engine.codec: run variables survive JSON exactly, whichever path of encode() they take."""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from engine.codec import DEC, decode, encode

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_every_value_comes_back_the_same_through_json(value: Any) -> None:
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value
    assert type(back) is type(value)


def test_booleans_stay_booleans_and_decimals_keep_their_digits() -> None:
    assert encode({"ok": True, "n": 1, "amount": Decimal("1.10")}) == {
        "ok": True,
        "n": 1,
        "amount": {DEC: "1.10"},
    }


def test_keys_become_strings_on_every_kind_of_mapping() -> None:
    assert encode({1: "a", "b": [date(2026, 12, 3)]}) == {"1": "a", "b": [{"$date": "2026-12-03"}]}
    assert encode(OrderedDict([(2, Decimal("3"))])) == {"2": {DEC: "3"}}


def test_tuples_and_sets_become_lists_and_other_objects_strings() -> None:
    assert encode((1, 2)) == [1, 2]
    assert encode(frozenset({"x"})) == ["x"]
    assert encode(1.5) == {DEC: "1.5"}
    assert encode(datetime(2026, 12, 3, tzinfo=UTC)) == {"$datetime": "2026-12-03T00:00:00+00:00"}
    assert encode(object) == str(object)
