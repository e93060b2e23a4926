"""The split of a refund between deferred revenue, contra revenue, and credits clawed back."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from connector.money import round_half_even


@dataclass(frozen=True, slots=True)
class RefundSplit:
    credits: int  # k: credits clawed back
    to_deferred: int  # Dr deferred revenue
    contra: int  # Dr refunds (contra revenue): what goes beyond the deferred balance

    @property
    def amount(self) -> int:
        return self.to_deferred + self.contra


def split_refund(deferred: int, credits: int, amount: int) -> RefundSplit:
    """Refund ``amount`` F from a segment with deferred D and credits Q left.

    k = min(Q, round(Q x F / D)); Dr deferred min(F, D), contra F - min(F, D). With D = 0 nothing
    is left to reverse, so no credit is clawed back and all of F is contra revenue.
    """
    if deferred <= 0:
        return RefundSplit(credits=0, to_deferred=0, contra=amount)
    to_deferred = min(amount, deferred)
    clawed = min(max(credits, 0), round_half_even(Fraction(max(credits, 0) * amount, deferred)))
    return RefundSplit(credits=clawed, to_deferred=to_deferred, contra=amount - to_deferred)
