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
refuses), each delivery of it is stored alone, so a delivery that fails fails alone.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from connector.store import SQLITE_BUSY_TIMEOUT_MS
from connector.sync.inbox import Received, accept_many

log = logging.getLogger(__name__)

MAX_BATCH = 500  # deliveries per statement; a burst larger than this takes several commits

SQLITE_RETRY_SECONDS = 0.001
RECYCLE_SECONDS = 300  # the writer's connection is replaced this often, as pooled ones are

_Item = tuple[Received, "Future[bool]"]
_STOP = object()


def _locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig).lower()


def _lost_connection(exc: Exception) -> bool:
    """The connection broke (a database restart, an idle connection a proxy dropped): the
    writer opens a new one and tries again, as callers of the pool would."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class InboxWriter:
    """Stores verified deliveries from one thread on one connection; each caller gets its own
    answer (True: stored; False: a duplicate) or error through its future."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        self._engine = engine
        self._max_batch = max(1, max_batch)
        self._queue: queue.Queue[object] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: Connection | None = None
        self._opened = 0.0
        self._closed = False
        self._sqlite = engine.dialect.name == "sqlite"

    def submit(self, delivery: Received) -> Future[bool]:
        """Queue ``delivery``; the writer thread starts with the first one."""
        future: Future[bool] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the inbox writer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="inbox-writer", daemon=True)
                self._thread.start()
        self._queue.put((delivery, future))
        return future

    def close(self) -> None:
        """Store what is queued, then stop the thread and give its connection back."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def _run(self) -> None:
        try:
            while True:
                batch, stop = self._gather(self._queue.get())
                if batch:
                    self._write(batch)
                if stop:
                    return
        finally:
            self._release()

    def _gather(self, first: object) -> tuple[list[_Item], bool]:
        """``first`` and whatever else is queued now: no waiting for company, the commit in
        flight is what lets a batch form."""
        if first is _STOP:
            return [], True
        batch: list[_Item] = [first]  # type: ignore[list-item]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

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

    def _write(self, batch: list[_Item]) -> None:
        live = [(d, fut) for d, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            answers = self._store([d for d, _ in live])
        except Exception as exc:
            if len(live) == 1 and not _lost_connection(exc):
                live[0][1].set_exception(exc)
                return
            log.warning(
                "storing %d webhook deliveries together failed (%s); storing each alone",
                len(live),
                type(exc).__name__,
            )
            for d, fut in live:
                try:
                    fut.set_result(self._store([d])[0])
                except Exception as alone:
                    fut.set_exception(alone)
            return
        for (_, fut), new in zip(live, answers, strict=True):
            fut.set_result(new)
