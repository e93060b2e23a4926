"""Reading without writing: a consistent snapshot that neither takes nor waits for the write
lock, for long reads beside live writers (rebuild) and for lookups made while the caller's own
transaction holds the lock (old mapping versions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from connector.store import SQLITE_BUSY_TIMEOUT_MS


@contextmanager
def read_only(live: Engine) -> Iterator[Connection]:
    """One read transaction that takes no write lock and waits for none: on SQLite a deferred
    transaction on a connection of its own (WAL readers lock nothing, while the engine's own
    connections begin IMMEDIATE and would queue behind any writer, even one in this very
    thread), on PostgreSQL REPEATABLE READ, so every read sees the same moment."""
    if live.dialect.name != "sqlite":
        repeatable = live.connect().execution_options(isolation_level="REPEATABLE READ")
        with repeatable as conn, conn.begin():
            yield conn
        return
    reader = create_engine(live.url, poolclass=NullPool)

    @event.listens_for(reader, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the begin listener below issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(reader, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    try:
        with reader.connect() as conn:
            yield conn
    finally:
        reader.dispose()
