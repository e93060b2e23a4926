"""POST /webhooks/{connection}: verified deliveries stored and applied after the answer;
forgeries, oversized bodies and unknown connections refused with nothing stored."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection as SqlConnection
from sqlalchemy import select, text, update

from bench.webhooks import signed_delivery, stripe_event
from connector.api.drain import Drainer
from connector.recognition.control import LOCK_KEY as recognition_lock
from connector.runtime import Runtime
from connector.settings import Connection
from connector.store.tables import accounts
from connector.sync.tables import webhook_inbox
from tests.test_api_support import (
    STRIPE_SECRET,
    client_for,
    invoice_paid,
    make_runtime,
    sample,
    signed,
)


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(
        db_url,
        tmp_path,
        connections={
            "stripe": Connection(platform="stripe", settings={"webhook_secrets": [STRIPE_SECRET]}),
            "stripe_old": Connection(
                platform="stripe", settings={"webhook_secrets": [STRIPE_SECRET]}, enabled=False
            ),
            "stripe_unsigned": Connection(platform="stripe", settings={}),
        },
    )
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def inbox_rows(runtime: Runtime) -> list[tuple[str, str, str]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(
                webhook_inbox.c.connection, webhook_inbox.c.event_id, webhook_inbox.c.status
            ).order_by(webhook_inbox.c.id)
        ).all()
    return [tuple(row) for row in rows]


def test_a_signed_invoice_is_acknowledged_stored_and_becomes_pools(
    client: TestClient, runtime: Runtime
) -> None:
    before = sample("creditsync_webhooks_total", connection="stripe", outcome="accepted")
    body, headers = invoice_paid("evt_1", "in_1", "cus_ada")
    answer = client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"received": True, "duplicate": False, "event_id": "evt_1"}
    assert inbox_rows(runtime) == [("stripe", "evt_1", "processed")]
    balance = runtime.ledger.balance("cus_ada")
    assert balance.total == 12_000  # 10,000 credits + 2,000 bonus (mappings/examples)
    assert sorted(p.credits_granted for p in balance.pools) == [2_000, 10_000]
    assert sample("creditsync_webhooks_total", connection="stripe", outcome="accepted") == (
        before + 1
    )


def test_a_duplicate_delivery_is_acknowledged_and_ignored(
    client: TestClient, runtime: Runtime
) -> None:
    body, headers = invoice_paid("evt_2", "in_2", "cus_bob")
    first = client.post("/webhooks/stripe", content=body, headers=headers)
    before = sample("creditsync_webhooks_total", connection="stripe", outcome="duplicate")
    again = client.post("/webhooks/stripe", content=body, headers=headers)
    assert first.json()["duplicate"] is False
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert len(inbox_rows(runtime)) == 1
    assert runtime.ledger.balance("cus_bob").total == 12_000
    assert len(runtime.ledger.account_pools("cus_bob")) == 2
    assert sample("creditsync_webhooks_total", connection="stripe", outcome="duplicate") == (
        before + 1
    )


@pytest.mark.parametrize(
    "forge",
    ["wrong secret", "tampered body", "no signature", "stale", "from the future"],
)
def test_a_bad_signature_is_400_and_nothing_is_stored(
    client: TestClient, runtime: Runtime, forge: str
) -> None:
    before = sample("creditsync_webhooks_total", connection="stripe", outcome="rejected")
    now = datetime.now(UTC)
    body, headers = invoice_paid("evt_3", "in_3", "cus_eve")
    if forge == "wrong secret":
        body, headers = invoice_paid("evt_3", "in_3", "cus_eve", secret="whsec_someone_else")
    elif forge == "tampered body":
        body = body.replace(b'"amount_paid":10000', b'"amount_paid":99999')
    elif forge == "no signature":
        del headers["Stripe-Signature"]
    elif forge == "stale":
        body, headers = invoice_paid("evt_3", "in_3", "cus_eve", signed_at=now - timedelta(hours=1))
    else:
        body, headers = invoice_paid("evt_3", "in_3", "cus_eve", signed_at=now + timedelta(hours=1))
    answer = client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "webhook_rejected"
    assert inbox_rows(runtime) == []
    assert sample("creditsync_webhooks_total", connection="stripe", outcome="rejected") == (
        before + 1
    )


def test_a_body_over_one_mebibyte_is_413_by_its_declared_length(
    client: TestClient, runtime: Runtime
) -> None:
    big = b"x" * (runtime.settings.max_body_bytes + 1)
    answer = client.post("/webhooks/stripe", content=big, headers={"Stripe-Signature": "t=1"})
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert inbox_rows(runtime) == []


def test_a_body_over_one_mebibyte_is_413_when_streamed_without_a_length(
    client: TestClient, runtime: Runtime
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(17):
            yield b"y" * 65_536  # 17 x 64 KiB > 1 MiB

    answer = client.post("/webhooks/stripe", content=chunks(), headers={"Stripe-Signature": "t=1"})
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    assert answer.status_code == 413
    assert inbox_rows(runtime) == []


def test_a_body_of_exactly_one_mebibyte_is_read(client: TestClient, runtime: Runtime) -> None:
    now = int(datetime.now(UTC).timestamp())
    event = stripe_event("evt_big", "customer.updated", {"id": "cus_1", "object": "customer"}, now)
    text = json.dumps(event, separators=(",", ":"))
    event["data"]["object"]["description"] = "z" * (
        runtime.settings.max_body_bytes - len(text) - len(',"description":""')
    )
    body, headers = signed_delivery(event, STRIPE_SECRET, now)
    assert len(body) == runtime.settings.max_body_bytes
    answer = client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert inbox_rows(runtime) == [("stripe", "evt_big", "ignored")]


def test_an_unknown_connection_is_404(client: TestClient, runtime: Runtime) -> None:
    body, headers = invoice_paid("evt_4", "in_4", "cus_x")
    answer = client.post("/webhooks/chargebee_eu", content=body, headers=headers)
    assert answer.status_code == 404
    assert "chargebee_eu" in answer.json()["error"]["message"]
    assert inbox_rows(runtime) == []


def test_a_disabled_connection_is_404(client: TestClient, runtime: Runtime) -> None:
    body, headers = invoice_paid("evt_5", "in_5", "cus_x")
    answer = client.post("/webhooks/stripe_old", content=body, headers=headers)
    assert answer.status_code == 404
    assert "disabled" in answer.json()["error"]["message"]
    assert inbox_rows(runtime) == []


def test_a_connection_without_a_webhook_secret_is_503_and_stores_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    body, headers = invoice_paid("evt_6", "in_6", "cus_x")
    answer = client.post("/webhooks/stripe_unsigned", content=body, headers=headers)
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "connection_misconfigured"
    assert "webhook_secrets" in error["message"]
    assert inbox_rows(runtime) == []


def test_an_event_type_creditsync_does_not_act_on_is_acknowledged_and_not_applied(
    client: TestClient, runtime: Runtime
) -> None:
    now = int(datetime.now(UTC).timestamp())
    event = stripe_event("evt_7", "customer.created", {"id": "cus_new", "object": "customer"}, now)
    answer = client.post("/webhooks/stripe", content=signed(event)[0], headers=signed(event)[1])
    assert answer.status_code == 200
    assert answer.json()["duplicate"] is False
    assert inbox_rows(runtime) == [("stripe", "evt_7", "ignored")]


def test_webhooks_need_no_bearer_token_and_ignore_one(client: TestClient) -> None:
    body, headers = invoice_paid("evt_8", "in_8", "cus_y")
    answer = client.post(
        "/webhooks/stripe", content=body, headers={**headers, "Authorization": "Bearer junk"}
    )
    assert answer.status_code == 200


def test_the_answer_comes_before_processing(runtime: Runtime) -> None:
    """With processing held back, the delivery is already acknowledged and stored pending."""
    from connector.api import create_app

    app = create_app(runtime)
    calls: list[str] = []

    def held_back(connection: str, _limit: int) -> int:
        calls.append(connection)
        return 0

    with client_for(runtime, app) as client:
        app.state.drainer = Drainer(held_back, gather=0, share=1)
        body, headers = invoice_paid("evt_9", "in_9", "cus_z")
        answer = client.post("/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 200
    assert calls == ["stripe"]
    assert inbox_rows(runtime) == [("stripe", "evt_9", "pending")]


def _hold_what_a_sync_and_recognition_hold(conn: SqlConnection) -> None:
    """Inside ``conn``'s open transaction: the locks a sync page, a drain and a recognition run
    take (account rows, inbox rows being marked processed, recognition's advisory lock and its
    SHARE lock on the ledger tables; on SQLite, the write lock)."""
    conn.execute(select(accounts.c.id).with_for_update() if is_pg(conn) else select(accounts.c.id))
    conn.execute(update(webhook_inbox).values(attempts=webhook_inbox.c.attempts))
    if is_pg(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": recognition_lock})
        conn.execute(text("LOCK TABLE ledger_entries, pools, recognition_money IN SHARE MODE"))


def is_pg(conn: SqlConnection) -> bool:
    return conn.dialect.name == "postgresql"


def test_acks_are_not_held_by_a_long_sync_transaction(runtime: Runtime) -> None:
    """PostgreSQL: deliveries are stored and answered while a sync and a recognition run hold
    their locks. SQLite has one writer: they wait for it, then are all answered 200 (none fails).
    """
    from connector.api import create_app

    app = create_app(runtime)
    with client_for(runtime, app) as client:
        body, headers = invoice_paid("evt_before", "in_before", "cus_hold")
        assert client.post("/webhooks/stripe", content=body, headers=headers).status_code == 200
        app.state.drainer = Drainer(lambda _c, _n: 0, gather=0, share=1)  # keep apply out of it
        answers: dict[str, int] = {}

        def deliver(n: int) -> None:
            body, headers = invoice_paid(f"evt_h{n}", f"in_h{n}", "cus_hold")
            answers[f"evt_h{n}"] = client.post(
                "/webhooks/stripe", content=body, headers=headers
            ).status_code

        blocker = runtime.engine.connect()
        try:
            tx = blocker.begin()
            _hold_what_a_sync_and_recognition_hold(blocker)
            senders = [threading.Thread(target=deliver, args=(n,)) for n in range(3)]
            for sender in senders:
                sender.start()
            if is_pg(blocker):
                for sender in senders:
                    sender.join(timeout=60)
                assert answers == {"evt_h0": 200, "evt_h1": 200, "evt_h2": 200}
                assert tx.is_active  # answered while the locks were still held
            else:
                assert answers == {}  # behind the write lock
            tx.commit()
        finally:
            blocker.close()
        for sender in senders:
            sender.join(timeout=60)
    assert answers == {"evt_h0": 200, "evt_h1": 200, "evt_h2": 200}
    assert {e for _, e, _ in inbox_rows(runtime)} == {"evt_before", "evt_h0", "evt_h1", "evt_h2"}
