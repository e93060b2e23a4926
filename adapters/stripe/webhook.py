"""Stripe webhook deliveries: verify, then turn into canonical events or fetch hints.

Verification is the SDK's (``stripe.WebhookSignature.verify_header``: HMAC-SHA256 of
``"{t}.{body}"``, any ``v1`` signature of the header may match) tried against each configured
secret, so two endpoint secrets can be live while one is rolled. Freshness is checked here
against the caller's ``now`` rather than the SDK's wall clock, both ways: a timestamp too far in
the future is as suspect as a stale one. Nothing here does I/O: when the payload is not enough
(a refund needs the invoice its payment paid, a line list was cut short) the result names the
object to re-read, as ``type:id`` taken from the object itself, and the source's
``fetch_objects`` does the reading. An event rendered in another API version than the pinned
one is never parsed: the whole delivery becomes such a hint, read again in the pinned version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import stripe
from pydantic import SecretStr

from adapters.stripe.client import require_pinned_api_version
from adapters.stripe.hints import ObjectRef
from adapters.stripe.parse import (
    API_VERSION,
    credit_note_events,
    invoice_events,
    session_is_purchase,
    session_purchases,
)
from adapters.stripe.settings import StripeSettings, load_settings
from connector.errors import InvalidInput
from connector.events import CanonicalEvent
from connector.ports import WebhookInvalid, WebhookRejected, WebhookResult

SIGNATURE_HEADER = "Stripe-Signature"

# The event types a Stripe endpoint should send to creditsync, and the object each carries.
HANDLED_OBJECTS: dict[str, str] = {
    "invoice.paid": "invoice",
    "invoice.voided": "invoice",
    "checkout.session.completed": "checkout.session",
    "checkout.session.async_payment_succeeded": "checkout.session",
    "credit_note.created": "credit_note",
    "refund.created": "refund",
    "refund.updated": "refund",
    "refund.failed": "refund",
    "charge.refunded": "charge",
    "charge.dispute.closed": "dispute",
}
HANDLED_TYPES: tuple[str, ...] = tuple(HANDLED_OBJECTS)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _timestamp(header: str) -> int | None:
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[SecretStr],
    now: datetime,
    tolerance_seconds: int = 300,
) -> None:
    """Raise WebhookRejected unless a secret signed ``body`` within the tolerance of ``now``."""
    header = _header(headers, SIGNATURE_HEADER)
    if not header:
        raise WebhookRejected("missing Stripe-Signature header: the request is not from Stripe")
    timestamp = _timestamp(header)
    if timestamp is None:
        raise WebhookRejected("Stripe-Signature header has no valid t= timestamp")
    if not secrets:
        raise WebhookRejected("no webhook secret is configured for this Stripe connection")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRejected("webhook body is not UTF-8 text") from None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(
                payload, header, secret.get_secret_value(), tolerance=None
            )
        except stripe.SignatureVerificationError:
            continue
        break
    else:
        raise WebhookRejected("no Stripe-Signature v1 signature matches a configured secret")
    age = now.timestamp() - timestamp
    if abs(age) > tolerance_seconds:
        raise WebhookRejected(
            f"Stripe-Signature timestamp is {abs(age):.0f} s {'old' if age > 0 else 'ahead'}; "
            f"the tolerance is {tolerance_seconds} s (replayed, or a clock is wrong)"
        )


def _parse(event: Mapping[str, Any], lookup_keys_needed: bool) -> WebhookResult:
    event_id = str(event["id"])
    event_type = str(event["type"])
    if event_type not in HANDLED_OBJECTS:
        return WebhookResult(event_id=event_id, event_type=event_type, ignored=True)
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    expected = HANDLED_OBJECTS[event_type]
    if not isinstance(obj, Mapping) or obj.get("object") != expected:
        found = obj.get("object") if isinstance(obj, Mapping) else None
        raise WebhookInvalid(
            f"{event_type} event {event_id} carries a {found!r} object, "
            f"not the {expected!r} this event type always carries",
            event_id=event_id,
            event_type=event_type,
        )
    try:
        ref = ObjectRef.of(obj)
    except InvalidInput:
        raise WebhookInvalid(
            f"{event_type} event {event_id} has no readable object id",
            event_id=event_id,
            event_type=event_type,
        ) from None
    if event.get("api_version") != API_VERSION:
        # Rendered in the account's or endpoint's version, not ours: read it again in ours.
        return WebhookResult(event_id, event_type, fetch_hints=[str(ref)])
    # A payload of our version that does not parse is never guessed at: ``receive`` refuses it
    # (400) and keeps it as a rejected delivery, so a platform bug is seen, not lost.
    events, needs_fetch = _from_payload(event_type, obj, lookup_keys_needed)
    hints = [str(ref)] if needs_fetch else []
    return WebhookResult(event_id=event_id, event_type=event_type, events=events, fetch_hints=hints)


def _from_payload(
    event_type: str, obj: Mapping[str, Any], lookup_keys_needed: bool
) -> tuple[list[CanonicalEvent], bool]:
    """The events a payload of the pinned version gives alone, and whether the object must be
    read through the API for the rest (a cut-short list, an invoice behind a payment)."""
    if event_type == "invoice.paid":
        if (obj.get("lines") or {}).get("has_more") or lookup_keys_needed:
            return [], True
        return list(invoice_events(obj)), False
    if event_type == "invoice.voided":
        return list(invoice_events(obj)), False
    if event_type.startswith("checkout.session."):
        if not session_is_purchase(obj):
            return [], False
        items = obj.get("line_items")
        if items is None or items.get("has_more"):
            return [], True  # a session's line items only come when expanded
        return list(session_purchases(obj, list(items.get("data") or []))), False
    if event_type == "credit_note.created":
        if (obj.get("lines") or {}).get("has_more"):
            return [], True
        return list(credit_note_events(obj)), False
    if event_type.startswith("refund."):
        # the invoice it returns money on is found through the API
        return [], obj.get("status") in ("succeeded", "failed")
    if event_type == "charge.refunded":
        return [], True  # a charge's refunds are listed, not embedded
    return [], obj.get("status") in ("lost", "won")  # charge.dispute.closed


def receive(
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
    secrets: Sequence[SecretStr],
    *,
    tolerance_seconds: int = 300,
    lookup_keys_needed: bool = False,
) -> WebhookResult:
    """Verify and parse one delivery. The same delivery always gives the same result."""
    verify(headers, body, secrets, now, tolerance_seconds)
    event = _event(body)
    try:
        return _parse(event, lookup_keys_needed)
    except UNREADABLE as exc:
        reason = f"missing field {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
        raise WebhookInvalid(
            f"{event['type']} {event['id']}: data.object is not a valid "
            f"{event['data']['object'].get('object', 'object')}: {reason[:500]}",
            event_id=event["id"],
            event_type=event["type"],
        ) from None


# What reading a signed payload of unexpected shape raises: a field missing, text where a number
# belongs, a timestamp beyond the calendar, a value the canonical models refuse.
UNREADABLE = (
    KeyError,
    TypeError,
    ValueError,  # pydantic's ValidationError too
    AttributeError,
    OverflowError,
    OSError,
    InvalidInput,
)


def _event(body: bytes) -> dict[str, Any]:
    """The signed body as a Stripe event envelope: an id, a type and an object under data."""
    try:
        event = json.loads(body)
    except RecursionError:
        raise WebhookInvalid("signed webhook body nests too deeply to be an event") from None
    except ValueError:
        raise WebhookInvalid("signed webhook body is not JSON") from None
    if not isinstance(event, dict) or event.get("object") != "event":
        raise WebhookInvalid('signed webhook body is not a Stripe event (no "object": "event")')
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise WebhookInvalid(f"the event id is {json.dumps(event_id)}, not a non-empty string")
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise WebhookInvalid(f"event {event_id} has no type", event_id=event_id)
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise WebhookInvalid(
            f"event {event_id}: data.object is not an object",
            event_id=event_id,
            event_type=event_type,
        )
    return event


class StripeReceiver:
    """WebhookReceiver for one Stripe endpoint (one or more signing secrets)."""

    def __init__(self, settings: StripeSettings) -> None:
        settings.require("webhook_secrets", "receiving Stripe webhooks")
        require_pinned_api_version()
        self._settings = settings

    def receive(self, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookResult:
        return receive(
            headers,
            body,
            now,
            self._settings.webhook_secrets,
            tolerance_seconds=self._settings.webhook_tolerance_seconds,
            lookup_keys_needed=self._settings.price_lookup_keys,
        )


def make_receiver(settings: Mapping[str, Any]) -> StripeReceiver:
    return StripeReceiver(load_settings(settings))
