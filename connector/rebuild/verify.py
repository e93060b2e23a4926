"""``rebuild``: replay the live database's inputs into a scratch database and diff the two.

The live database is only read, in one consistent snapshot that never blocks its writers, so
a rebuild of a large history runs beside burns and syncs (and what it compares is what it
replayed). The scratch database is a temporary file unless a path is given (then it stays
there, to be inspected).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from connector.ledger.burns import PlanPolicies
from connector.rebuild import replay, scratch, snapshot, timeline
from connector.rebuild.diff import Mismatch, diff
from connector.recognition.gl import GLResolver
from connector.store.engine import SQLITE_BUSY_TIMEOUT_MS
from mappings.model import MappingSet
from mappings.registry_store import load_version

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RebuildResult:
    mismatches: list[Mismatch]
    errors: list[str]  # steps that could not be replayed
    steps: int
    skipped: int  # purchases left out: open exceptions in the live database
    compared: dict[str, int]  # rows compared per kind (live side)
    scratch: Path | None  # where the scratch database was kept

    @property
    def verified(self) -> bool:
        return not self.mismatches and not self.errors


@contextmanager
def live_snapshot(live: Engine) -> Iterator[Connection]:
    """One read transaction over the live database that takes no write lock: on SQLite a
    deferred transaction on a connection of its own (WAL readers lock nothing; the engine's own
    connections begin IMMEDIATE, which would stop every burn for the whole rebuild), on
    PostgreSQL REPEATABLE READ, so every read sees the same moment."""
    if live.dialect.name != "sqlite":
        repeatable = live.connect().execution_options(isolation_level="REPEATABLE READ")
        with repeatable as conn, conn.begin():
            yield conn
        return
    reader = create_engine(live.url, poolclass=NullPool)

    @event.listens_for(reader, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the begin listener below issues BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(reader, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    try:
        with reader.connect() as conn:
            yield conn
    finally:
        reader.dispose()


def _mapping_source(reading: Connection, current: MappingSet) -> Callable[[str | None], MappingSet]:
    loaded: dict[str, MappingSet] = {current.version: current}

    def mappings(version: str | None) -> MappingSet:
        if version is None:
            return current
        if version not in loaded:
            loaded[version] = load_version(reading, version)
        return loaded[version]

    return mappings


def rebuild(
    live: Engine,
    *,
    current: MappingSet,
    gl: GLResolver,
    plans: PlanPolicies,
    timezone: str = "UTC",
    keep: Path | None = None,
    progress: Progress | None = None,
) -> RebuildResult:
    """Rebuild everything derived from the live database's inputs and diff it against them.

    ``current``: the mappings in force, for purchases that left no mapping version behind;
    ``gl`` and ``plans``: GL accounts and burn policies, as the live database used them.
    """
    with (
        tempfile.TemporaryDirectory(prefix="creditsync-rebuild-") as folder,
        live_snapshot(live) as reading,
    ):
        path = keep or Path(folder) / "rebuild.db"
        engine = scratch.open_scratch(path)
        try:
            steps = timeline.build(reading)
            ids = scratch.PoolIds(scratch.live_pool_ids(reading))
            with engine.begin() as target:
                scratch.seed(reading, target)
            work = replay.Replay(
                engine=engine,
                ids=ids,
                mappings=_mapping_source(reading, current),
                gl=gl,
                plans=plans,
                timezone=steps.timezone or timezone,
            )
            work.run(steps.steps, progress)
            work.expire_quietly(steps.expired_quietly)
            before = snapshot.snapshot(reading)
            with engine.connect() as conn:
                after = snapshot.snapshot(conn)
        finally:
            engine.dispose()
    return RebuildResult(
        mismatches=diff(before, after),
        errors=work.errors,
        steps=len(steps.steps),
        skipped=steps.skipped,
        compared={
            "pools": len(before.pools),
            "burns": len(before.burns),
            "refunds": len(before.refunds),
            "journal entries": len(before.journal),
        },
        scratch=keep,
    )
