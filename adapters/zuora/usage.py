"""Overage reported to Zuora as usage records on the customer's account.

``POST /v1/object/usage`` takes the account, the unit of measure and the quantity; Zuora rates it
against the account's subscription charge billed in that unit (``usage_uom``). The record has no
unique key and Zuora keeps an Idempotency-Key for 24 hours only, so a retry is made safe by the
record itself: its ``Description`` carries creditsync's usage key, and before sending, the usage
is looked up by that description. A report retried a week later finds the record and sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.zuora.client import ZuoraApi
from adapters.zuora.settings import ZuoraSettings, load_settings
from connector.errors import InvalidInput
from connector.platform.requests import check_overage
from connector.platform.retry import RetryPolicy
from connector.ports import OverageUsage
from connector.timeutil import require_aware

DESCRIPTION_PREFIX = "creditsync:"


def description_of(key: str) -> str:
    text = DESCRIPTION_PREFIX + key
    if len(text) > 200:  # Description holds at most 200 characters
        raise InvalidInput("key", "is too long for a Zuora usage description (200 characters)")
    return text


class ZuoraUsageSink:
    def __init__(
        self,
        settings: ZuoraSettings,
        *,
        api: ZuoraApi | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        settings.require("usage_uom", "reporting overage to Zuora")
        assert settings.usage_uom is not None
        self._uom = settings.usage_uom
        self._api = api or ZuoraApi(settings, retry=retry)

    def report(self, usage: OverageUsage) -> str:
        """Create one usage record (or find the one a earlier attempt created); return its id."""
        check_overage(usage, "Zuora", "link the account to its Zuora account id")
        occurred_at = require_aware(usage.occurred_at, "occurred_at")
        description = description_of(usage.key)
        found, _ = self._api.query(
            "usages",
            filters=[f"accountid.EQ:{usage.external_customer_id}", f"description.EQ:{description}"],
        )
        for record in found:
            if record.get("description") == description and record.get("id"):
                return str(record["id"])
        answer = self._api.post(
            "/v1/object/usage",
            {
                "AccountId": usage.external_customer_id,
                "UOM": self._uom,
                "Quantity": usage.credits,
                "StartDateTime": occurred_at.isoformat(),
                "Description": description,
            },
            idempotency_key=f"{usage.key}:usage",
        )
        created = answer.get("Id")
        if not created:
            raise InvalidInput("usage", "Zuora answered without the new usage record's Id")
        return str(created)


def make_usage_sink(settings: Mapping[str, Any]) -> ZuoraUsageSink:
    return ZuoraUsageSink(load_settings(settings))
