"""The revenue part of money a platform returns gross: a refund of a taxed purchase.

Platforms refund what the customer paid, tax included; the ledger takes back revenue, which is
net of tax. The share is the refunded fraction of the purchase's gross total applied to its net
total, computed on cumulative figures and rounded once, half to even, so that however a purchase
is refunded in parts the parts add up to the net share of their sum. Stripe, Chargebee and Zuora
refunds all need it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from connector.money import round_half_even


@dataclass(frozen=True)
class GrossToNet:
    """A purchase's totals: what the customer was charged and the revenue part of it."""

    gross_total: int
    net_total: int

    def share(self, gross_amount: int) -> int:
        """The net share of ``gross_amount`` returned, never more than the net total."""
        if self.gross_total <= 0 or self.net_total <= 0 or gross_amount <= 0:
            return 0
        exact = Fraction(gross_amount * self.net_total, self.gross_total)
        return min(round_half_even(exact), self.net_total)

    def share_after(self, gross_before: int, gross_amount: int) -> int:
        """The net share of ``gross_amount`` returned after ``gross_before`` already was."""
        return self.share(gross_before + gross_amount) - self.share(gross_before)


def spread(amount: int, weights: list[int]) -> list[int]:
    """``amount`` over ``weights`` in proportion, cumulative rounding: the parts add up exactly.

    With no weight at all the whole amount goes to the first part.
    """
    total = sum(weights)
    if not weights:
        return []
    if total <= 0:
        return [amount] + [0] * (len(weights) - 1)
    parts: list[int] = []
    running = 0
    given = 0
    for weight in weights:
        running += weight
        cumulative = round_half_even(Fraction(amount * running, total))
        parts.append(cumulative - given)
        given = cumulative
    return parts
