"""The horizon: nothing is burned, expired, recognized or closed beyond now.

Each of these writes something that cannot be taken back by waiting. A recognition cutoff in the
future makes every later run with an earlier cutoff a refusal until that date; a period closed
before it ends sends every later burn dated in it to the next period, marked late, for good;
an expiry at a future moment removes credits a customer still holds; a burn dated ahead sits in
the ledger before the moment it claims to have happened. The command line and the admin API
refuse them through these checks, with the reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from connector.errors import InvalidInput
from connector.recognition.periods import end_of, entry_date, parse_period
from connector.timeutil import require_aware, utcnow

NO_SKEW = timedelta(0)


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def not_after_now(
    moment: datetime,
    field: str,
    fix: str,
    *,
    skew: timedelta = NO_SKEW,
    now: datetime | None = None,
) -> datetime:
    """``moment`` in UTC when it is no later than now (plus ``skew``); else InvalidInput.

    ``skew`` is the tolerance for a sender whose clock runs slightly ahead of this one."""
    moment = require_aware(moment, field)
    now = require_aware(now or utcnow(), "now")
    if moment > now + skew:
        allowed = f" (plus {skew} of clock skew)" if skew else ""
        raise InvalidInput(
            field, f"{_stamp(moment)} is in the future: it is now {_stamp(now)}{allowed}", fix
        )
    return moment


def period_has_ended(
    period: str, tz: tzinfo, field: str = "period", *, now: datetime | None = None
) -> str:
    """``period`` (normalised) when it has ended in ``tz``; else InvalidInput naming the first
    day it can be closed."""
    period = parse_period(period, field)
    ends_at = end_of(period, tz)
    now = require_aware(now or utcnow(), "now")
    if ends_at > now:
        last_day = entry_date(ends_at, tz)
        raise InvalidInput(
            field,
            f"{period} has not ended: it runs until {_stamp(ends_at)}, and a period closed early "
            "books every later burn in it late",
            f"close it once {last_day.isoformat()} is over",
        )
    return period
