"""Every table creditsync has, gathered on one MetaData (what Alembic compares against)."""

from __future__ import annotations

from connector.store.tables import metadata

__all__ = ["metadata"]
