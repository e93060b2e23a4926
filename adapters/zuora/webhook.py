"""Zuora callout notifications: authenticate, then name the object to re-read.

A callout carries ids, not state (and arrives in no particular order), so every delivery becomes a
fetch hint ``<kind>:<id>`` and the source re-reads the object: the newest state always wins. The
delivery id is the ``Zuora-Notification-Id`` header, stable across Zuora's retries (the
``Zuora-Request-Id`` changes on each), so the inbox stores a retried callout once.

Authentication follows the callout template:
- basic: Zuora's default is non-preemptive: it first calls without credentials and resends them
  only after a 401 carrying ``WWW-Authenticate: Basic``. A request without credentials gets that
  challenge (WebhookChallenge); wrong credentials are rejected.
- hmac: the tenant picks the header, the algorithm and the data signed (merge fields of the
  template). ``hmac_signed_fields`` lists the parts in template order: ``body`` (the raw body),
  ``header:<Name>``, or a top-level field of the JSON body; they are joined by
  ``hmac_separator``. Every configured key is tried, in constant time, so keys can be rotated.

The callout body the README asks for is JSON: ``{"objectType": "Invoice", "objectId": "<id>",
"eventType": "<event>"}`` (objectType one of Invoice, CreditMemo, Refund, Payment).
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.zuora.settings import ZuoraSettings, load_settings
from connector.platform.basic_auth import authorized, credentials_of
from connector.platform.retry import header
from connector.ports import WebhookChallenge, WebhookRejected, WebhookResult

NOTIFICATION_ID = "Zuora-Notification-Id"

# callout objectType -> fetch hint kind
OBJECT_KINDS: dict[str, str] = {
    "invoice": "invoice",
    "creditmemo": "creditmemo",
    "refund": "refund",
    "payment": "payment",
}


def _payload(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body)
    except ValueError:
        raise WebhookRejected("callout body is not JSON; use the JSON body in the README") from None
    if not isinstance(decoded, dict):
        raise WebhookRejected("callout body is not a JSON object")
    return decoded


def signed_data(settings: ZuoraSettings, headers: Mapping[str, str], body: bytes) -> bytes:
    """The bytes the callout template signed, rebuilt from the delivery."""
    parts: list[str] = []
    payload: dict[str, Any] | None = None
    for field in settings.hmac_signed_fields:
        if field == "body":
            try:
                parts.append(body.decode("utf-8"))
            except UnicodeDecodeError:
                raise WebhookRejected("callout body is not UTF-8 text") from None
        elif field.startswith("header:"):
            parts.append(header(headers, field.removeprefix("header:")) or "")
        else:
            payload = payload if payload is not None else _payload(body)
            value = payload.get(field)
            parts.append("" if value is None else str(value))
    return settings.hmac_separator.join(parts).encode("utf-8")


def verify_hmac(settings: ZuoraSettings, headers: Mapping[str, str], body: bytes) -> None:
    assert settings.hmac_header is not None
    given = (header(headers, settings.hmac_header) or "").strip()
    if not given:
        raise WebhookRejected(f"missing {settings.hmac_header} header: the callout is not signed")
    given = (
        given.split("=", 1)[1] if given.lower().startswith(settings.hmac_algorithm + "=") else given
    )
    data = signed_data(settings, headers, body)
    matched = False
    for secret in settings.hmac_secrets:
        digest = hmac.new(
            secret.get_secret_value().encode(), data, settings.hmac_algorithm
        ).digest()
        expected = (
            base64.b64encode(digest).decode()
            if settings.hmac_encoding == "base64"
            else digest.hex()
        )
        matched |= hmac.compare_digest(expected.encode(), given.encode())
    if not matched:
        raise WebhookRejected(f"{settings.hmac_header} matches no configured HMAC key")


def verify_basic(settings: ZuoraSettings, headers: Mapping[str, str]) -> None:
    if credentials_of(headers) is None:
        raise WebhookChallenge(
            "credentials required (Zuora resends the callout with them after this challenge)",
            {"WWW-Authenticate": f'Basic realm="{settings.callout_realm}", charset="UTF-8"'},
        )
    accepted = [(c.user, c.password) for c in settings.callout_credentials]
    if not authorized(headers, accepted):
        raise WebhookRejected("the callout's basic auth credentials are not the configured ones")


def receive(
    settings: ZuoraSettings, headers: Mapping[str, str], body: bytes, now: datetime
) -> WebhookResult:
    """Authenticate and parse one callout. The same delivery always gives the same result."""
    del now  # callouts carry no signed timestamp of their own; the inbox dedupes replays
    if settings.callout_auth == "basic":
        verify_basic(settings, headers)
    else:
        verify_hmac(settings, headers, body)
    notification = (header(headers, NOTIFICATION_ID) or "").strip()
    if not notification:
        raise WebhookRejected(f"missing {NOTIFICATION_ID} header: not a Zuora callout")
    payload = _payload(body)
    object_type = str(payload.get("objectType") or "")
    object_id = str(payload.get("objectId") or "").strip()
    event_type = str(payload.get("eventType") or object_type or "callout")
    kind = OBJECT_KINDS.get(object_type.replace(" ", "").lower())
    if kind is None or not object_id:
        return WebhookResult(event_id=notification, event_type=event_type, ignored=True)
    return WebhookResult(
        event_id=notification, event_type=event_type, fetch_hints=[f"{kind}:{object_id}"]
    )


class ZuoraReceiver:
    """WebhookReceiver for the callouts of one Zuora tenant."""

    def __init__(self, settings: ZuoraSettings) -> None:
        if settings.callout_auth == "basic":
            settings.require("callout_credentials", "receiving Zuora callouts with basic auth")
        else:
            settings.require("hmac_secrets", "receiving HMAC-signed Zuora callouts")
            settings.require("hmac_header", "receiving HMAC-signed Zuora callouts")
        self._settings = settings

    def receive(self, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookResult:
        return receive(self._settings, headers, body, now)


def make_receiver(settings: Mapping[str, Any]) -> ZuoraReceiver:
    return ZuoraReceiver(load_settings(settings))
