"""Many rows into one table in one statement, for the set-based writes of a sync page.

A plain executemany is one round trip a row on psycopg (pipelined, but each row still parsed,
bound and executed on its own), and SQLAlchemy's insertmanyvalues renders a long VALUES list that
psycopg then re-parses on every call. Here the statement text is fixed per table and row count:

- PostgreSQL: ``INSERT ... SELECT (r->>0)::type, ... FROM jsonb_array_elements(%(rows)s::jsonb)``,
  the rows sent as one JSON text written by the C ``json`` encoder (psycopg builds binary arrays
  element by element in Python: about a millisecond for a page of pools, five times the JSON),
  so a page is one short statement whatever its size. Each value is read as text and cast to
  its column's type as declared, exactly as an array of that type would be: bigints, timestamps
  (sent as ISO 8601 in UTC), NULLs (JSON null) and JSON columns (their text, cast) keep their
  value;
- SQLite: one multi-row ``VALUES (?, ...), (?, ...)`` (the driver caches the compiled statement
  by its text, and a page of 100 always has the same text).

Values go to the driver as they are, skipping SQLAlchemy's per-value bind processing, so callers
hand in plain values only: str, int, None, aware datetimes (stored in UTC exactly as
``UTCDateTime`` stores them) and, for JSON columns, the JSON text already serialized.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import cache, lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, Table, any_, bindparam, func, select

from connector.store.batch import Batch, Sent
from connector.store.types import UTCDateTime
from connector.timeutil import sqlite_text

# SQLite's limit on bound parameters (SQLITE_MAX_VARIABLE_NUMBER: 32766 since 3.32, 999 before)
SQLITE_MAX_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999

# Compact, and UTF-8 as it is (the driver encodes the text once; no \uXXXX for the server to undo)
_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


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
        sql = json_insert(table, tuple(columns), tuple(conflict), tuple(returning))
        result = conn.exec_driver_sql(sql, {"rows": rows_json(table, columns, rows)})
        return [tuple(r) for r in result] if returning else []
    width = len(columns)
    values = _flat_values(table, columns, rows, sqlite_text)
    per_statement = max(1, SQLITE_MAX_PARAMETERS // width)
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        n_rows = min(per_statement, len(rows) - start)
        sql = _values_insert(table, tuple(columns), n_rows, tuple(conflict), tuple(returning))
        params = tuple(values[start * width : (start + n_rows) * width])
        result = conn.exec_driver_sql(sql, params)
        if returning:
            found.extend(tuple(r) for r in result)
    return found


def send_rows(
    batch: Batch,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    returning: Sequence[str] = (),
    encoded: str | None = None,
) -> Sent:
    """``insert_rows`` as one statement of ``batch`` (on SQLite it runs at once); ``encoded``:
    the rows' ``rows_json``, when written already (while the server was busy)."""
    if batch.dialect != "postgresql" or not rows:
        found = insert_rows(
            batch.conn, table, columns, rows, conflict=conflict, returning=returning
        )
        return Sent.ran(found)
    sql = json_insert(table, tuple(columns), tuple(conflict), tuple(returning))
    return batch.execute(sql, {"rows": encoded or rows_json(table, columns, rows)})


def rows_json(table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """The parameter of ``json_insert``: the rows as one JSON array of arrays, timestamps as
    ISO 8601 text in UTC."""
    if not _stamp_columns(table, tuple(columns)):
        _check_widths(columns, rows)
        return _to_json(rows)
    width = len(columns)
    values = _flat_values(table, columns, rows, _iso_utc)
    return _to_json([values[i : i + width] for i in range(0, len(values), width)])


def _iso_utc(moment: datetime) -> str:
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat()


def _flat_values(
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    as_text: Callable[[datetime], str],
) -> list[Any]:
    """Every value of ``rows``, row after row, with the timestamps checked aware (as
    UTCDateTime does) and written ``as_text``; a page's rows share a few instants (``now``, the
    purchase time in two tables), each written once."""
    _check_widths(columns, rows)
    width = len(columns)
    values = list(chain.from_iterable(rows))
    written: dict[datetime, str] = {}
    for index in _stamp_columns(table, tuple(columns)):
        refused = f"{table.name}.{columns[index]}: naive datetime refused"
        values[index::width] = _stamps(values[index::width], as_text, written, refused)
    return values


def _stamps(
    moments: Sequence[Any],
    as_text: Callable[[datetime], str],
    written: dict[datetime, str],
    refused: str,
) -> list[str | None]:
    texts: list[str | None] = []
    for moment in moments:
        if moment is None:
            texts.append(None)
            continue
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValueError(refused)
        text = written.get(moment)
        if text is None:
            text = written[moment] = as_text(moment)
        texts.append(text)
    return texts


def _check_widths(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    width = len(columns)
    if any(len(row) != width for row in rows):
        raise ValueError(f"every row needs {width} values, one for each of {list(columns)}")


@cache
def _stamp_columns(table: Table, columns: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(i for i, name in enumerate(columns) if isinstance(table.c[name].type, UTCDateTime))


def _tail(conflict: tuple[str, ...], returning: tuple[str, ...]) -> str:
    tail = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING" if conflict else ""
    return tail + (f" RETURNING {', '.join(returning)}" if returning else "")


@cache
def json_insert(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], returning: tuple[str, ...]
) -> str:
    """PostgreSQL's ``INSERT ... SELECT ... FROM jsonb_array_elements(...)`` for ``rows_json``.

    Each value is cast from text to its column's type as declared (JSON columns from their
    text), as the arrays of those types this replaces did."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    values = []
    for i, name in enumerate(columns):
        kind = table.c[name].type
        target = "JSON" if isinstance(kind, JSON) else kind.compile(dialect=dialect)
        values.append(f"CAST(r->>{i} AS {target})")
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM jsonb_array_elements(%(rows)s::jsonb) AS r"
        f"{_tail(conflict, returning)}"
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
    """``column IN (values)`` with the values in one parameter whatever their number, so the
    statement is neither re-rendered by SQLAlchemy nor re-parsed by the driver for each list
    (both a measurable part of a sync page's IN lists of 100 keys): on PostgreSQL
    ``column = ANY(array)``, on SQLite ``column IN (SELECT value FROM json_each(text))``, the
    values then plain str or int (they go as JSON, without the column type's processing)."""
    wanted = list(values)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY  # loaded already on PostgreSQL

        return column == any_(bindparam(None, wanted, type_=ARRAY(column.type)))
    listed = func.json_each(bindparam(None, _to_json(wanted)))
    return column.in_(select(listed.table_valued("value").c.value))


def json_list(values: Iterable[Any]) -> str:
    """Values (str or int) as the one parameter ``in_list`` reads."""
    return _to_json(list(values))


def in_list(dialect: str, column: str, name: str) -> str:
    """Driver SQL for ``column`` among the text values of the JSON list parameter ``name``
    (``json_list``): one parameter whatever the number of values, so the statement text never
    changes. On PostgreSQL the values become an array first (``= ANY``, which an index on the
    column serves; as ``IN (subquery)`` the planner joined the list row by row)."""
    if dialect == "postgresql":
        return f"{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(%({name})s::jsonb)))"
    return f"{column} IN (SELECT value FROM json_each(:{name}))"


def param(dialect: str, name: str) -> str:
    """The named parameter ``name`` in the driver's own style (psycopg, sqlite3)."""
    return f"%({name})s" if dialect == "postgresql" else f":{name}"
