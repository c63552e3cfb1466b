"""The currency table: ISO 4217's circulating currencies with the right number of decimal places."""

from __future__ import annotations

from orders.currencies import CURRENCY_EXPONENTS


def test_places_of_well_known_currencies() -> None:
    expected = {"USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "ISK": 0, "HUF": 2, "KWD": 3, "BHD": 3, "CLF": 4}
    assert {code: CURRENCY_EXPONENTS[code] for code in expected} == expected


def test_replaced_currencies_are_gone_and_their_successors_there() -> None:
    for gone, successor in (("ANG", "XCG"), ("BGN", "EUR"), ("HRK", "EUR"), ("SLL", "SLE"), ("ZWL", "ZWG")):
        assert gone not in CURRENCY_EXPONENTS
        assert successor in CURRENCY_EXPONENTS


def test_no_metal_or_testing_code_is_taken() -> None:
    assert not {"XAU", "XAG", "XDR", "XTS", "XXX"} & set(CURRENCY_EXPONENTS)
    assert all(len(code) == 3 and code.isupper() for code in CURRENCY_EXPONENTS)
