from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import InvalidInput
from connector.money import Money, exponent, parse_major, round_half_even


def test_exponents_follow_iso_4217() -> None:
    assert (exponent("usd"), exponent("JPY"), exponent("KWD")) == (2, 0, 3)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.34", "USD", 1234), ("100", "JPY", 100), ("1.005", "KWD", 1005), ("-0.5", "EUR", -50)],
)
def test_major_units_convert_exactly(text: str, currency: str, minor: int) -> None:
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize(("text", "currency"), [("12.345", "USD"), ("100.5", "JPY")])
def test_amounts_with_the_wrong_exponent_are_refused(text: str, currency: str) -> None:
    with pytest.raises(InvalidInput, match="more decimals than"):
        parse_major(text, currency)


def test_money_refuses_floats_and_unknown_currencies() -> None:
    with pytest.raises(InvalidInput) as error:
        Money(10.5, "USD")  # type: ignore[arg-type]
    assert error.value.field == "amount"
    with pytest.raises(InvalidInput) as error:
        Money(10, "XXX")
    assert error.value.field == "currency"
    assert Money(-123456, "usd").format() == "-1234.56 USD"
    assert Money(500, "JPY").format() == "500 JPY"


def test_rounding_is_half_to_even() -> None:
    assert [round_half_even(Fraction(n, 2)) for n in (1, 3, 5, -1)] == [0, 2, 2, 0]


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["USD", "JPY", "KWD"]))
def test_format_and_parse_round_trip(amount: int, currency: str) -> None:
    text = Money(amount, currency).format().split()[0]
    assert parse_major(text, currency) == amount


def test_counts_read_in_the_right_number() -> None:
    from connector.text import counted

    assert (counted(1, "pool"), counted(0, "pool"), counted(3, "entry", "entries")) == (
        "1 pool",
        "0 pools",
        "3 entries",
    )
