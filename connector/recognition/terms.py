"""A pool's contract terms as the accounting needs them: amount, credits, breakage method, rate."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from connector.errors import InvalidInput
from connector.ledger.models import BreakageMethod
from connector.money import require_minor_units, round_half_even


@dataclass(frozen=True, slots=True)
class PoolTerms:
    """Net amount ``amount`` (minor units) paid for ``credits``; breakage ``method`` and rate."""

    amount: int
    credits: int
    method: BreakageMethod = BreakageMethod.REMOTE
    rate: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        if require_minor_units(self.amount, "revenue_amount") < 0:
            raise InvalidInput("revenue_amount", "is negative")
        if require_minor_units(self.credits, "credits") < 0:
            raise InvalidInput("credits", "is negative")
        if not Fraction(0) <= self.rate < Fraction(1):
            raise InvalidInput("breakage_rate", f"{self.rate} is outside [0, 1)")

    @property
    def proportional(self) -> bool:
        return self.method is BreakageMethod.PROPORTIONAL and self.rate > 0


def parse_rate(text: str, field: str = "breakage_rate") -> Fraction:
    """Exact decimal text ("0.25") to a Fraction in [0, 1); floats never get this far."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidInput(
            field, f"{text!r} is not a decimal number", 'write e.g. "0.25"'
        ) from None
    if not value.is_finite() or not Decimal(0) <= value < Decimal(1):
        raise InvalidInput(field, f"{text!r} is outside [0, 1)", 'write e.g. "0.25"')
    return Fraction(value)


def terms(amount: int, credits: int, method: str = "remote", rate: str = "0") -> PoolTerms:
    """Terms from the pool row's stored values."""
    try:
        breakage = BreakageMethod(method)
    except ValueError:
        raise InvalidInput(
            "breakage_method", f"unknown method {method!r}", "use remote or proportional"
        ) from None
    return PoolTerms(amount=amount, credits=credits, method=breakage, rate=parse_rate(rate))


def split_bonus(amount: int, paid_credits: int, bonus_credits: int) -> tuple[int, int]:
    """Bonus sharing the price (a material right): the paid pool gets round(A x Cp / (Cp + Cb)),
    the bonus pool the rest, so that the two always add up to A."""
    require_minor_units(amount, "amount")
    if paid_credits <= 0:
        raise InvalidInput("paid_credits", f"{paid_credits} is not positive")
    if bonus_credits < 0:
        raise InvalidInput("bonus_credits", f"{bonus_credits} is negative")
    paid = round_half_even(Fraction(amount * paid_credits, paid_credits + bonus_credits))
    return paid, amount - paid
