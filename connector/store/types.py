"""Column types shared by every table module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, String, TypeDecorator
from sqlalchemy.types import TypeEngine

from connector.timeutil import sqlite_text, stored_instant


class _SQLiteTimestamp(String):
    """Text in SQLAlchemy's own SQLite layout, declared DATETIME as SQLAlchemy declares it."""

    __visit_name__ = "DATETIME"


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
            return sqlite_text(value)
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return stored_instant(value)
