"""Every table creditsync has, gathered on one MetaData (what Alembic compares against)."""

from __future__ import annotations

import connector.policy.tables  # noqa: F401  (alerts, refills, overage)
import connector.recognition.tables  # noqa: F401  (journal, periods, outbox)
import connector.reconcile.tables  # noqa: F401  (reconciliation repairs)
import connector.sync.tables  # noqa: F401  (registers its tables)
from connector.store.tables import metadata

__all__ = ["metadata"]
