"""What to post for one pool: cumulative targets minus what is already posted, period by period.

For each open period P up to the run's cutoff, the target is the pool's cumulative figures at
min(end of P, cutoff) over everything known now; what P gets is that target minus everything
posted in P and before. A closed period never receives anything: whatever changed in closed
periods (consumption, refunds, purchases that arrived after the close) lands in the first open
period, split out as "late" so finance can see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connector.recognition.state import ZERO, Figures

Posted = Mapping[tuple[str, bool], Figures]  # (period, late) -> figures posted there


@dataclass(frozen=True, slots=True)
class Delta:
    period: str
    late: bool
    figures: Figures


def _posted_through(posted: Posted, period: str) -> Figures:
    if not posted:
        return ZERO
    total = ZERO
    for (p, _late), figures in posted.items():
        if p <= period:
            total = total + figures
    return total


def plan(
    open_periods: Sequence[str],
    targets: Mapping[str, Figures],
    posted: Posted,
    first_open: str | None = None,
    late_target: Figures | None = None,
) -> list[Delta]:
    """Non-zero deltas for ``open_periods`` (ascending).

    ``first_open`` is the first open period after the closed ones (None: nothing closed);
    ``late_target`` the cumulative figures at its start over everything known now (None: nothing
    can have changed before it since the last run, so nothing is late).
    """
    out: list[Delta] = []
    planned = ZERO
    for period in open_periods:
        already = _posted_through(posted, period) + planned
        total = targets[period] - already
        if period == first_open and late_target is not None:
            closed = sum((f for (p, _l), f in posted.items() if p < period), start=ZERO)
            late = late_target - closed - posted.get((period, True), ZERO)
            parts = [(True, late), (False, total - late)]
        else:
            parts = [(False, total)]
        for is_late, figures in parts:
            if not figures.is_zero():
                out.append(Delta(period=period, late=is_late, figures=figures))
                planned = planned + figures
    return out
