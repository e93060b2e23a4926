"""Statements sent straight to psycopg inside a SQLAlchemy transaction, several per round trip.

The burn path runs a handful of small statements per batch; through SQLAlchemy each costs more
Python than the database spends on it, and each waits for its own round trip. On PostgreSQL the
burn writer hands them to the connection's own psycopg connection instead, in a pipeline (one
round trip for all), inside the transaction SQLAlchemy opened and will commit. Errors come back
as SQLAlchemy's ``DBAPIError``, as from any other statement, so callers tell a lock timeout or a
lost connection the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

Statement = tuple[str, Sequence[Any] | Mapping[str, Any]]


@contextmanager
def _as_dbapi_errors(sql: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error) from exc


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    found: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    return found


def pipelined(conn: Connection, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` in order in one round trip; the rows of each (empty for commands).

    Each statement still sees what the ones before it did (PostgreSQL runs them one after
    another), so a read after a ``FOR UPDATE`` sees what was committed before the lock."""
    driver = _driver(conn)
    with _as_dbapi_errors(statements[0][0] if statements else ""):
        with driver.pipeline():
            cursors = [driver.execute(sql, params) for sql, params in statements]
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]


def fetch(conn: Connection, sql: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Any]:
    """One statement's rows, straight through psycopg."""
    with _as_dbapi_errors(sql):
        return _driver(conn).execute(sql, params).fetchall()
