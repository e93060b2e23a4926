"""Delivering alerts: a JSON POST to the operator's notify URL, or a log line when none is set.

The POST carries the alert's key as ``Idempotency-Key`` (an alert may be delivered again after a
crash between the answer and the settle), and any 2xx answer counts as delivered.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from connector.policy.model import Alert

log = logging.getLogger("creditsync.policy")
TIMEOUT = httpx.Timeout(10.0)


class DeliveryFailed(Exception):
    """The notify URL did not take the alert; it stays pending for the next run."""


def payload(alert: Alert) -> dict[str, Any]:
    return {
        "type": f"creditsync.{alert.kind}",
        "key": alert.key,
        "account_id": alert.account_id,
        "threshold": alert.threshold,
        "balance": alert.balance,
        "burn_id": alert.burn_id,
        "created_at": alert.created_at.isoformat().replace("+00:00", "Z"),
    }


def deliver(alert: Alert, notify_url: str | None, client: httpx.Client | None = None) -> None:
    """Send one alert or raise DeliveryFailed with what went wrong."""
    if notify_url is None:
        log.warning(
            "%s: account %s at %d credits (threshold %d), alert %s",
            alert.kind,
            alert.account_id,
            alert.balance,
            alert.threshold,
            alert.key,
        )
        return
    body = payload(alert)
    headers = {"Idempotency-Key": alert.key, "User-Agent": "creditsync"}
    try:
        if client is None:
            with httpx.Client(timeout=TIMEOUT) as own:
                answer = own.post(notify_url, json=body, headers=headers)
        else:
            answer = client.post(notify_url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if not answer.is_success:
        raise DeliveryFailed(f"HTTP {answer.status_code}: {answer.text[:200]}")
