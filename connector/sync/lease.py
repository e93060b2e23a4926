"""A named lease in the database: at most one holder at a time, across processes and hosts.

Used so that two sync runs of one connection never overlap, a scheduled job never runs twice at
once and only one process schedules jobs. The holder names itself (host, pid and a random token)
and renews a heartbeat while it works, every third of the lease's short lifetime, from a thread
of its own. A lease whose holder is gone is taken over at once: its heartbeat lapsed, or its
holder ran on this host and that process no longer exists (killed, crashed). Taking a lease over
marks the sync runs its holder left ``running`` as ``abandoned``, with the time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

from sqlalchemy import Connection, Engine, delete, select, update

from connector.errors import CreditsyncError
from connector.store.sql import insert_ignoring_duplicates, lock_rows_clause
from connector.sync.tables import leases, sync_runs
from connector.timeutil import utcnow

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(seconds=60)
ABANDONED = "abandoned"


class LeaseHeld(CreditsyncError):
    code = "busy"


class LeaseLost(CreditsyncError):
    """The lease passed to another holder while this one still worked (its heartbeat could
    not be renewed in time); the work stops at its next safe point."""

    code = "lease_lost"


@dataclass(frozen=True)
class HolderId:
    """Who holds a lease: enough to tell, from this host, whether the holder still exists."""

    host: str
    pid: int | None
    token: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def parse(cls, holder: str) -> HolderId:
        """``host:pid:token`` (the form holder_id makes); any other name is only a token."""
        parts = holder.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return cls(parts[0], int(parts[1]), parts[2])
        return cls("", None, holder)


def holder_id() -> str:
    """Unique per process and call site: host, pid and a random token."""
    return str(HolderId(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:12]))


def process_exists(pid: int) -> bool:
    """Whether ``pid`` names a live process on this host (a zombie, killed but not yet reaped
    by its parent, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def holder_gone(holder: str, expires_at: datetime, now: datetime) -> bool:
    """A lease is free when its heartbeat lapsed, or its holder's process on this host is gone
    (another process on this host, since this one is alive by definition)."""
    if expires_at <= now:
        return True
    found = HolderId.parse(holder)
    return (
        found.host == socket.gethostname()
        and found.pid is not None
        and found.pid != os.getpid()
        and not process_exists(found.pid)
    )


def abandon_runs(conn: Connection, holder: str, now: datetime, taken_by: str) -> int:
    """Mark the runs ``holder`` left running as abandoned; how many there were."""
    result = conn.execute(
        update(sync_runs)
        .where(sync_runs.c.holder == holder, sync_runs.c.status == "running")
        .values(
            status=ABANDONED,
            ended_at=now,
            error=f"its process ({holder}) stopped without finishing; the lease passed to "
            f"{taken_by}, and the run resumes from the last page it saved",
        )
    )
    return result.rowcount


def _values(holder: str, now: datetime, ttl: timedelta) -> dict[str, object]:
    found = HolderId.parse(holder)
    return {
        "holder": holder,
        "host": found.host or None,
        "pid": found.pid,
        "heartbeat_at": now,
        "expires_at": now + ttl,
    }


def try_acquire(engine: Engine, name: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew the lease; False while another holder is alive and beating."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert_ignoring_duplicates(conn, leases, ["name"]).values(
                name=name, **_values(holder, now, ttl)
            )
        )
        query = select(leases.c.holder, leases.c.expires_at).where(leases.c.name == name)
        if lock_rows_clause(conn):
            query = query.with_for_update()
        current = conn.execute(query).one()
        if current.holder != holder:
            if not holder_gone(current.holder, current.expires_at, now):
                return False
            abandoned = abandon_runs(conn, current.holder, now, holder)
            log.warning(
                "lease %s taken over from %s, which is gone (%d run(s) marked abandoned)",
                name,
                current.holder,
                abandoned,
            )
        conn.execute(
            update(leases).where(leases.c.name == name).values(**_values(holder, now, ttl))
        )
        return True


def renew(engine: Engine, name: str, holder: str, ttl: timedelta) -> bool:
    """Beat the heartbeat; False when the lease is no longer this holder's."""
    now = utcnow()
    with engine.begin() as conn:
        result = conn.execute(
            update(leases)
            .where(leases.c.name == name, leases.c.holder == holder)
            .values(heartbeat_at=now, expires_at=now + ttl)
        )
        return result.rowcount == 1


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))


class Lease:
    """A lease this process holds, with its heartbeat thread; release it (or use ``with``)."""

    def __init__(self, engine: Engine, name: str, holder: str, ttl: timedelta) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=f"lease {name}", daemon=True)
        self._beat.start()

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def check(self) -> None:
        """Raise LeaseLost when another holder took the lease over (call between steps)."""
        if self.lost:
            raise LeaseLost(
                f"{self.name} passed to another holder while this run worked (its heartbeat "
                "could not be renewed in time); the other run carries on from the saved cursor"
            )

    def _heartbeat(self) -> None:
        every = self.ttl.total_seconds() / 3
        while not self._stop.wait(every):
            try:
                if not renew(self.engine, self.name, self.holder, self.ttl):
                    log.error("lease %s was taken over from %s", self.name, self.holder)
                    self._lost.set()
                    return
            except Exception:  # the database is busy or away: the next beat tries again
                log.warning("could not renew lease %s", self.name, exc_info=True)

    def release(self) -> None:
        self._stop.set()
        if self._beat is not threading.current_thread():
            self._beat.join()
        if not self.lost:
            release(self.engine, self.name, self.holder)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def acquire(engine: Engine, name: str, ttl: timedelta = DEFAULT_TTL) -> Lease:
    """Take ``name`` now, with a heartbeat, or raise LeaseHeld at once (never wait)."""
    holder = holder_id()
    if not try_acquire(engine, name, holder, ttl):
        raise LeaseHeld(f"{name} is already running elsewhere; try again when it finishes")
    return Lease(engine, name, holder, ttl)


@contextmanager
def held(engine: Engine, name: str, ttl: timedelta = DEFAULT_TTL) -> Iterator[Lease]:
    """Hold ``name`` for the block or raise LeaseHeld at once (never wait, never stack)."""
    with acquire(engine, name, ttl) as lease:
        yield lease
