"""Money as integer minor units with an ISO 4217 currency.

Floats never enter: an amount is an ``int`` of the currency's minor unit, and conversions from
decimal text are exact or refused. The exponent table is what makes JPY (0) and KWD (3) right.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Final

from connector.errors import InvalidInput

# ISO 4217 active codes and their minor-unit exponents (list of 2024). Codes without a minor unit
# in the standard (XAU, XDR, ...) are not money a customer pays for credits with and are left out.
_EXPONENT_0: Final = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()
)
_EXPONENT_3: Final = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
_EXPONENT_4: Final = frozenset("CLF UYW".split())
_EXPONENT_2: Final = frozenset(
    """AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
    BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL
    GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD
    LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN
    PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VES WST XCD XCG YER ZAR ZMW ZWG""".split()
)

_EXPONENTS: Final[dict[str, int]] = {
    **{code: 0 for code in _EXPONENT_0},
    **{code: 2 for code in _EXPONENT_2},
    **{code: 3 for code in _EXPONENT_3},
    **{code: 4 for code in _EXPONENT_4},
}


def normalize_currency(code: str, field: str = "currency") -> str:
    """Upper-case an ISO 4217 code, refusing anything that is not one."""
    if not isinstance(code, str) or code.upper() not in _EXPONENTS:
        raise InvalidInput(field, f"{code!r} is not an ISO 4217 currency code", "use e.g. USD")
    return code.upper()


def exponent(currency: str) -> int:
    return _EXPONENTS[normalize_currency(currency)]


def require_minor_units(value: object, field: str) -> int:
    """Accept only an integer amount (bool and float are refused: they are never money here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            field,
            f"{value!r} is not an integer amount in minor units",
            "send cents (or the currency's minor unit) as an integer",
        )
    return value


def parse_major(text: str, currency: str, field: str = "amount") -> int:
    """Turn decimal text in major units ("12.34") into minor units, refusing extra precision."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise InvalidInput(field, f"{text!r} is not a decimal number") from None
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            field,
            f"{text!r} has more decimals than {currency} allows ({exponent(currency)})",
            "round the amount to the currency's minor unit",
        )
    return int(scaled)


def round_half_even(value: Fraction) -> int:
    """Round an exact rational once, half to even (``round`` on a Fraction does exactly that)."""
    return round(value)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units of one currency."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        require_minor_units(self.amount, "amount")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    def format(self) -> str:
        """Human text in major units, e.g. ``12.34 USD``; for display only."""
        exp = exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        whole, frac = divmod(abs(self.amount), 10**exp)
        digits = f"{whole}.{frac:0{exp}d}" if exp else str(whole)
        return f"{sign}{digits} {self.currency}"

    def __str__(self) -> str:
        return self.format()
