"""One pool's money at a moment, advanced event by event (pure; no I/O).

The pool's life is a chain of segments. A segment spreads deferred D over Q credits; consumption
inside it recognizes cumulative, once-rounded figures (``segment``). A refund, void, forfeiture
or expiry ends the segment: what it recognized is frozen into integer bases and the next segment
starts with the deferred and credits that remain. Deferred is computed from the segment
(D - recognized), never as a remainder, so the invariant

    revenue + breakage + refunded + deferred == amount   (once billed)

is a real check of the transitions, not a tautology.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import NamedTuple

from connector.recognition import segment
from connector.recognition.refund import RefundSplit, split_refund
from connector.recognition.terms import PoolTerms


class Figures(NamedTuple):
    """Cumulative money figures of a pool (or a sum of pools), minor units."""

    billed: int = 0  # Cr deferred at purchase
    revenue: int = 0  # consumption revenue
    breakage: int = 0  # breakage revenue (estimated under the proportional method, then trued up)
    refunded: int = 0  # refunds reversing deferred revenue
    contra: int = 0  # refunds beyond the deferred balance (contra revenue)

    @property
    def deferred(self) -> int:
        """Deferred revenue as the journal sees it: what was billed and not yet released."""
        return self.billed - self.revenue - self.breakage - self.refunded

    def __add__(self, other: object) -> Figures:
        if not isinstance(other, Figures):
            return NotImplemented
        return Figures(*map(operator.add, self, other))

    def __sub__(self, other: Figures) -> Figures:
        return Figures(*map(operator.sub, self, other))

    def __neg__(self) -> Figures:
        return Figures(*(-a for a in self))

    def is_zero(self) -> bool:
        return not any(self)


ZERO = Figures()
FIGURE_NAMES: tuple[str, ...] = Figures._fields


@dataclass(slots=True)
class PoolState:
    """Mutable for speed (a recognition run replays millions of events); ``copy`` to branch."""

    terms: PoolTerms
    billed: bool = False
    seg_deferred: int = 0
    seg_credits: int = 0
    seg_used: int = 0
    base_revenue: int = 0
    base_breakage: int = 0
    refunded: int = 0
    contra: int = 0
    closed: bool = False  # expired or voided: nothing more is recognized
    credits_left: int = 0  # the ledger's view: granted minus every taking so far

    @classmethod
    def start(cls, terms: PoolTerms) -> PoolState:
        return cls(
            terms=terms,
            seg_deferred=terms.amount,
            seg_credits=terms.credits,
            credits_left=terms.credits,
        )

    def copy(self) -> PoolState:
        return PoolState(
            self.terms,
            self.billed,
            self.seg_deferred,
            self.seg_credits,
            self.seg_used,
            self.base_revenue,
            self.base_breakage,
            self.refunded,
            self.contra,
            self.closed,
            self.credits_left,
        )

    # --- what the pool holds now -------------------------------------------------------------

    def _seg_revenue(self) -> int:
        return segment.consumption_revenue(self.seg_deferred, self.seg_credits, self.seg_used)

    def _seg_recognized(self) -> int:
        return segment.recognized(self.seg_deferred, self.seg_credits, self.seg_used, self.terms)

    @property
    def deferred(self) -> int:
        """The segment's deferred balance left: D - recognized(u)."""
        if not self.billed:
            return 0
        return self.seg_deferred - self._seg_recognized()

    @property
    def seg_credits_left(self) -> int:
        return max(0, self.seg_credits - self.seg_used)

    def figures(self) -> Figures:
        if not self.billed:
            return ZERO
        revenue = self._seg_revenue()
        return Figures(
            billed=self.terms.amount,
            revenue=self.base_revenue + revenue,
            breakage=self.base_breakage + self._seg_recognized() - revenue,
            refunded=self.refunded,
            contra=self.contra,
        )

    def expected_breakage(self) -> tuple[int, int]:
        """(credits, amount) still expected to expire unused (see segment)."""
        if self.closed or not self.billed:
            return 0, 0
        return segment.expected_future_breakage(
            self.seg_deferred, self.seg_credits, self.seg_used, self.terms
        )

    # --- events ------------------------------------------------------------------------------

    def bill(self) -> None:
        self.billed = True

    def _end_segment(self, deferred: int, credits: int, extra_breakage: int = 0) -> None:
        revenue = self._seg_revenue()
        self.base_revenue += revenue
        self.base_breakage += self._seg_recognized() - revenue + extra_breakage
        self.seg_deferred = deferred
        self.seg_credits = max(0, credits)
        self.seg_used = 0

    def consume(self, credits: int) -> None:
        """``credits`` consumed (negative: consumption given back, e.g. a reversed burn)."""
        self.bill()
        self.credits_left -= credits
        if not self.closed:
            self.seg_used = max(0, self.seg_used + credits)

    @property
    def unrefunded(self) -> int:
        """The part of the pool's amount not refunded (nor reversed by a void) so far."""
        return self.terms.amount - self.refunded - self.contra

    def refund(self, amount: int, credits: int | None = None) -> RefundSplit:
        """Refund ``amount``; ``credits`` is what the ledger actually clawed back (None: the
        formula's k). Ends the segment; the next one has D - min(F, D) and Q - k."""
        self.bill()
        left = self.seg_credits_left
        split = split_refund(self.deferred, left, amount, self.unrefunded)
        clawed = split.credits if credits is None else credits
        self.credits_left -= clawed
        self.refunded += split.to_deferred
        self.contra += split.contra
        self._end_segment(self.deferred - split.to_deferred, left - min(clawed, left))
        return RefundSplit(credits=clawed, to_deferred=split.to_deferred, contra=split.contra)

    def undo_refund(self, to_deferred: int, contra: int, credits: int) -> None:
        """A refund failed after the fact: what it reversed comes back (``to_deferred`` to the
        deferred balance, ``contra`` to revenue) with the ``credits`` the ledger gave back, and
        the next segment starts from them. A pool closed since (expired or voided) has nothing
        left to deliver: the deferred revenue that comes back is breakage at once."""
        self.bill()
        self.credits_left += credits
        self.refunded -= to_deferred
        self.contra -= contra
        if self.closed:
            self.base_breakage += to_deferred
        else:
            self._end_segment(self.deferred + to_deferred, self.seg_credits_left + credits)

    def void(self, credits: int) -> int:
        """The purchase is cancelled: the deferred balance left goes back to clearing (as a
        refund of exactly that balance) and the pool is closed. Returns the amount reversed."""
        self.bill()
        reversed_amount = self.deferred
        self.credits_left -= credits
        self.refunded += reversed_amount
        self._end_segment(0, 0)
        self.closed = True
        return reversed_amount

    def expire(self, credits: int) -> int:
        """Expiry: the unconsumed credits are lost and the deferred balance left is breakage
        (under the proportional method: the true-up of the estimate). Returns that breakage."""
        self.bill()
        breakage = self.deferred
        self.credits_left -= credits
        self._end_segment(0, 0, extra_breakage=breakage)
        self.closed = True
        return breakage

    def forfeit(self, credits: int) -> int:
        """Credits taken back with no money returned: their share of the deferred balance is
        breakage now, as if those credits had expired. Returns that breakage."""
        self.bill()
        left = self.seg_credits_left
        taken = min(max(credits, 0), left)
        deferred = self.deferred
        share = deferred if taken >= left else segment.consumption_revenue(deferred, left, taken)
        self.credits_left -= credits
        if not self.closed:
            self._end_segment(deferred - share, left - taken, extra_breakage=share)
        return share if not self.closed else 0

    def add_credits(self, credits: int) -> None:
        """Credits added with no money: the deferred balance left now spreads over more credits."""
        self.bill()
        self.credits_left += credits
        if not self.closed:
            self._end_segment(self.deferred, self.seg_credits_left + credits)

    # --- persistence -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, int | bool]:
        return {
            "billed": self.billed,
            "seg_deferred": self.seg_deferred,
            "seg_credits": self.seg_credits,
            "seg_used": self.seg_used,
            "base_revenue": self.base_revenue,
            "base_breakage": self.base_breakage,
            "refunded": self.refunded,
            "contra": self.contra,
            "closed": self.closed,
            "credits_left": self.credits_left,
        }

    @classmethod
    def restore(cls, terms: PoolTerms, saved: dict[str, int | bool]) -> PoolState:
        return cls(
            terms=terms,
            billed=bool(saved["billed"]),
            seg_deferred=int(saved["seg_deferred"]),
            seg_credits=int(saved["seg_credits"]),
            seg_used=int(saved["seg_used"]),
            base_revenue=int(saved["base_revenue"]),
            base_breakage=int(saved["base_breakage"]),
            refunded=int(saved["refunded"]),
            contra=int(saved["contra"]),
            closed=bool(saved["closed"]),
            credits_left=int(saved["credits_left"]),
        )
