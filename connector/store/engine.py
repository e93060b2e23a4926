"""Engines for the two supported databases, configured for safe concurrent writers.

SQLite: WAL, a busy timeout, foreign keys, and ``BEGIN IMMEDIATE`` for every transaction so that
two writers serialize at the start instead of failing at commit. PostgreSQL: psycopg 3; burns
serialize per account with ``SELECT ... FOR UPDATE`` on the account row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from connector.store import PGBOUNCER_OPTION, SQLITE_BUSY_TIMEOUT_MS, pgbouncer_requested, wire


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and point them at psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    # No ping before every checkout: it is a round trip on every burn (a fifth of a burn's time
    # measured). Connections are recycled before a server or proxy drops them idle; one broken
    # by a database restart fails the transaction that finds it and is replaced, and callers
    # retry safely because every write is idempotent.
    kwargs.setdefault("pool_recycle", 300)
    connect_args = kwargs.setdefault("connect_args", {})
    # psycopg prepares a statement it has run five times, and then deallocates every prepared
    # statement of the session after each ROLLBACK (a read connection's return to the pool, a
    # savepoint rolled back) and each DROP or ALTER: a second round trip each time, and the burn
    # writer's own prepared statements gone with them. The burn writer prepares what is worth it
    # (``connector.store.wire``); psycopg prepares nothing, so deallocates nothing.
    connect_args.setdefault("prepare_threshold", None)
    parsed = make_url(url)
    pgbouncer = pgbouncer_requested(parsed.query.get(PGBOUNCER_OPTION))
    if pgbouncer:
        # PgBouncer in transaction pooling hands each transaction any server connection: no
        # prepared statements (they live in one session) and no startup options it would refuse.
        url = parsed.difference_update_query([PGBOUNCER_OPTION]).render_as_string(
            hide_password=False
        )
    else:
        # A prepared statement may switch to a generic plan, which for the IN-list statements
        # of a sync page scans instead of using the source key index (seen: 30x slower, when
        # psycopg prepared them). Custom plans keep the index; the burn writer's statements,
        # which take arrays, ask for generic plans themselves.
        connect_args.setdefault("options", "-c plan_cache_mode=force_custom_plan")
    engine = create_engine(url, **kwargs)
    if not pgbouncer:
        wire.keep_prepared(engine)
    return engine


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    kwargs.setdefault(
        "connect_args", {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's begin listener issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
