"""Zuora callouts: non-preemptive basic auth (401 + WWW-Authenticate first), HMAC with the
tenant's header, algorithm and signed fields, dedupe by Zuora-Notification-Id, and the route."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.zuora.webhook import ZuoraReceiver, make_receiver
from connector.errors import InvalidInput
from connector.ports import WebhookChallenge, WebhookReceiver, WebhookRejected
from connector.runtime import Runtime
from connector.settings import Connection
from connector.sync.tables import webhook_inbox
from tests.test_api_support import client_for, make_runtime
from tests.zuora.zuora_fake import (
    CALLOUT_PASSWORD,
    CALLOUT_USER,
    HMAC_KEY,
    ZuoraFake,
    basic_header,
    callout,
    callout_body,
    connection_settings,
    zuora_settings,
)
from tests.zuora.zuora_payloads import invoice

NOW = datetime(2026, 1, 5, 10, tzinfo=UTC)


def basic_receiver() -> ZuoraReceiver:
    return ZuoraReceiver(zuora_settings())


def hmac_receiver(**overrides: Any) -> ZuoraReceiver:
    chosen: dict[str, Any] = {
        "callout_auth": "hmac",
        "hmac_secrets": ["old-key-rotated-out", HMAC_KEY],
        "hmac_header": "X-Zuora-Signature",
        **overrides,
    }
    return ZuoraReceiver(zuora_settings(**chosen))


def test_the_receiver_is_a_webhook_receiver() -> None:
    assert isinstance(basic_receiver(), WebhookReceiver)


def test_a_callout_without_credentials_is_challenged() -> None:
    headers, body = callout("Invoice", "inv1", "n-1")

    with pytest.raises(WebhookChallenge) as caught:
        basic_receiver().receive(headers, body, NOW)

    assert caught.value.headers == {"WWW-Authenticate": 'Basic realm="creditsync", charset="UTF-8"'}


@pytest.mark.parametrize(
    ("user", "password"),
    [(CALLOUT_USER, "wrong"), ("someone", CALLOUT_PASSWORD), ("", "")],
)
def test_wrong_credentials_are_rejected(user: str, password: str) -> None:
    headers, body = callout("Invoice", "inv1", "n-1", user=user, password=password)

    with pytest.raises(WebhookRejected) as caught:
        basic_receiver().receive(headers, body, NOW)
    assert not isinstance(caught.value, WebhookChallenge)


def test_an_authenticated_callout_names_the_object_to_re_read() -> None:
    headers, body = callout(
        "CreditMemo", "cm1", "n-7", user=CALLOUT_USER, password=CALLOUT_PASSWORD
    )

    result = basic_receiver().receive(headers, body, NOW)

    assert (result.event_id, result.fetch_hints, result.events) == ("n-7", ["creditmemo:cm1"], [])


def test_a_retried_callout_keeps_its_notification_id() -> None:
    """Zuora-Request-Id changes on each retry; the delivery id does not."""
    first = callout(
        "Invoice", "inv1", "n-9", user=CALLOUT_USER, password=CALLOUT_PASSWORD, request_id="r1"
    )
    again = callout(
        "Invoice", "inv1", "n-9", user=CALLOUT_USER, password=CALLOUT_PASSWORD, request_id="r2"
    )

    receiver = basic_receiver()
    assert receiver.receive(*first, NOW) == receiver.receive(*again, NOW)


def test_callouts_for_other_objects_are_verified_and_ignored() -> None:
    headers, body = callout(
        "Subscription", "sub1", "n-2", user=CALLOUT_USER, password=CALLOUT_PASSWORD
    )

    result = basic_receiver().receive(headers, body, NOW)

    assert result.ignored and result.fetch_hints == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"Zuora-Notification-Id": ""}, "Zuora-Notification-Id"),
        ({"body": b"objectType=Invoice"}, "not JSON"),
    ],
)
def test_malformed_callouts_are_rejected(change: dict[str, Any], problem: str) -> None:
    headers, body = callout("Invoice", "inv1", "n-1", user=CALLOUT_USER, password=CALLOUT_PASSWORD)
    body = change.pop("body", body)
    headers.update(change)

    with pytest.raises(WebhookRejected, match=problem):
        basic_receiver().receive(headers, body, NOW)


def test_an_hmac_signed_callout_verifies_with_any_configured_key() -> None:
    headers, body = callout("Refund", "rf1", "n-3", hmac_key=HMAC_KEY)

    assert hmac_receiver().receive(headers, body, NOW).fetch_hints == ["refund:rf1"]


@pytest.mark.parametrize("tamper", ["body", "signature", "missing"])
def test_an_hmac_callout_that_does_not_match_is_rejected(tamper: str) -> None:
    headers, body = callout("Refund", "rf1", "n-3", hmac_key=HMAC_KEY)
    if tamper == "body":
        body = callout_body("Refund", "rf2")
    elif tamper == "signature":
        headers["X-Zuora-Signature"] = base64.b64encode(b"x" * 32).decode()
    else:
        del headers["X-Zuora-Signature"]

    with pytest.raises(WebhookRejected):
        hmac_receiver().receive(headers, body, NOW)


def test_hmac_over_the_fields_and_headers_the_tenant_chose() -> None:
    """A template signing objectId, a timestamp header and the event type, hex, SHA-512."""
    body = callout_body("Invoice", "inv1")
    signed = b"inv1|1767607200|InvoicePosted"
    signature = hmac.new(HMAC_KEY.encode(), signed, hashlib.sha512).hexdigest()
    headers = {"Zuora-Notification-Id": "n-4", "X-Timestamp": "1767607200", "X-Sig": signature}
    receiver = hmac_receiver(
        hmac_header="X-Sig",
        hmac_algorithm="sha512",
        hmac_encoding="hex",
        hmac_signed_fields=["objectId", "header:X-Timestamp", "eventType"],
        hmac_separator="|",
    )

    assert receiver.receive(headers, body, NOW).fetch_hints == ["invoice:inv1"]
    headers["X-Timestamp"] = "1767607201"
    with pytest.raises(WebhookRejected):
        receiver.receive(headers, body, NOW)


def test_a_receiver_needs_its_credentials() -> None:
    with pytest.raises(InvalidInput, match="callout_credentials"):
        make_receiver({"base_url": "https://rest.na.zuora.com", "callout_credentials": []})
    with pytest.raises(InvalidInput, match="hmac_secrets"):
        make_receiver({"base_url": "https://rest.na.zuora.com", "callout_auth": "hmac"})


# -- through the HTTP route ---------------------------------------------------------------------


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    raw = connection_settings()
    rt = make_runtime(
        db_url, tmp_path, connections={"zuora": Connection(platform="zuora", settings=raw)}
    )
    yield rt
    rt.engine.dispose()


def inbox(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(webhook_inbox.c.event_id, webhook_inbox.c.status).order_by(webhook_inbox.c.id)
        )
        return [(r[0], r[1]) for r in rows]


def test_the_route_challenges_then_stores_once_and_applies(
    runtime: Runtime, fake: ZuoraFake
) -> None:
    fake.add("invoices", invoice("inv1"))
    headers, body = callout("Invoice", "inv1", "n-100")
    with client_for(runtime) as client:
        challenged = client.post("/webhooks/zuora", content=body, headers=headers)
        assert challenged.status_code == 401
        assert challenged.headers["WWW-Authenticate"].startswith('Basic realm="creditsync"')
        assert inbox(runtime) == []

        headers["Authorization"] = basic_header(CALLOUT_USER, CALLOUT_PASSWORD)
        stored = client.post("/webhooks/zuora", content=body, headers=headers)
        again = client.post("/webhooks/zuora", content=body, headers=headers)
        wrong = {**headers, "Authorization": basic_header(CALLOUT_USER, "nope")}
        refused = client.post("/webhooks/zuora", content=body, headers=wrong)

    assert stored.status_code == 200 and stored.json()["duplicate"] is False
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert refused.status_code == 400
    assert inbox(runtime) == [("n-100", "processed")]
    assert len(fake.calls("GET", "/object-query/invoices/inv1")) == 1  # re-read, once
