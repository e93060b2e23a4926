"""End to end over real HTTP: uvicorn on 127.0.0.1, a signed Stripe webhook in, a pool, a
balance and a burn out through the API."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connector.cli.server_cmd import build_server, run_server
from tests.test_api_support import auth, invoice_paid, make_settings

HOST = "127.0.0.1"


@pytest.fixture
def base_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))  # a free port, held from here on: nobody can take it meanwhile
    port = sock.getsockname()[1]
    server = build_server(
        make_settings(db_url, tmp_path), HOST, port, scheduler=False, log_level="warning"
    )
    thread = threading.Thread(target=run_server, args=(server, [sock]), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start within 20 s"
        time.sleep(0.05)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"


def wait_for_balance(client: httpx.Client, account: str, expected: int) -> dict[str, object]:
    """Processing happens after the answer: poll (bounded) until the pools are in."""
    deadline = time.monotonic() + 20
    while True:
        answer = client.get(f"/v1/accounts/{account}/balance", headers=auth("read"))
        if answer.status_code == 200 and answer.json()["total"] == expected:
            body: dict[str, object] = answer.json()
            return body
        assert time.monotonic() < deadline, f"balance never reached {expected}: {answer.text}"
        time.sleep(0.1)


def test_a_signed_stripe_webhook_becomes_a_pool_a_balance_and_burnable_credits(
    base_url: str,
) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        assert client.get("/readyz").json()["status"] == "ready"
        body, headers = invoice_paid("evt_e2e_1", "in_e2e_1", "cus_e2e")
        answer = client.post("/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"received": True, "duplicate": False, "event_id": "evt_e2e_1"}

        balance = wait_for_balance(client, "cus_e2e", 12_000)
        assert balance["account_id"] == "cus_e2e"

        pools = client.get("/v1/accounts/cus_e2e/pools", headers=auth("read")).json()["pools"]
        assert sorted((p["kind"], p["credits_granted"]) for p in pools) == [
            ("bonus", 2_000),
            ("paid", 10_000),
        ]
        assert {p["source"]["object_id"] for p in pools} == {"in_e2e_1"}
        assert {p["source"]["platform"] for p in pools} == {"stripe"}
        assert sum(p["revenue_amount"] for p in pools) == 10_000  # the invoice's net amount

        again = client.post("/webhooks/stripe", content=body, headers=headers)
        assert again.json()["duplicate"] is True

        rate = client.post(
            "/v1/admin/rates",
            json={
                "action": "query",
                "credits_per_unit": "1.5",
                "effective_from": "2026-01-01T00:00:00Z",
            },
            headers=auth("admin"),
        )
        assert rate.status_code == 201, rate.text
        burned = client.post(
            "/v1/burns",
            json={"account_id": "cus_e2e", "action": "query", "units": 100},
            headers={**auth("burn"), "Idempotency-Key": "e2e-burn-1"},
        )
        assert burned.status_code == 200, burned.text
        assert burned.json()["credits"] == 150
        assert burned.json()["balance"] == 11_850
        final = client.get("/v1/accounts/cus_e2e/balance", headers=auth("read")).json()
        assert final["total"] == 11_850
        metrics = client.get("/metrics").text
        assert 'creditsync_webhooks_total{connection="stripe",outcome="accepted"}' in metrics


def test_a_forged_webhook_over_real_http_is_400(base_url: str) -> None:
    body, headers = invoice_paid("evt_e2e_2", "in_e2e_2", "cus_forged", secret="whsec_wrong")
    with httpx.Client(base_url=base_url, timeout=10) as client:
        answer = client.post("/webhooks/stripe", content=body, headers=headers)
        assert answer.status_code == 400
        missing = client.get("/v1/accounts/cus_forged/balance", headers=auth("read"))
        assert missing.status_code == 404
