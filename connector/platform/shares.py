"""The revenue part of money a platform returns on a purchase (a refund, a chargeback).

Platforms refund and dispute gross money, tax included, but a pool holds the revenue (net) part
only. The share returned is the same fraction of the purchase's net total as the returned amount
is of its gross total, rounded once (half to even) and never more than the net total.
"""

from __future__ import annotations

from fractions import Fraction

from connector.money import round_half_even


def net_share(gross_amount: int, gross_total: int, net_total: int) -> int:
    """The net part of ``gross_amount`` returned on a purchase of ``gross_total`` gross."""
    if gross_total <= 0 or net_total <= 0 or gross_amount <= 0:
        return 0
    return min(round_half_even(Fraction(gross_amount * net_total, gross_total)), net_total)
