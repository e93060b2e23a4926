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


def in_step(credits: int, amount: int, unrefunded: int) -> int:
    """Credits that follow a refund of ``amount`` out of ``unrefunded`` still paid for:
    every one of them when nothing stays paid, else min(Q, round(Q x F / R))."""
    credits = max(credits, 0)
    if amount >= unrefunded:
        return credits
    return min(credits, round_half_even(Fraction(credits * amount, unrefunded)))


def split_refund(deferred: int, credits: int, amount: int, unrefunded: int) -> RefundSplit:
    """Refund ``amount`` F from a segment with deferred D and credits Q left; ``unrefunded`` R
    is the part of the pool's amount not yet refunded before this refund.

    Dr deferred min(F, D), contra F - min(F, D). Credits clawed back: all Q when F brings the
    refunds to the pool's amount (F >= R, a full refund: nothing paid for is left, whatever D
    is); otherwise k = min(Q, round(Q x F / D)), or with D = 0 (credits left by rounding or by
    the proportional cap) k = min(Q, round(Q x F / R)).
    """
    to_deferred = min(amount, max(deferred, 0))
    contra = amount - to_deferred
    if amount >= unrefunded or deferred <= 0:
        clawed = in_step(credits, amount, unrefunded)
    else:
        clawed = in_step(credits, amount, deferred)
    return RefundSplit(credits=clawed, to_deferred=to_deferred, contra=contra)
