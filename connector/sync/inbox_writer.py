"""Group commit for the webhook inbox: the acknowledgements waiting at one moment share a commit.

Acknowledging a webhook waits for one thing that costs: the durable insert into the inbox. Done
one per request, each insert takes a worker thread and a pooled connection, and pays a commit
(a disk flush on PostgreSQL, the single write lock on SQLite). Under a burst, or while a sync
run keeps the database and the connection pool busy, the requests then queue for threads, for
connections and for the lock, one behind the other, and the wait of the last is the sum of all.

Here one writer thread owns one connection of its own (never lent to a sync, a drain or a burn)
and stores everything queued since its last commit in one statement and one transaction. The
answer of a delivery waits for at most the commit in flight and its own; on SQLite a writer
blocked behind a sync's write lock stores the whole backlog in one go once it is let in.

Should a batch fail as a whole (a lost connection, a lock timeout, one delivery the database
refuses), each delivery of it is stored alone, so a delivery that fails fails alone. The queue,
the thread and the answering are ``connector.group_writer``'s.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from connector.group_writer import GroupWriter
from connector.store import SQLITE_BUSY_TIMEOUT_MS
from connector.sync.inbox import Received, accept_many

log = logging.getLogger(__name__)

MAX_BATCH = 500  # deliveries per statement; a burst larger than this takes several commits

SQLITE_RETRY_SECONDS = 0.001
RECYCLE_SECONDS = 300  # the writer's connection is replaced this often, as pooled ones are


def _locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig).lower()


def _lost_connection(exc: Exception) -> bool:
    """The connection broke (a database restart, an idle connection a proxy dropped): the
    writer opens a new one and tries again, as callers of the pool would."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class InboxWriter(GroupWriter[Received, bool]):
    """Stores verified deliveries from one thread on one connection; each caller gets its own
    answer (True: stored; False: a duplicate) or error through its future."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        super().__init__("inbox writer", max_batch=max_batch)
        self._engine = engine
        self._conn: Connection | None = None
        self._opened = 0.0
        self._sqlite = engine.dialect.name == "sqlite"

    def _write_many(self, items: list[Received]) -> list[bool | BaseException]:
        return list(self._store(items))

    def _write_one(self, item: Received) -> bool:
        return self._store([item])[0]

    def _worth_alone(self, error: Exception, size: int) -> bool:
        """A lost connection is worth a second try even for one delivery (``_store`` opens a
        new one)."""
        return size > 1 or _lost_connection(error)

    def _stopped(self) -> None:
        self._release()

    def _connection(self) -> Connection:
        """The writer's own connection, taken out of the engine's pool for good (so nothing
        else can hold it, and its settings stay its own)."""
        if self._conn is not None and time.monotonic() - self._opened > RECYCLE_SECONDS:
            self._release()  # as the pool recycles its own (see connector.store.engine)
        if self._conn is None:
            self._opened = time.monotonic()
            conn = self._engine.connect()
            driver: Any = conn.connection.dbapi_connection
            conn.detach()
            if self._sqlite:  # set on the driver: no transaction around a PRAGMA
                driver.execute("PRAGMA busy_timeout=0")  # see _store
            self._conn = conn
        return self._conn

    def _release(self) -> None:
        """Give the connection back (a broken one is discarded by the pool); the next batch
        opens a fresh one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # pragma: no cover - closing a dead connection
                log.debug("closing the inbox writer's connection failed", exc_info=True)

    def _store(self, deliveries: list[Received]) -> list[bool]:
        """One transaction. On SQLite, a writer that finds the file locked (a sync page, a
        drain) tries again every millisecond, up to the usual busy timeout: SQLite's own busy
        handler sleeps longer and longer between tries (up to 100 ms), which kept acks waiting
        long after the lock was free."""
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        while True:
            conn = self._connection()
            try:
                with conn.begin():
                    return accept_many(conn, deliveries)
            except OperationalError as exc:
                if self._sqlite and _locked(exc) and time.monotonic() < deadline:
                    time.sleep(SQLITE_RETRY_SECONDS)
                    continue
                self._release()
                raise
            except Exception:
                self._release()
                raise
