"""Statements sent straight through libpq, for the burn writer's batch on PostgreSQL.

A batch of burns is five small reads and one write. Through psycopg's cursors each statement
costs about 80 microseconds of Python before and after the database's own work (a cursor built,
every list adapted element by element, the result described), several times what the batch's
planning in Python costs per burn. Here the same statements go through ``psycopg.pq``, psycopg's
binding of libpq: parameters as PostgreSQL text literals (``text``, ``texts``, ``integers``,
``instants``, encoded as the session's text is), every statement of the batch sent in one
pipeline and read after one sync, rows loaded in binary by psycopg's own loaders. The statements
are prepared once per connection, and kept: the engine turns psycopg's own preparing off, which
would deallocate them with its own after every rollback (``connector.store.engine``). Should a
session lose them all the same (a ``DEALLOCATE ALL`` sent from outside), a call that opened its
transaction rolls it back and sends everything again, prepared anew; inside a transaction opened
before, the call fails, and the next prepares them again (each closed first: closing one that is
gone is no error). Behind PgBouncer they are sent unnamed.

The statements run in the caller's SQLAlchemy transaction: a ``BEGIN`` goes first when none is
open yet, and SQLAlchemy commits or rolls back as usual. A statement's failure is raised as
SQLAlchemy raises it (``IntegrityError``...), and a lost connection is invalidated.

Only what these literals can carry is sent: text with a NUL is refused here, because libpq
would cut it short where psycopg refuses it.
"""

from __future__ import annotations

import select
import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from psycopg import Error as PsycopgError
from psycopg import errors
from psycopg.adapt import Transformer
from psycopg.pq import ExecStatus, Format, TransactionStatus
from sqlalchemy import Connection, Engine

from connector.store.batch import as_sqlalchemy

Statement = tuple["Prepared", Sequence[str]]

# the statements prepared on each psycopg connection (they live as long as its session)
_PREPARED: weakref.WeakKeyDictionary[Any, set[bytes]] = weakref.WeakKeyDictionary()
_KEEPING: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines whose sessions keep them


class Prepared:
    """One statement with ``$1``.. parameters, named once for every connection that runs it."""

    _count = 0

    def __init__(self, sql: str) -> None:
        Prepared._count += 1
        self.name = f"creditsync_{Prepared._count}".encode()
        self.sql = sql.encode()


def text(value: str) -> str:
    """A ``text`` parameter (refused with a NUL, which libpq would take for its end)."""
    if "\x00" in value:
        raise ValueError("text sent to PostgreSQL holds a NUL character")
    return value


def texts(values: Iterable[str]) -> str:
    """A ``text[]`` literal: every element quoted, its quotes and backslashes escaped."""
    values = list(values)
    if not values:
        return "{}"
    every = "".join(values)
    if "\\" in every or '"' in every:  # rare: escaped element by element
        values = [v.replace("\\", "\\\\").replace('"', '\\"') for v in values]
    return text('{"' + '","'.join(values) + '"}')


def integers(values: Iterable[int]) -> str:
    """A ``bigint[]`` literal."""
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def instant(value: datetime) -> str:
    """A ``timestamptz`` parameter: ISO 8601 with its offset, to the microsecond."""
    return value.isoformat()


def instants(values: Iterable[datetime]) -> str:
    """A ``timestamptz[]`` literal."""
    return "{" + ",".join(f'"{v.isoformat()}"' for v in values) + "}"


def keep_prepared(engine: Engine) -> None:
    """Let the statements run on ``engine``'s connections stay prepared in their sessions (not
    behind PgBouncer in transaction pooling, where the next transaction may find another)."""
    _KEEPING.add(engine)


def run(conn: Connection, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Each statement's rows, all sent in one pipeline inside ``conn``'s transaction."""
    driver: Any = conn.connection.driver_connection
    reuse = conn.engine in _KEEPING
    prepared = _PREPARED.setdefault(driver, set()) if reuse else set()
    begin = driver.pgconn.transaction_status == TransactionStatus.IDLE and not driver.autocommit
    opening = [b"BEGIN"] if begin else []
    encoding = driver.info.encoding  # the session's, as psycopg encodes text
    sent = [(s, [p.encode(encoding) for p in params]) for s, params in statements]
    while True:
        to_prepare = [s for s, _ in statements if s.name not in prepared] if reuse else []
        try:
            answers = _exchange(driver.pgconn, opening, sent, to_prepare, reuse)
        except PsycopgError as lost:  # the connection failed under us
            raise as_sqlalchemy(conn, lost, None, None) from lost
        head = len(opening)
        done = answers[head + 1 : head + 2 * len(to_prepare) : 2]  # each prepare's own result
        prepared.update(
            s.name
            for s, r in zip(to_prepare, done, strict=True)
            if r.status == ExecStatus.COMMAND_OK
        )
        failed = next((r for r in answers if r.status == ExecStatus.FATAL_ERROR), None)
        if failed is None:
            break
        if failed.error_field(_SQLSTATE) == _NO_SUCH_STATEMENT and prepared:
            prepared.clear()  # the session lost them (a DEALLOCATE ALL from outside)
            if begin and len(opening) == 1:  # the transaction is this call's alone: undone,
                opening = [b"ROLLBACK", b"BEGIN"]  # then everything sent again, once
                continue
        error = errors.error_from_result(failed, encoding=encoding)
        raise as_sqlalchemy(conn, error, _sql_of(failed, answers, statements), None) from error
    results = answers[len(answers) - len(statements) :]
    loader = Transformer(driver)
    rows = []
    for result in results:
        loader.set_pgresult(result, format=Format.BINARY)
        rows.append(loader.load_rows(0, result.ntuples, tuple))
    return rows


_SQLSTATE = ord("C")  # PG_DIAG_SQLSTATE
_NO_SUCH_STATEMENT = b"26000"


def _exchange(
    pgconn: Any,
    opening: Sequence[bytes],
    statements: Sequence[tuple[Prepared, Sequence[bytes]]],
    to_prepare: Sequence[Prepared],
    reuse: bool,
) -> list[Any]:
    """Send everything, one sync, read every result up to it (those of the opening commands,
    the closes and the prepares first)."""
    pgconn.enter_pipeline_mode()
    try:
        for command in opening:
            pgconn.send_query_params(command, None)
        for statement in to_prepare:
            pgconn.send_close_prepared(statement.name)
            pgconn.send_prepare(statement.name, statement.sql)
        for statement, params in statements:
            if reuse:
                pgconn.send_query_prepared(statement.name, params, result_format=Format.BINARY)
            else:
                pgconn.send_query_params(statement.sql, params, result_format=Format.BINARY)
        pgconn.pipeline_sync()
        _flush(pgconn)
        answers = []
        while (result := _next_result(pgconn)) is None or result.status != ExecStatus.PIPELINE_SYNC:
            if result is not None:
                answers.append(result)
        return answers
    finally:
        pgconn.exit_pipeline_mode()


def _flush(pgconn: Any) -> None:
    while pgconn.flush():
        _wait(pgconn, select.POLLIN | select.POLLOUT)  # writable, or answers to read first
        pgconn.consume_input()


def _next_result(pgconn: Any) -> Any:
    """The next result, or None between two statements' results."""
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return pgconn.get_result()
        _wait(pgconn, select.POLLIN)


def _wait(pgconn: Any, events: int) -> None:
    """Until the socket is ready, without holding the GIL (libpq's own waits would hold it)."""
    poll = select.poll()
    poll.register(pgconn.socket, events)
    poll.poll()


def _sql_of(failed: Any, answers: list[Any], statements: Sequence[Statement]) -> str | None:
    """The SQL of the statement whose result ``failed`` is, for the error's message."""
    offset = len(answers) - len(statements)
    index = answers.index(failed) - offset
    return statements[index][0].sql.decode() if index >= 0 else None
