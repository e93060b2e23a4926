"""Chargebee webhooks: basic auth against every configured credential, payloads as hints."""

from __future__ import annotations

import base64
import json

import pytest

import tests.chargebee.chargebee_payloads as p
from adapters.chargebee.settings import ChargebeeSettings
from adapters.chargebee.source import ChargebeeSource
from adapters.chargebee.webhook import HANDLED_TYPES, ChargebeeReceiver
from connector.errors import InvalidInput
from connector.events import Purchase
from connector.ports import WebhookChallenge, WebhookRejected
from tests.chargebee.chargebee_fake import NOW, FakeChargebee


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def body(event_type: str = "invoice_updated", content: dict | None = None) -> bytes:  # type: ignore[type-arg]
    content = content if content is not None else {"invoice": p.invoice()}
    return json.dumps(p.event("ev_1", event_type, content)).encode()


@pytest.fixture
def receiver(settings: ChargebeeSettings) -> ChargebeeReceiver:
    return ChargebeeReceiver(settings)


@pytest.mark.parametrize("password", ["old-password-1", "new-password-2"])
def test_either_credential_of_a_rotation_is_accepted(
    receiver: ChargebeeReceiver, password: str
) -> None:
    result = receiver.receive(basic("chargebee", password), body(), NOW)

    assert result.event_id == "ev_1"
    assert result.fetch_hints == ["invoice:inv_1"]
    assert result.events == [] and not result.ignored


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("chargebee", "wrong-password"),
        basic("someone", "old-password-1"),
        {"Authorization": "Bearer old-password-1"},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ],
    ids=["none", "wrong-password", "wrong-user", "bearer", "garbage", "no-colon"],
)
def test_anything_else_is_unauthorized(
    receiver: ChargebeeReceiver, headers: dict[str, str]
) -> None:
    with pytest.raises(WebhookChallenge):
        receiver.receive(headers, body(), NOW)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        json.dumps({"id": "ev_1"}).encode(),
        json.dumps({**p.event("ev_1", "invoice_updated", {}), "api_version": "v1"}).encode(),
    ],
    ids=["text", "list", "no-type", "api-v1"],
)
def test_an_authenticated_body_that_is_no_v2_event_is_rejected(
    receiver: ChargebeeReceiver, raw: bytes
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        receiver.receive(basic("chargebee", "old-password-1"), raw, NOW)
    assert not isinstance(caught.value, WebhookChallenge)


@pytest.mark.parametrize(
    ("event_type", "content", "hint"),
    [
        (
            "payment_succeeded",
            {"invoice": p.invoice(), "transaction": p.payment()},
            "invoice:inv_1",
        ),
        ("credit_note_created", {"credit_note": p.credit_note()}, "credit_note:cn_1"),
        ("payment_refunded", {"transaction": p.transaction()}, "transaction:txn_r1"),
        ("transaction_updated", {"transaction": p.transaction()}, "transaction:txn_r1"),
    ],
)
def test_handled_events_name_the_object_to_reread(
    receiver: ChargebeeReceiver,
    event_type: str,
    content: p.Json,
    hint: str,
) -> None:
    result = receiver.receive(basic("chargebee", "old-password-1"), body(event_type, content), NOW)

    assert event_type in HANDLED_TYPES
    assert result.fetch_hints == [hint]


def test_other_event_types_are_stored_as_ignored(receiver: ChargebeeReceiver) -> None:
    content = {"customer": p.customer()}
    result = receiver.receive(
        basic("chargebee", "old-password-1"), body("customer_changed", content), NOW
    )

    assert result.ignored and result.fetch_hints == []


def test_a_stale_payload_yields_the_newest_state_through_the_hint(
    fake: FakeChargebee, receiver: ChargebeeReceiver, source: ChargebeeSource
) -> None:
    fake.add("invoices", p.invoice(address=p.billing_address()))
    stale = body("invoice_generated", {"invoice": p.invoice(status="payment_due")})

    result = receiver.receive(basic("chargebee", "new-password-2"), stale, NOW)
    [purchase] = source.fetch_objects(result.fetch_hints)

    assert isinstance(purchase, Purchase) and purchase.source.object_id == "inv_1"


def test_a_receiver_needs_credentials() -> None:
    with pytest.raises(InvalidInput, match="webhook_credentials"):
        ChargebeeReceiver(ChargebeeSettings())
