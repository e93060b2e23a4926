"""Mapping versions in the database: every version a pool was created with can be read back.

Pools keep only the version hash; the content lives here, written once per distinct version, so
that a later change to the mapping files never rewrites what an old pool was granted under.
"""

from __future__ import annotations

import weakref
from datetime import datetime

from sqlalchemy import Connection, RootTransaction, select

from connector.errors import CreditsyncError, NotFound
from connector.store.sql import insert_ignoring_duplicates
from connector.store.tables import mapping_versions
from connector.timeutil import utcnow
from mappings.model import MappingSet


def record_version(conn: Connection, mappings: MappingSet, now: datetime | None = None) -> str:
    """Store ``mappings`` under its version (once; recording it again changes nothing).

    A sync records the version on every page: once this database connection has seen it
    stored by a transaction that committed, it is not looked up again (rows here are never
    deleted). One found that this same transaction inserted is not remembered yet, so a
    rollback cannot leave a version taken as stored that is not."""
    version = mappings.version
    known: set[str] = conn.info.setdefault(_KNOWN, set())
    if version in known:
        return version
    found = select(mapping_versions.c.version).where(mapping_versions.c.version == version)
    stored = conn.execute(found).first() is not None
    transaction = conn.get_transaction()  # the one the query ran in (begun by it if need be)
    inserted: dict[str, weakref.ref[RootTransaction]] = conn.info.setdefault(_INSERTED, {})
    if stored:
        inserter = inserted.get(version)
        if inserter is None or inserter() is not transaction:
            known.add(version)  # visible, and not this transaction's: committed
        return version  # skip serializing the whole set on every sync page
    conn.execute(
        insert_ignoring_duplicates(conn, mapping_versions, ["version"]).values(
            version=version,
            loaded_at=now or utcnow(),
            content=mappings.model_dump(mode="json"),
        )
    )
    if transaction is not None:
        inserted[version] = weakref.ref(transaction)
    return version


# Keys of ``Connection.info`` (which lives as long as the database connection): the versions
# known stored, and the transaction in which this connection inserted each version.
_KNOWN = "creditsync.mapping_versions.known"
_INSERTED = "creditsync.mapping_versions.inserted"


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
