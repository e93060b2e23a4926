"""Many rows into one table in one statement, for the set-based writes of a sync page.

A plain executemany is one round trip a row on psycopg (pipelined, but each row still parsed,
bound and executed on its own), and SQLAlchemy's insertmanyvalues renders a long VALUES list that
psycopg then re-parses on every call. Here the statement text is fixed per table and row count:

- PostgreSQL: ``INSERT ... SELECT * FROM unnest(%(c1)b::type[], ...)``, one array per column
  (sent in binary: psycopg escapes text arrays element by element with a regular expression),
  so a page is one short statement whatever its size;
- SQLite: one multi-row ``VALUES (?, ...), (?, ...)`` (the driver caches the compiled statement
  by its text, and a page of 100 always has the same text).

Values go to the driver as they are, skipping SQLAlchemy's per-value bind processing, so callers
hand in plain values only: str, int, None, aware datetimes (stored in UTC exactly as
``UTCDateTime`` stores them) and, for JSON columns, the JSON text already serialized.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, Table, any_, bindparam

from connector.store.types import UTCDateTime
from connector.timeutil import sqlite_text

# SQLite's limit on bound parameters (SQLITE_MAX_VARIABLE_NUMBER: 32766 since 3.32, 999 before)
SQLITE_MAX_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (tuples in the order of ``columns``); with ``conflict``, a row whose key
    exists already is skipped (``ON CONFLICT (conflict) DO NOTHING``). Returns the
    ``returning`` columns of the rows inserted (raw driver values), in no particular order."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql":
        sql = unnest_insert(table, tuple(columns), tuple(conflict), tuple(returning))
        result = conn.exec_driver_sql(sql, column_arrays(table, columns, rows))
        return [tuple(r) for r in result] if returning else []
    stamps = _checked_stamps(table, columns, rows)
    if stamps:
        rows = _stamps_as_text(rows, stamps)
    per_statement = max(1, SQLITE_MAX_PARAMETERS // len(columns))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = _values_insert(table, tuple(columns), len(chunk), tuple(conflict), tuple(returning))
        params = tuple(value for row in chunk for value in row)
        result = conn.exec_driver_sql(sql, params)
        if returning:
            found.extend(tuple(r) for r in result)
    return found


def column_arrays(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> dict[str, list[Any]]:
    """The parameters of ``unnest_insert``: one list per column (``c0``, ``c1``...)."""
    _checked_stamps(table, columns, rows)
    return {f"c{i}": list(values) for i, values in enumerate(zip(*rows, strict=True))}


def _checked_stamps(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> frozenset[int]:
    """Where the timestamps are among ``columns``, each checked aware (as UTCDateTime does)."""
    stamps = _stamp_columns(table, tuple(columns))
    for index in stamps:
        for row in rows:
            value = row[index]
            if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
                raise ValueError(f"{table.name}.{columns[index]}: naive datetime refused")
    return stamps


@cache
def _stamp_columns(table: Table, columns: tuple[str, ...]) -> frozenset[int]:
    return frozenset(
        i for i, name in enumerate(columns) if isinstance(table.c[name].type, UTCDateTime)
    )


def _stamps_as_text(rows: Sequence[Sequence[Any]], stamps: frozenset[int]) -> list[tuple[Any, ...]]:
    """The rows with their timestamps as SQLite's text, column by column; a page's rows share
    a few instants (``now``, the purchase time in two tables), each formatted once."""
    texts: dict[datetime, str] = {}

    def text(value: datetime | None) -> str | None:
        if value is None:
            return None
        found = texts.get(value)
        if found is None:
            found = texts[value] = sqlite_text(value)
        return found

    columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for i in stamps:
        columns[i] = [text(value) for value in columns[i]]
    return list(zip(*columns, strict=True))


def _tail(conflict: tuple[str, ...], returning: tuple[str, ...]) -> str:
    tail = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
    return tail + (f" RETURNING {', '.join(returning)}" if returning else "")


@cache
def unnest_insert(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], returning: tuple[str, ...]
) -> str:
    """PostgreSQL's ``INSERT ... SELECT ... FROM unnest(...)`` for ``column_arrays``."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    arrays = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        # JSON arrives as text: unnest it as text, then cast each value
        element = "TEXT" if isinstance(kind, JSON) else kind.compile(dialect=dialect)
        arrays.append(f"%(c{i})b::{element}[]")
    selected = [
        f"CAST(u.{n} AS JSON)" if isinstance(table.c[n].type, JSON) else f"u.{n}" for n in columns
    ]
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) "
        f"AS u({', '.join(columns)}){_tail(conflict, returning)}"
    )


@lru_cache(maxsize=64)  # a few page sizes per table in practice
def _values_insert(
    table: Table,
    columns: tuple[str, ...],
    n_rows: int,
    conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> str:
    row = f"({', '.join('?' * len(columns))})"
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
        f"{', '.join([row] * n_rows)}{_tail(conflict, returning)}"
    )


def among(
    conn: Connection, column: ColumnElement[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``, one parameter whatever
    the number of values, so the statement is neither re-rendered by SQLAlchemy nor re-parsed by
    psycopg for each list (both a measurable part of a sync page's IN lists of 100 keys)."""
    wanted = list(values)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded already on PostgreSQL

        return column == any_(bindparam(None, wanted, type_=ARRAY(column.type)))
    return column.in_(wanted)
