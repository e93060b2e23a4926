"""Zuora: paid invoices, credit memos, refunds and cancellations in; usage records, refill
invoices and Zuora Finance summary journal entries out."""

from __future__ import annotations

from adapters.zuora.charger import ZuoraCharger, make_charger
from adapters.zuora.client import ZuoraApi, ZuoraRequestFailed
from adapters.zuora.journal import ZuoraJournalSink, make_sink
from adapters.zuora.settings import ZuoraSettings, load_settings
from adapters.zuora.source import ZuoraSource, make_source
from adapters.zuora.usage import ZuoraUsageSink, make_usage_sink
from adapters.zuora.webhook import ZuoraReceiver, make_receiver
from connector.ports import AdapterSpec

ADAPTER = AdapterSpec(
    platform="zuora",
    source=make_source,
    receiver=make_receiver,
    sink=make_sink,
    usage=make_usage_sink,
    charger=make_charger,
)

__all__ = [
    "ADAPTER",
    "ZuoraApi",
    "ZuoraCharger",
    "ZuoraJournalSink",
    "ZuoraReceiver",
    "ZuoraRequestFailed",
    "ZuoraSettings",
    "ZuoraSource",
    "ZuoraUsageSink",
    "load_settings",
]
