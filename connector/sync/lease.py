"""A named lease in the database: at most one holder at a time, across processes and hosts.

Used so that two sync runs of one connection never overlap and only one process schedules jobs.
A lease expires by itself, so a holder that died frees it after ``ttl`` without anyone's help.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Engine, delete, select, update

from connector.errors import CreditsyncError
from connector.store.sql import insert_ignoring_duplicates, lock_rows_clause
from connector.sync.tables import leases
from connector.timeutil import utcnow


class LeaseHeld(CreditsyncError):
    code = "busy"


def holder_id() -> str:
    """Unique per process and call site: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_acquire(engine: Engine, name: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew the lease; False while someone else holds an unexpired one."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert_ignoring_duplicates(conn, leases, ["name"]).values(
                name=name, holder=holder, expires_at=now + ttl
            )
        )
        query = select(leases.c.holder, leases.c.expires_at).where(leases.c.name == name)
        if lock_rows_clause(conn):
            query = query.with_for_update()
        current = conn.execute(query).one()
        if current.holder != holder and current.expires_at > now:
            return False
        conn.execute(
            update(leases).where(leases.c.name == name).values(holder=holder, expires_at=now + ttl)
        )
        return True


def release(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))


@contextmanager
def held(engine: Engine, name: str, ttl: timedelta = timedelta(minutes=30)) -> Iterator[str]:
    """Hold ``name`` for the block or raise LeaseHeld at once (never wait, never stack)."""
    holder = holder_id()
    if not try_acquire(engine, name, holder, ttl):
        raise LeaseHeld(f"{name} is already running elsewhere; try again when it finishes")
    try:
        yield holder
    finally:
        release(engine, name, holder)
