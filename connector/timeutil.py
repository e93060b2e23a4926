"""Aware datetimes only: a naive timestamp in billing data is a bug waiting for a timezone."""

from __future__ import annotations

from datetime import UTC, datetime

from connector.errors import InvalidInput


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes."""
    if not isinstance(value, datetime):
        raise InvalidInput(field, f"{value!r} is not a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            field, "datetime has no timezone", "give an offset, e.g. 2026-01-15T00:00Z"
        )
    return value.astimezone(UTC)


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


def utcnow() -> datetime:
    return datetime.now(UTC)
