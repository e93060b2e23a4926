"""Overage reported to Stripe Billing as meter events, for pay-as-you-go past the pools.

The meter event's ``identifier`` is the usage key, so Stripe counts a re-sent report once
(it deduplicates identifiers over a rolling window of at least 24 hours); the POST carries an
idempotency key on top, as every write does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from adapters.stripe.client import StripeApi, build_client
from adapters.stripe.retry import RetryPolicy
from adapters.stripe.settings import StripeSettings, load_settings
from connector.platform.requests import check_overage
from connector.ports import OverageUsage
from connector.timeutil import require_aware


class StripeUsageSink:
    def __init__(
        self,
        settings: StripeSettings,
        *,
        client: stripe.StripeClient | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        settings.require("meter_event_name", "reporting overage to Stripe")
        assert settings.meter_event_name is not None
        self._event_name = settings.meter_event_name
        self._api = StripeApi(
            client or build_client(settings.secret_key),
            retry or RetryPolicy(max_attempts=settings.max_attempts),
        )

    def report(self, usage: OverageUsage) -> str:
        """Send one meter event; return its identifier (meter events have no other id)."""
        check_overage(usage, "Stripe", "link a cus_ id")
        occurred_at = require_aware(usage.occurred_at, "occurred_at")
        answer = self._api.post(
            "/v1/billing/meter_events",
            {
                "event_name": self._event_name,
                "payload": {
                    "stripe_customer_id": usage.external_customer_id,
                    "value": str(usage.credits),
                },
                "identifier": usage.key,
                "timestamp": int(occurred_at.timestamp()),
            },
            idempotency_key=f"{usage.key}:meter_event",
        )
        return str(answer.get("identifier") or usage.key)


def make_usage_sink(settings: Mapping[str, Any]) -> StripeUsageSink:
    return StripeUsageSink(load_settings(settings))
