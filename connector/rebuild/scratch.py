"""The scratch database a rebuild writes into: SQLite, migrated, seeded with the inputs that
have no history of their own (recorded mapping versions, accounts' own consumption orders).

Pool ids: detailed journal entries carry pool ids (and their ids derive from them), and the
live database's ids have gaps wherever a transaction rolled back or a duplicate insert was
ignored. So each pool the rebuild creates is renumbered at once to the id its counterpart has
in the live database (matched by source key and part); a pool the live database lacks gets an
id above all of them. Foreign keys are off in the scratch database for this renumbering.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, event, select, update

from connector.store.engine import make_engine
from connector.store.migrate import upgrade
from connector.store.schema import metadata
from connector.store.tables import accounts, mapping_versions, pools

PoolKey = tuple[str, str, str, str]


def open_scratch(path: Path) -> Engine:
    """A fresh, migrated SQLite database at ``path`` (replacing any file there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _scratch(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("PRAGMA synchronous=OFF")  # a scratch file need not survive a crash
        cursor.close()

    upgrade(engine)
    return engine


def seed(live: Connection, scratch: Connection) -> None:
    """Copy the mapping versions and the accounts (with their own consumption order; plans are
    set again by the purchases that set them)."""
    versions = [dict(row) for row in live.execute(select(mapping_versions)).mappings()]
    if versions:
        scratch.execute(mapping_versions.insert(), versions)
    rows = [
        {
            "id": row["id"],
            "name": row["name"],
            "email": row["email"],
            "consumption_order": row["consumption_order"],
            "plan": None,
            "created_at": row["created_at"],
        }
        for row in live.execute(select(accounts)).mappings()
    ]
    if rows:
        scratch.execute(accounts.insert(), rows)


def live_pool_ids(live: Connection) -> dict[PoolKey, int]:
    p = pools.c
    return {
        (row[0], row[1], row[2], row[3]): row[4]
        for row in live.execute(
            select(p.source_platform, p.source_object, p.source_line, p.source_part, p.id)
        )
    }


def _pool_references() -> list[tuple[Table, Column[Any]]]:
    out = []
    for table in metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table is pools and fk.column.name == "id":
                out.append((table, fk.parent))
    return out


class PoolIds:
    """Keeps the scratch database's pool ids equal to the live database's."""

    def __init__(self, live_ids: Mapping[PoolKey, int]) -> None:
        self.live_ids = dict(live_ids)
        self.aligned: set[int] = set()
        self.unmatched = count(max(self.live_ids.values(), default=0) + 1)
        self.references = _pool_references()

    def align(self, conn: Connection) -> None:
        p = pools.c
        fresh = [
            row
            for row in conn.execute(
                select(p.id, p.source_platform, p.source_object, p.source_line, p.source_part)
            )
            if row[0] not in self.aligned
        ]
        if not fresh:
            return
        targets = []
        for row in fresh:
            target = self.live_ids.get((row[1], row[2], row[3], row[4]))
            targets.append((row[0], target if target is not None else next(self.unmatched)))
        self.aligned.update(new for _old, new in targets)
        moves = [(old, new) for old, new in targets if old != new]
        # Through negative ids, so that no move lands on a pool that has not moved yet.
        for old, new in moves:
            self._move(conn, old, -new)
        for _old, new in moves:
            self._move(conn, -new, new)

    def _move(self, conn: Connection, old: int, new: int) -> None:
        conn.execute(update(pools).where(pools.c.id == old).values(id=new))
        for table, column in self.references:
            conn.execute(update(table).where(column == old).values({column.name: new}))
