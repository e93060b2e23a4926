"""Signed Stripe deliveries that are not valid events: 400 with the reason, kept for review.

Each delivery here carries a good signature, so it really came from the platform: refusing it
without a trace would hide a platform bug. It answers 400 (Stripe shows the failure on its side),
nothing reaches the inbox, and the body is kept as a rejected delivery under the admin API.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bench.webhooks import stripe_event, stripe_invoice
from connector.runtime import Runtime
from connector.sync.rejected import rejected_deliveries
from connector.sync.tables import webhook_inbox
from tests.stripe.stripe_payloads import dumps, sign
from tests.test_api_support import STRIPE_SECRET, auth, client_for, make_runtime

Json = dict[str, Any]


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def now() -> int:
    return int(datetime.now(UTC).timestamp())


def paid_event() -> Json:
    at = now()
    invoice = stripe_invoice("in_hostile", "cus_hostile", paid_at=at - 60)
    return stripe_event("evt_hostile", "invoice.paid", invoice, at - 60)


def deliver(client: TestClient, body: bytes) -> Any:
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": sign(body, STRIPE_SECRET, now()),
    }
    return client.post("/webhooks/stripe", content=body, headers=headers)


def changed(change: Callable[[Json], None]) -> bytes:
    event = copy.deepcopy(paid_event())
    change(event)
    return dumps(event)


def _invoice(event: Json) -> Json:
    found: Json = event["data"]["object"]
    return found


def _line(event: Json) -> Json:
    found: Json = _invoice(event)["lines"]["data"][0]
    return found


HOSTILE: dict[str, tuple[bytes, str]] = {
    "no type": (changed(lambda e: e.pop("type")), "has no type"),
    "data a list": (changed(lambda e: e.update(data=[1, 2])), "data.object is not an object"),
    "data.object a string": (
        changed(lambda e: e["data"].update(object="in_1")),
        "data.object is not an object",
    ),
    "invoice without currency": (
        changed(lambda e: _invoice(e).pop("currency")),
        "missing field 'currency'",
    ),
    "created as text": (
        changed(lambda e: _invoice(e).update(created="yesterday", status_transitions={})),
        "not a valid invoice",
    ),
    "quantity as text": (changed(lambda e: _line(e).update(quantity="3")), "not a valid invoice"),
    "paid_at 10^15": (
        changed(lambda e: _invoice(e)["status_transitions"].update(paid_at=10**15)),
        "not a valid invoice",
    ),
    "lone surrogate in the id": (
        changed(lambda e: e.update(id="evt_\ud800")),
        "event id contains a lone surrogate",
    ),
    "NUL in the id": (changed(lambda e: e.update(id="evt_\x00")), "contains a NUL character"),
    "an id of 300 characters": (
        changed(lambda e: e.update(id="evt_" + "x" * 296)),
        "the event id is 300 characters long",
    ),
    "lone surrogate in a customer's name": (
        changed(lambda e: _invoice(e).update(customer_name="\udfff")),
        "a text field contains a lone surrogate",
    ),
    "JSON nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    "not JSON": (b"{not json", "not JSON"),
    "not an event": (b'{"object": "invoice", "id": "in_1"}', "not a Stripe event"),
    "id null": (changed(lambda e: e.update(id=None)), "the event id is null"),
}


def counts(runtime: Runtime) -> tuple[int, int]:
    with runtime.engine.connect() as conn:
        inbox = conn.execute(select(func.count()).select_from(webhook_inbox)).scalar_one()
        kept = conn.execute(select(func.count()).select_from(rejected_deliveries)).scalar_one()
    return int(inbox), int(kept)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_signed_delivery_that_is_not_a_valid_event_is_400_and_kept(
    client: TestClient, runtime: Runtime, case: str
) -> None:
    body, reason = HOSTILE[case]
    answer = deliver(client, body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "webhook_invalid"
    assert reason in error["message"]
    assert "/v1/admin/webhooks/rejected" in error["fix"]
    assert counts(runtime) == (0, 1)

    [kept] = client.get("/v1/admin/webhooks/rejected", headers=auth("admin")).json()
    assert kept["connection"] == "stripe"
    assert reason in kept["reason"]
    assert kept["body_bytes"] == len(body)
    assert kept["event_id"] != "None"
    whole = client.get(f"/v1/admin/webhooks/rejected/{kept['id']}", headers=auth("admin"))
    assert whole.json()["body"].encode() == body


def test_an_id_that_is_null_or_unstorable_is_not_kept_as_an_id(
    client: TestClient, runtime: Runtime
) -> None:
    for case in ("id null", "lone surrogate in the id", "NUL in the id"):
        deliver(client, HOSTILE[case][0])
    kept = client.get("/v1/admin/webhooks/rejected", headers=auth("admin")).json()
    assert len(kept) == 3
    assert [k["event_id"] for k in kept] == [None, None, None]


def test_a_readable_id_and_type_are_kept_with_the_rejection(client: TestClient) -> None:
    deliver(client, HOSTILE["invoice without currency"][0])
    [kept] = client.get("/v1/admin/webhooks/rejected", headers=auth("admin")).json()
    assert (kept["event_id"], kept["event_type"]) == ("evt_hostile", "invoice.paid")


def test_the_same_body_delivered_again_is_one_rejection_counted_twice(
    client: TestClient, runtime: Runtime
) -> None:
    body = HOSTILE["no type"][0]
    deliver(client, body)
    deliver(client, body)
    [kept] = client.get("/v1/admin/webhooks/rejected", headers=auth("admin")).json()
    assert kept["deliveries"] == 2
    assert kept["last_received_at"] >= kept["first_received_at"]
    assert counts(runtime) == (0, 1)


def test_a_bad_signature_is_refused_and_not_kept(client: TestClient, runtime: Runtime) -> None:
    body = HOSTILE["no type"][0]
    headers = {"Stripe-Signature": sign(body, "whsec_someone_else", now())}
    answer = client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "webhook_rejected"
    assert counts(runtime) == (0, 0)


def test_rejected_deliveries_need_the_admin_scope(client: TestClient) -> None:
    assert client.get("/v1/admin/webhooks/rejected").status_code == 401
    assert client.get("/v1/admin/webhooks/rejected", headers=auth("read")).status_code == 403
    missing = client.get("/v1/admin/webhooks/rejected/99", headers=auth("admin"))
    assert missing.status_code == 404


def test_rejected_deliveries_filter_by_connection_newest_first(client: TestClient) -> None:
    deliver(client, HOSTILE["no type"][0])
    deliver(client, HOSTILE["not JSON"][0])
    kept = client.get("/v1/admin/webhooks/rejected", headers=auth("admin")).json()
    assert ["not JSON" in k["reason"] for k in kept] == [True, False]
    other = client.get(
        "/v1/admin/webhooks/rejected", params={"connection": "files"}, headers=auth("admin")
    )
    assert other.json() == []


def test_a_valid_delivery_still_goes_to_the_inbox(client: TestClient, runtime: Runtime) -> None:
    answer = deliver(client, dumps(paid_event()))
    assert answer.status_code == 200, answer.text
    assert counts(runtime) == (1, 0)
