"""Overage reported to Chargebee as usages on the customer's metered subscription item price.

``POST /subscriptions/{id}/usages`` with a usage id derived from the overage key and
``dedupe_option=skip``: Chargebee keeps the first usage of an id and skips any repeat, however
late the retry (its idempotency key, sent too, lasts 30 minutes). The port names a customer
only; the subscription comes from ``usage_subscriptions`` or, failing that, from the customer's
live subscription carrying ``usage_item_price``. A customer without one fails the record with
that reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chargebee import Chargebee

from adapters.chargebee.client import api_for
from adapters.chargebee.marks import LINK_FIX, mark
from adapters.chargebee.retry import RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings, load_settings
from connector.errors import InvalidInput
from connector.platform.paging import first_item
from connector.platform.requests import check_overage
from connector.ports import OverageUsage
from connector.timeutil import require_aware

LIVE = frozenset({"active", "in_trial", "non_renewing"})


class ChargebeeUsageSink:
    def __init__(
        self,
        settings: ChargebeeSettings,
        *,
        client: Chargebee | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        settings.require("usage_item_price", "reporting overage to Chargebee")
        assert settings.usage_item_price is not None
        self._item_price = settings.usage_item_price
        self._mapped = dict(settings.usage_subscriptions)
        self._api = api_for(settings, client, retry)

    def report(self, usage: OverageUsage) -> str:
        """Record one usage; return its id (the same for every retry of ``usage.key``)."""
        check_overage(usage, "Chargebee", LINK_FIX)
        occurred_at = require_aware(usage.occurred_at, "occurred_at")
        customer_id = usage.external_customer_id
        subscription = self._subscription(customer_id)
        usage_id = mark("usage", usage.key)
        params = {
            "id": usage_id,
            "item_price_id": self._item_price,
            "quantity": str(usage.credits),
            "usage_date": int(occurred_at.timestamp()),
            "dedupe_option": "skip",
            "note": f"creditsync overage of account {usage.account_id}"[:300],
        }
        usages = self._api.sdk.Usage
        created = self._api.post(
            f"/subscriptions/{subscription}/usages",
            lambda headers: usages.create(subscription, params, headers),
            idempotency_key=usage_id,
        )
        return str(created.usage.id or usage_id)

    def _subscription(self, customer_id: str) -> str:
        if customer_id in self._mapped:
            return self._mapped[customer_id]
        params = {"customer_id": {"is": customer_id}, "item_price_id": {"is": self._item_price}}
        live = first_item(
            self._api.pages_of("subscriptions", params), lambda s: s.get("status") in LIVE
        )
        if live is not None:
            self._mapped[customer_id] = str(live["id"])
            return self._mapped[customer_id]
        raise InvalidInput(
            "external_customer_id",
            f"Chargebee customer {customer_id} has no live subscription with the metered item "
            f"price {self._item_price}",
            "subscribe the customer to it, or map the customer in usage_subscriptions",
        )


def make_usage_sink(settings: Mapping[str, Any]) -> ChargebeeUsageSink:
    return ChargebeeUsageSink(load_settings(settings))
