"""Alembic environment: runs against the connection handed over by connector.store.migrate."""

from __future__ import annotations

from alembic import context

from connector.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - creditsync always passes a connection
    raise RuntimeError("run migrations through `creditsync db upgrade`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
