"""Persistence: SQLAlchemy Core tables, engines for SQLite and PostgreSQL, Alembic migrations.

The two settings below are shared by the engines (``engine``) and by the reads that go through
the bare driver without SQLAlchemy (``direct``), so they live here, where neither loads it.
"""

from __future__ import annotations

SQLITE_BUSY_TIMEOUT_MS = 30_000  # how long any SQLite connection waits for the write lock

# creditsync's own database URL option for PgBouncer in transaction pooling (``?pgbouncer=true``)
PGBOUNCER_OPTION = "pgbouncer"


def pgbouncer_requested(value: object) -> bool:
    """Whether the value of the URL's ``pgbouncer`` option turns PgBouncer mode on."""
    return value in ("true", "1", "on")
