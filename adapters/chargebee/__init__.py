"""Chargebee: paid invoices, credit notes, refunds, disputes and voids in; refill invoices and
overage usages out. Chargebee has no journal API, so no JournalSink: entries go to another sink
(files, Zuora, NetSuite)."""

from __future__ import annotations

from adapters.chargebee.charger import ChargebeeCharger, make_charger
from adapters.chargebee.retry import ChargebeeRequestFailed, RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings, load_settings
from adapters.chargebee.source import ChargebeeSource, make_source
from adapters.chargebee.usage import ChargebeeUsageSink, make_usage_sink
from adapters.chargebee.webhook import HANDLED_TYPES, ChargebeeReceiver, make_receiver
from connector.ports import AdapterSpec

ADAPTER = AdapterSpec(
    platform="chargebee",
    source=make_source,
    receiver=make_receiver,
    usage=make_usage_sink,
    charger=make_charger,
)

__all__ = [
    "ADAPTER",
    "HANDLED_TYPES",
    "ChargebeeCharger",
    "ChargebeeReceiver",
    "ChargebeeRequestFailed",
    "ChargebeeSettings",
    "ChargebeeSource",
    "ChargebeeUsageSink",
    "RetryPolicy",
    "load_settings",
]
