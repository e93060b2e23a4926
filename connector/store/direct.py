"""Read-only connections through the bare database driver, for a command that only reads and
must answer at once.

Importing SQLAlchemy takes longer than ``creditsync balance`` takes to run; the standard
library's sqlite3 and psycopg take a fraction of it. ``open_direct`` yields None whenever it is
not sure it reads what the full store would: a URL it does not know how to hand to the driver, a
SQLite file that does not exist yet, a database that cannot be reached or is not at the newest
migration. The command then takes the full path, which creates, migrates or explains.

Every read of one ``DirectReader`` sees one snapshot (a read transaction), as a read through the
store does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connector.store import PGBOUNCER_OPTION, SQLITE_BUSY_TIMEOUT_MS, pgbouncer_requested
from connector.store.migrate import head_revision
from connector.timeutil import sqlite_text

SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
POSTGRESQL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class DirectReader:
    """One read transaction on a DB-API connection. Queries are written with ``?`` for each
    parameter, whichever driver runs them."""

    def __init__(self, connection: Any, sqlite: bool, error: type[Exception]) -> None:
        self._connection = connection
        self._sqlite = sqlite
        self.error = error  # the driver's base error class

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(sql if self._sqlite else sql.replace("?", "%s"), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def close(self) -> None:
        self._connection.rollback()
        self._connection.close()

    def bind_instant(self, moment: datetime) -> object:
        return sqlite_text(moment) if self._sqlite else moment


@contextmanager
def open_direct(url: str) -> Iterator[DirectReader | None]:
    """A reader on the database at ``url``, or None when the full store must take over."""
    scheme = url.partition("://")[0]
    if scheme in SQLITE_SCHEMES:
        reader = _sqlite(url)
    elif scheme in POSTGRESQL_SCHEMES:
        reader = _postgresql(url)
    else:
        reader = None
    if reader is None:
        yield None
        return
    try:
        yield reader if _is_current(reader) else None
    finally:
        reader.close()


def _sqlite(url: str) -> DirectReader | None:
    """``sqlite:///relative`` and ``sqlite:////absolute``, as SQLAlchemy reads them; a file that
    exists (the full path creates and migrates a new one) and a URL without options."""
    rest = url.partition("://")[2]
    database = rest[1:] if rest.startswith("/") else ""
    if not database or database == ":memory:" or "?" in database:
        return None
    path = Path(database)
    if not path.is_file():
        return None
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=rw",  # never creates a file
            uri=True,
            timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
        )
        connection.execute("PRAGMA query_only = ON")
        connection.execute("BEGIN")  # one snapshot for every read
    except sqlite3.Error:
        return None
    return DirectReader(connection, sqlite=True, error=sqlite3.Error)


def _postgresql(url: str) -> DirectReader | None:
    """psycopg accepts the URL itself once SQLAlchemy's driver name and creditsync's own
    ``pgbouncer`` option are taken out; every other option is libpq's, as SQLAlchemy passes it."""
    import psycopg

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    pgbouncer = any(key == PGBOUNCER_OPTION and pgbouncer_requested(v) for key, v in query)
    kept = urlencode([(key, value) for key, value in query if key != PGBOUNCER_OPTION])
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, kept, parts.fragment))
    try:
        options: dict[str, Any] = {"prepare_threshold": None} if pgbouncer else {}
        connection = psycopg.connect(conninfo, **options)
        connection.read_only = True
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot
    except (psycopg.Error, ValueError):
        return None
    return DirectReader(connection, sqlite=False, error=psycopg.Error)


def _is_current(reader: DirectReader) -> bool:
    try:
        found = reader.rows("SELECT version_num FROM alembic_version")
    except reader.error:  # no alembic_version table: never migrated
        return False
    return len(found) == 1 and found[0][0] == head_revision()
