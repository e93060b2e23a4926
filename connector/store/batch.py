"""Statements sent together, for the few fixed statements of a sync page.

One statement at a time, each waits for its answer before the next goes out: on PostgreSQL a
round trip each, the server idle while Python prepares the next statement and Python idle while
the server works. A ``Batch`` sends its statements without waiting (psycopg's pipeline mode) and
reads their answers once, when the ``with`` block is left; meanwhile the server runs them, in
order and in the caller's transaction, while Python goes on with its own work. The first error
stops the statements after it, as it would have one by one, and is raised when the block is
left (the block itself runs to its end). Elsewhere (SQLite, which runs in this process, or a
libpq without pipeline mode) each statement simply runs when it is added, and raises there.

Only a batch's own statements may run while it is open: a statement sent through SQLAlchemy
meanwhile would be queued behind them and read no answer. Statements are driver SQL for the
connection's dialect (``%(name)s`` parameters on psycopg, ``:name`` on SQLite) and results are
raw driver rows, read after the batch has run. A failure is raised as SQLAlchemy raises it from
``exec_driver_sql`` (``IntegrityError``, ``DataError``...).

The burn writer's statements, the one path where psycopg's cursors cost more than the database,
go straight through libpq instead (``connector.store.wire``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

Params = Mapping[str, Any] | Sequence[Any]


class Sent:
    """A statement of a batch: its rows once the batch has run."""

    def __init__(self, sql: str, params: Params | None) -> None:
        self.sql = sql
        self.params = params
        self._rows: list[tuple[Any, ...]] | None = None
        self._cursor: Any = None  # psycopg's cursor, while its answer is pending

    @classmethod
    def ran(cls, rows: list[tuple[Any, ...]]) -> Sent:
        """A statement run already (outside any batch), with its rows."""
        sent = cls("", None)
        sent._rows = rows
        return sent

    @property
    def ok(self) -> bool:
        """Whether it ran without error (after a batch failed: whether this one did not)."""
        if self._rows is not None:
            return True
        return self._cursor is not None and self._cursor.pgresult is not None  # set if it ran

    def rows(self) -> list[tuple[Any, ...]]:
        if self._rows is None:
            raise RuntimeError("a batch's results are read after it has run")
        return self._rows


class Batch:
    """``with Batch(conn) as batch: found = batch.execute(sql, params)``, then ``found.rows()``.

    ``together=False`` runs each statement when it is added, for a caller with one statement to
    send (a pipeline would only add its own round trip)."""

    def __init__(self, conn: Connection, *, together: bool = True) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        self._together = together
        self._driver: Any = None  # psycopg's connection, in pipeline mode
        self._pipeline: Any = None
        self._sent: list[Sent] = []
        self._error: Exception | None = None  # the first failure in the pipeline

    @property
    def pipelined(self) -> bool:
        """Whether statements wait for the end of the batch (else each runs when added)."""
        return self._pipeline is not None

    def __enter__(self) -> Batch:
        if self._together and self.dialect == "postgresql":
            from psycopg import Pipeline  # loaded already: the engine's driver

            if Pipeline.is_supported():
                self._driver = self.conn.connection.driver_connection
                self._pipeline = self._driver.pipeline()
                self._pipeline.__enter__()
        return self

    def execute(self, sql: str, params: Params | None = None) -> Sent:
        sent = Sent(sql, params)
        if self._pipeline is None:
            result = self.conn.exec_driver_sql(sql, params)
            sent._rows = [tuple(row) for row in result] if result.returns_rows else []
            return sent
        self._sent.append(sent)
        if self._error is not None:
            return sent  # not sent: the server skips what follows a failure anyway
        sent._cursor = self._driver.cursor()
        try:
            sent._cursor.execute(sql, params)  # may read the answers come so far
        except Exception as exc:
            self._error = exc  # raised at the end, so that the block runs to its end
        return sent

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._pipeline is None:
            return
        error = self._error
        try:
            self._pipeline.__exit__(None, None, None)  # sends a sync, reads every answer
        except Exception as late:
            error = error or late
        finally:
            self._pipeline = None
        if exc is not None:
            return  # the error raised in the block says what went wrong (any here follows)
        if error is not None:
            raise self._wrapped(error, self._failed()) from error
        for sent in self._sent:
            cursor = sent._cursor
            sent._rows = [tuple(row) for row in cursor] if cursor.description else []
            cursor.close()

    def _failed(self) -> Sent | None:
        """The statement that failed: the first without an answer (those before it ran)."""
        return next((sent for sent in self._sent if not sent.ok), None)

    def _wrapped(self, error: Exception, sent: Sent | None) -> BaseException:
        return as_sqlalchemy(
            self.conn, error, sent.sql if sent else None, sent.params if sent else None
        )


def as_sqlalchemy(
    conn: Connection, error: Exception, sql: str | None, params: Params | None
) -> BaseException:
    """``error`` as SQLAlchemy raises it for the statement ``sql``; a connection lost is
    invalidated, as SQLAlchemy does, so that the pool replaces it."""
    dialect = conn.dialect
    lost = isinstance(error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
        error, conn.connection.driver_connection, None
    )
    if lost:
        conn.invalidate(error)
    return DBAPIError.instance(
        sql,
        params,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=conn.engine.hide_parameters,
        connection_invalidated=lost,
        dialect=dialect,
    )
