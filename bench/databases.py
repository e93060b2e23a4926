"""Fresh, migrated databases for benchmarks: a SQLite file, or a PostgreSQL database of the
bench's own (dropped and created again) on the server a URL names, never the URL's own one."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from connector.store.engine import make_engine
from connector.store.migrate import upgrade


def fresh_engine(url: str | None, folder: Path, name: str = "bench") -> Engine:
    if url is None:
        engine = make_engine(f"sqlite:///{folder / f'{name}-{uuid.uuid4().hex[:6]}.db'}")
    else:
        database = f"creditsync_{name}"
        admin = make_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        admin.dispose()
        engine = make_engine(
            make_url(url).set(database=database).render_as_string(hide_password=False)
        )
    upgrade(engine)
    return engine


def raw_connection(engine: Engine) -> Any:
    """A DB-API connection for a baseline, as plain code would open it: on PostgreSQL
    ``psycopg.connect`` with the driver's own defaults (it prepares a statement run five times,
    which creditsync's engines turn off, see ``connector.store.engine``); on SQLite the engine's
    own, with its pragmas. The caller closes it."""
    if engine.dialect.name != "postgresql":
        return engine.raw_connection()
    return psycopg.connect(engine.url.set(drivername="postgresql").render_as_string(False))
