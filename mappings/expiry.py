"""When credits expire: an ISO 8601 duration, a fixed moment, the paid period's end, or never.

Durations are parsed here rather than by a library so that the arithmetic is exact and stated:
years and months are calendar months added in UTC with the day clamped to the target month's
length (2026-01-31 + P1M = 2026-02-28), then weeks, days and time are added as exact spans.
Fractions ("PT1.5H") are refused: write the smaller unit instead.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Final

NONE: Final = "none"
END_OF_PERIOD: Final = "end_of_period"

_DURATION: Final = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
_HINT: Final = 'use an ISO 8601 duration such as "P12M", "P30D" or "PT1H"'


@dataclass(frozen=True)
class Duration:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0
    # derived once: a sync page resolves the same duration for every purchase it grants
    _months: int = field(init=False, repr=False, compare=False)
    _span: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        span = timedelta(
            weeks=self.weeks,
            days=self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )
        object.__setattr__(self, "_months", 12 * self.years + self.months)
        object.__setattr__(self, "_span", span)

    def after(self, start: datetime) -> datetime:
        """``start`` plus this duration, calendar parts first (in UTC), then exact spans."""
        return add_months(start.astimezone(UTC), self._months) + self._span


def add_months(start: datetime, months: int) -> datetime:
    """Calendar months, the day clamped to the last day of the target month."""
    if not months:
        return start
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return start.replace(year=year, month=month + 1, day=min(start.day, last_day))


def parse_duration(text: str) -> Duration:
    """Parse ``PnYnMnWnDTnHnMnS`` (integers only); ValueError names what is wrong."""
    candidate = text.strip().upper()
    match = _DURATION.fullmatch(candidate)
    if match is None or candidate in ("P", "PT") or candidate.endswith("T"):
        if re.search(r"\d[.,]\d", candidate):
            raise ValueError(
                f"{text!r}: fractional durations are not supported; "
                "use a smaller unit, e.g. PT90M instead of PT1.5H"
            )
        raise ValueError(f"{text!r} is not an ISO 8601 duration; {_HINT}")
    parts = {name: int(value) for name, value in match.groupdict().items() if value is not None}
    duration = Duration(**parts)
    if not any(parts.values()):
        raise ValueError(f"{text!r} is a zero duration; credits would expire as they are granted")
    return duration


@dataclass(frozen=True)
class Expiry:
    """A parsed expiry rule; ``text`` is its canonical spelling (what the mapping stores)."""

    text: str
    duration: Duration | None = None
    fixed: datetime | None = None
    end_of_period: bool = False

    def resolve(self, paid_at: datetime, period_end: datetime | None) -> datetime | None:
        """The moment the pool expires; ValueError when the rule needs a period end it lacks."""
        if self.duration is not None:
            return self.duration.after(paid_at)
        if self.fixed is not None:
            return self.fixed
        if self.end_of_period:
            if period_end is None:
                raise ValueError(
                    "the expiry is the end of the paid period but the purchase has no period_end"
                )
            return period_end.astimezone(UTC)
        return None


def parse_expiry(value: object) -> Expiry:
    """Accept "none", "end_of_period", a duration, or an aware timestamp (text or TOML datetime)."""
    if isinstance(value, datetime):
        return _fixed(value)
    if isinstance(value, date):
        raise ValueError(
            f"{value.isoformat()} is a date without a time and offset; "
            f"write e.g. {value.isoformat()}T00:00:00Z"
        )
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an expiry; {_HINT}, a timestamp, or {NONE!r}")
    text = value.strip()
    lowered = text.lower()
    if lowered in (NONE, ""):
        return Expiry(NONE)
    if lowered == END_OF_PERIOD:
        return Expiry(END_OF_PERIOD, end_of_period=True)
    if text[:1] in ("P", "p"):
        return Expiry(text.upper(), duration=parse_duration(text))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO 8601 duration nor a timestamp; {_HINT}, "
            f'a timestamp such as "2026-12-31T00:00:00Z", "{END_OF_PERIOD}" or "{NONE}"'
        ) from None
    return _fixed(moment)


def _fixed(moment: datetime) -> Expiry:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"{moment.isoformat()} has no offset; write e.g. {moment.isoformat()}Z so the "
            "moment is unambiguous"
        )
    utc = moment.astimezone(UTC)
    return Expiry(utc.isoformat().replace("+00:00", "Z"), fixed=utc)
