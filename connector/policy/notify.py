"""Delivering alerts: a JSON POST to the operator's notify URL, or a log line when none is set.

The POST carries the alert's key as ``Idempotency-Key`` (an alert may be delivered again after a
crash between the answer and the settle), and any 2xx answer counts as delivered.

With a signing secret set, the POST is signed the way Stripe signs its webhooks, so a receiver
can tell it came from this creditsync and was not replayed later: the header
``Creditsync-Signature: t=<unix seconds>,v1=<hex>`` holds the sending time and the HMAC-SHA256,
keyed with the secret, of ``"<t>.<body>"`` (the body exactly as sent). ``verify_signature`` is
the receiver's side of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from connector.policy.model import Alert
from connector.timeutil import utcnow

log = logging.getLogger("creditsync.policy")
TIMEOUT = httpx.Timeout(10.0)
SIGNATURE_HEADER = "Creditsync-Signature"


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


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes, at: datetime) -> str:
    """The ``Creditsync-Signature`` header value for ``body`` sent at ``at``."""
    timestamp = int(at.timestamp())
    return f"t={timestamp},v1={_digest(secret, timestamp, body)}"


def verify_signature(
    header: str, body: bytes, secret: str, now: datetime, tolerance_seconds: int = 300
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance_seconds`` of ``now``."""
    fields: dict[str, str] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    timestamp = fields.get("t", "")
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    if abs(now.timestamp() - int(timestamp)) > tolerance_seconds:
        return False
    return hmac.compare_digest(fields.get("v1", ""), _digest(secret, int(timestamp), body))


def deliver(
    alert: Alert,
    notify_url: str | None,
    client: httpx.Client | None = None,
    *,
    secret: SecretStr | None = None,
) -> None:
    """Send one alert (signed when ``secret`` is set) or raise DeliveryFailed with what went
    wrong."""
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
    body = json.dumps(payload(alert), separators=(",", ":")).encode()
    headers = {
        "Idempotency-Key": alert.key,
        "User-Agent": "creditsync",
        "Content-Type": "application/json",
    }
    if secret is not None:
        headers[SIGNATURE_HEADER] = signature(secret.get_secret_value(), body, utcnow())
    try:
        if client is None:
            with httpx.Client(timeout=TIMEOUT) as own:
                answer = own.post(notify_url, content=body, headers=headers)
        else:
            answer = client.post(notify_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
    if not answer.is_success:
        raise DeliveryFailed(f"HTTP {answer.status_code}: {answer.text[:200]}")
