"""Every table creditsync has, gathered on one MetaData (what Alembic compares against).

Each part of creditsync defines its tables on the shared ``metadata``; importing its tables
module here is what registers them.
"""

from __future__ import annotations

from connector.policy import tables as policy_tables
from connector.recognition import tables as recognition_tables
from connector.reconcile import tables as reconcile_tables
from connector.store.tables import metadata
from connector.sync import rejected as rejected_tables
from connector.sync import tables as sync_tables

TABLE_MODULES = (policy_tables, recognition_tables, reconcile_tables, sync_tables, rejected_tables)

__all__ = ["TABLE_MODULES", "metadata"]
