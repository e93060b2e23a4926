"""Mapping versions in the database: every version a pool was created with can be read back.

Pools keep only the version hash; the content lives here, written once per distinct version, so
that a later change to the mapping files never rewrites what an old pool was granted under.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from connector.errors import CreditsyncError, NotFound
from connector.store.sql import insert_ignoring_duplicates
from connector.store.tables import mapping_versions
from connector.timeutil import utcnow
from mappings.model import MappingSet


def record_version(conn: Connection, mappings: MappingSet, now: datetime | None = None) -> str:
    """Store ``mappings`` under its version (once; recording it again changes nothing)."""
    known = select(mapping_versions.c.version).where(mapping_versions.c.version == mappings.version)
    if conn.execute(known).first() is not None:
        return mappings.version  # skip serializing the whole set on every sync page
    conn.execute(
        insert_ignoring_duplicates(conn, mapping_versions, ["version"]).values(
            version=mappings.version,
            loaded_at=now or utcnow(),
            content=mappings.model_dump(mode="json"),
        )
    )
    return mappings.version


def load_version(conn: Connection, version: str) -> MappingSet:
    """The mapping set recorded under ``version``, checked against its hash."""
    content = conn.execute(
        select(mapping_versions.c.content).where(mapping_versions.c.version == version)
    ).scalar()
    if content is None:
        raise NotFound(f"mapping version {version!r} was never recorded")
    mappings = MappingSet.model_validate(content)
    if mappings.version != version:
        raise CreditsyncError(
            f"mapping version {version!r} does not match its stored content "
            f"(which hashes to {mappings.version!r}); the row was altered"
        )
    return mappings


def recorded_versions(conn: Connection) -> list[tuple[str, datetime]]:
    """Every recorded version with the moment it was first loaded, oldest first."""
    rows = conn.execute(
        select(mapping_versions.c.version, mapping_versions.c.loaded_at).order_by(
            mapping_versions.c.loaded_at, mapping_versions.c.version
        )
    )
    return [(row.version, row.loaded_at) for row in rows]
