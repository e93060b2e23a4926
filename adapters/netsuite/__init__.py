"""The NetSuite adapter: journal entries out to NetSuite through its REST web services.

A journal sink only (NetSuite is the general ledger here, not where credits are bought):
entries are upserted by external id with OAuth 2.0 client credentials (M2M), and read back
through SuiteQL for reconciliation.
"""

from __future__ import annotations

from adapters.netsuite.sink import NetSuiteSink
from connector.ports import AdapterSpec

ADAPTER = AdapterSpec(platform="netsuite", sink=NetSuiteSink.from_settings)

__all__ = ["ADAPTER", "NetSuiteSink"]
