"""Stripe: paid invoices, checkout sessions, refunds, credit notes, disputes and voids in;
refill invoices and overage meter events out. Stripe has no journal API, so no JournalSink."""

from __future__ import annotations

from adapters.stripe.charger import StripeCharger, make_charger
from adapters.stripe.retry import RetryPolicy, StripeRequestFailed
from adapters.stripe.settings import StripeSettings, load_settings
from adapters.stripe.source import StripeSource, make_source
from adapters.stripe.usage import StripeUsageSink, make_usage_sink
from adapters.stripe.webhook import HANDLED_TYPES, StripeReceiver, make_receiver
from connector.ports import AdapterSpec

ADAPTER = AdapterSpec(
    platform="stripe",
    source=make_source,
    receiver=make_receiver,
    usage=make_usage_sink,
    charger=make_charger,
)

__all__ = [
    "ADAPTER",
    "HANDLED_TYPES",
    "RetryPolicy",
    "StripeCharger",
    "StripeReceiver",
    "StripeRequestFailed",
    "StripeSettings",
    "StripeSource",
    "StripeUsageSink",
    "load_settings",
]
