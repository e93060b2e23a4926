"""Every table creditsync has, gathered on one MetaData (what Alembic compares against)."""

from __future__ import annotations

import connector.policy.tables  # (alerts, refills, overage)
import connector.recognition.tables  # (journal, periods, outbox)
import connector.reconcile.tables  # (reconciliation repairs)
import connector.sync.tables  # (registers its tables)
from connector.store.tables import metadata

__all__ = ["metadata"]
