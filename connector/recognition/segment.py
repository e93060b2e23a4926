"""Recognition within one segment of a pool's life (deferred D spread over Q credits).

Every figure is a cumulative function of the credits ``u`` consumed since the segment started,
rounded once, half to even; what a period recognizes is the difference of two such figures.
"""

from __future__ import annotations

from fractions import Fraction

from connector.money import round_half_even
from connector.recognition.terms import PoolTerms


def _used(credits: int, used: int) -> int:
    return max(0, min(used, credits))


def consumption_revenue(deferred: int, credits: int, used: int) -> int:
    """round(D x u / Q). A segment with no credits is exhausted: all of D is revenue."""
    if credits <= 0:
        return deferred
    return round_half_even(Fraction(deferred * _used(credits, used), credits))


def recognized(deferred: int, credits: int, used: int, terms: PoolTerms) -> int:
    """Revenue plus estimated breakage recognized after ``used`` credits.

    Remote: round(D x u / Q). Proportional: min(D, round(D x u / (Q x (1 - b)))), so each
    consumed credit also releases its share of the credits expected never to be used.
    """
    if credits <= 0:
        return deferred
    if not terms.proportional:
        return consumption_revenue(deferred, credits, used)
    scaled = Fraction(deferred * _used(credits, used)) / (credits * (1 - terms.rate))
    return min(deferred, round_half_even(scaled))


def estimated_breakage(deferred: int, credits: int, used: int, terms: PoolTerms) -> int:
    """The proportional method's breakage part of ``recognized`` (0 under the remote method)."""
    return recognized(deferred, credits, used, terms) - consumption_revenue(deferred, credits, used)


def expected_future_breakage(
    deferred: int, credits: int, used: int, terms: PoolTerms
) -> tuple[int, int]:
    """(credits, amount) still expected to expire unused if consumption follows the rate b.

    Expected further consumption f = max(0, round(Q x (1 - b)) - u), at most what is left; the
    credits beyond it are expected to expire, and the deferred balance beyond the revenue those f
    credits will earn is the breakage still to come.
    """
    if credits <= 0:
        return 0, 0
    used = _used(credits, used)
    left = credits - used
    expected_use = round_half_even(Fraction(credits) * (1 - terms.rate)) - used
    future = max(0, min(left, expected_use))
    remaining_deferred = deferred - recognized(deferred, credits, used, terms)
    future_revenue = consumption_revenue(deferred, credits, used + future) - consumption_revenue(
        deferred, credits, used
    )
    return left - future, max(0, remaining_deferred - future_revenue)
