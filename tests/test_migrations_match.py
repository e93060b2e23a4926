"""The Alembic migrations build exactly the tables the code declares, on both databases: a
change to a table definition without its migration (or the other way round) fails here."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, Text

from connector.store.schema import metadata


def differences(engine: Engine, declared: MetaData = metadata) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, declared))


def test_the_migrated_schema_is_the_declared_one(engine: Engine) -> None:
    assert differences(engine) == []


def test_a_column_declared_without_its_migration_is_caught(engine: Engine) -> None:
    declared = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(declared)
    declared.tables["burns"].append_column(Column("forgotten", Text))
    found = differences(engine, declared)
    assert [(d[0], d[2], d[3].name) for d in found] == [("add_column", "burns", "forgotten")]
