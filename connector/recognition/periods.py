"""Accounting periods: calendar months in the configured timezone; a moment belongs to the
period [start, end) that contains it. Periods are named "YYYY-MM" (sortable as text)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connector.errors import InvalidInput
from connector.timeutil import require_aware

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
EPSILON = timedelta(microseconds=1)


def zone(name: str | tzinfo) -> tzinfo:
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            "timezone", f"unknown timezone {name!r}", "use an IANA name, e.g. UTC"
        ) from None


def parse_period(text: str, field: str = "period") -> str:
    match = _PERIOD.match(str(text).strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 1:
        raise InvalidInput(
            field, f"{text!r} is not a period", "write the month as YYYY-MM, e.g. 2026-10"
        )
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


def _year_month(period: str) -> tuple[int, int]:
    year, month = parse_period(period).split("-")
    return int(year), int(month)


def period_of(moment: datetime, tz: tzinfo) -> str:
    local = require_aware(moment, "moment").astimezone(tz)
    return f"{local.year:04d}-{local.month:02d}"


@lru_cache(maxsize=4096)
def start_of(period: str, tz: tzinfo) -> datetime:
    """The first instant of ``period`` (in UTC)."""
    year, month = _year_month(period)
    return datetime(year, month, 1, tzinfo=tz).astimezone(UTC)


def end_of(period: str, tz: tzinfo) -> datetime:
    """The first instant after ``period`` (in UTC): periods are half-open."""
    return start_of(next_period(period), tz)


@lru_cache(maxsize=4096)
def next_period(period: str) -> str:
    year, month = _year_month(period)
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def previous_period(period: str) -> str:
    year, month = _year_month(period)
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"


def last_period_before(moment: datetime, tz: tzinfo) -> str:
    """The period of the last instant before ``moment`` (the last period a cutoff covers)."""
    return period_of(moment - EPSILON, tz)


@lru_cache(maxsize=4096)
def periods_from(first: str, last: str) -> tuple[str, ...]:
    """Every period from ``first`` to ``last``, both included (empty when last < first)."""
    out = []
    current = first
    while current <= last:
        out.append(current)
        current = next_period(current)
    return tuple(out)


def entry_date(cutoff: datetime, tz: tzinfo) -> date:
    """The local date of the last instant before ``cutoff``: the date an entry is booked on."""
    return (cutoff - EPSILON).astimezone(tz).date()


def parse_through(text: str, tz: tzinfo, field: str = "through") -> datetime:
    """A cutoff from the command line: a date means the end of that day in ``tz``
    ("2026-10-31" covers all of October 31); an ISO instant is taken as is."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            following = date.fromisoformat(text) + timedelta(days=1)
            # the next local midnight: a day is 23 or 25 hours long when daylight saving changes
            return datetime(following.year, following.month, following.day, tzinfo=tz).astimezone(
                UTC
            )
        except (ValueError, OverflowError):
            raise InvalidInput(
                field, f"{text!r} is not a date", "write YYYY-MM-DD, up to 9999-12-30"
            ) from None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            field, f"{text!r} is not a date or timestamp", "write YYYY-MM-DD or an ISO 8601 instant"
        ) from None
    if value.tzinfo is None:
        raise InvalidInput(field, "timestamp has no timezone", "add an offset, e.g. Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(field, f"{text!r} is outside the calendar in UTC") from None
