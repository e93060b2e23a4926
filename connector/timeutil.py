"""Aware datetimes only: a naive timestamp in billing data is a bug waiting for a timezone.

Instants are also kept far from the calendar's edges (years 1000 to 8999, UTC): Python's datetime
stops at years 1 and 9999, so ``0001-01-01T00:00+14:00`` cannot even be converted to UTC, and an
instant near either edge overflows as soon as a term or a period is added to it. Refusing them at
the door, with the range named, is what keeps that arithmetic safe everywhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime

from connector.errors import InvalidInput

EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)  # exclusive
RANGE_FIX = "send an instant between 1000-01-01T00:00:00Z and 8999-12-31T23:59:59Z"


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes and instants outside the range."""
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"{value!r} is not a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            field, "datetime has no timezone", "give an offset, e.g. 2026-01-15T00:00Z"
        )
    try:
        in_utc = value.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(
            field, f"{value.isoformat()} is beyond the calendar", RANGE_FIX
        ) from None
    if not EARLIEST <= in_utc < LATEST:
        raise InvalidInput(field, f"{value.isoformat()} is out of range", RANGE_FIX)
    return in_utc


def parse_instant(text: str, field: str) -> datetime:
    """Parse ISO 8601 text into an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, f"{text!r} is not an ISO 8601 timestamp") from None
    return require_aware(value, field)


def as_utc(value: datetime) -> datetime:
    """Databases may hand back naive UTC (SQLite); make it aware again."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sqlite_text(moment: datetime) -> str:
    """An aware instant as SQLite stores it: UTC text in SQLAlchemy's layout, which sorts and
    compares in time order ("2026-01-05 10:00:00.000000")."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def stored_instant(value: datetime | str) -> datetime:
    """An instant as a database hands it back (SQLite's text, PostgreSQL's datetime), aware UTC."""
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def utcnow() -> datetime:
    return datetime.now(UTC)
