"""Chargebee webhook deliveries: authenticate, then name the objects to re-read.

Chargebee signs nothing: an endpoint is protected by HTTP basic auth on its URL. Every
configured credential is compared in constant time (several while one is rotated); anything
else is refused with :class:`WebhookChallenge` (401 with a Basic challenge, nothing stored).
Deliveries repeat and arrive out of order for two days, so the inbox stores each event id once,
and the payload is only a hint: the result names the invoice, credit note or transaction to
re-read by id, and the source's ``fetch_objects`` turns its newest state into events. Nothing
here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.chargebee.settings import ChargebeeSettings, load_settings
from adapters.chargebee.source import EVENT_OBJECTS, hint
from connector.platform.basic_auth import authorized
from connector.ports import WebhookChallenge, WebhookRejected, WebhookResult

# The event types a Chargebee webhook should send to creditsync.
HANDLED_TYPES: tuple[str, ...] = tuple(sorted(EVENT_OBJECTS))


def parse(event: Mapping[str, Any]) -> WebhookResult:
    """An authenticated event as a result: the object it is about, to re-read."""
    event_id = str(event["id"])
    event_type = str(event["event_type"])
    found = EVENT_OBJECTS.get(event_type)
    content = event.get("content")
    if found is None or not isinstance(content, Mapping):
        return WebhookResult(event_id=event_id, event_type=event_type, ignored=True)
    content_key, _ = found
    obj = content.get(content_key)
    if not isinstance(obj, Mapping) or not obj.get("id"):
        return WebhookResult(event_id=event_id, event_type=event_type, ignored=True)
    return WebhookResult(
        event_id=event_id,
        event_type=event_type,
        fetch_hints=[hint(content_key, str(obj["id"]))],
    )


class ChargebeeReceiver:
    """WebhookReceiver for one Chargebee endpoint (one or more basic-auth credentials)."""

    def __init__(self, settings: ChargebeeSettings) -> None:
        settings.require("webhook_credentials", "receiving Chargebee webhooks")
        self._credentials = settings.credentials

    def receive(self, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookResult:
        if not authorized(headers, self._credentials):
            raise WebhookChallenge(
                "the request carries no basic-auth credentials configured for this connection",
                {"WWW-Authenticate": 'Basic realm="creditsync", charset="UTF-8"'},
            )
        try:
            event = json.loads(body)
        except ValueError:
            raise WebhookRejected("webhook body is not JSON") from None
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("id"), str)
            or not isinstance(event.get("event_type"), str)
            or not event["id"]
        ):
            raise WebhookRejected("webhook body is not a Chargebee event (id, event_type)")
        if event.get("api_version") not in (None, "v2"):
            raise WebhookRejected(
                f"event api_version {event.get('api_version')!r}: set the webhook to API v2"
            )
        return parse(event)


def make_receiver(settings: Mapping[str, Any]) -> ChargebeeReceiver:
    return ChargebeeReceiver(load_settings(settings))
