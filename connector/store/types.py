"""Column types shared by every table module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String, TypeDecorator
from sqlalchemy.types import TypeEngine


class _SQLiteTimestamp(String):
    """Text in SQLAlchemy's own SQLite layout, declared DATETIME as SQLAlchemy declares it."""

    __visit_name__ = "DATETIME"


def store_text(value: datetime) -> str:
    """An aware datetime as SQLite keeps it: UTC text in SQLAlchemy's DateTime layout."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored in UTC and always handed back aware, on SQLite as on PostgreSQL.

    On SQLite the text ("2026-01-05 10:00:00.000000", the layout SQLAlchemy's DateTime uses, so
    plain SQL and the ORM-less benchmarks agree with it) is written and read with the C
    ``isoformat``/``fromisoformat`` instead of SQLAlchemy's per-value regular expression, which
    was a measurable share of every burn and every sync page.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SQLiteTimestamp())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the store")
        if dialect.name == "sqlite":
            return store_text(value)
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
