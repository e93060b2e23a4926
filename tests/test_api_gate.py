"""Who you are before what you sent: the token is checked, and the body limited, before reading.

The streamed bodies here come from generators that count what was taken from them, so the tests
see how much of a body the server read, not only what it answered. httpx's ASGI transport pulls
the body only when the app asks for it, as a real server does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connector.api import create_app
from connector.runtime import Runtime
from connector.store.tables import burn_rates, burns
from tests.test_api_support import auth, client_for, make_runtime, seed

CHUNK = 64 * 1024
HUGE = 300 * 1024 * 1024  # 300 MB, never produced in full


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    seed(rt, "acme", 1000)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


class Stream:
    """A request body of ``size`` bytes made on demand, counting the bytes taken."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.taken = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while self.taken < self.size:
            chunk = b"x" * min(CHUNK, self.size - self.taken)
            self.taken += len(chunk)
            yield chunk


def send(app: FastAPI, method: str, path: str, **options: Any) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://creditsync") as http:
            return await http.request(method, path, **options)

    return asyncio.run(call())


def count(runtime: Runtime, table: Any) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


BODY_ROUTES = [
    ("POST", "/v1/burns", "burn"),
    ("POST", "/v1/admin/rates", "admin"),
    ("POST", "/v1/admin/mappings/reload", "admin"),
    ("POST", "/v1/admin/periods/2026-01/close", "admin"),
]


@pytest.mark.parametrize(("method", "path", "scope"), BODY_ROUTES)
def test_a_bad_body_without_a_token_is_401_not_422(
    client: TestClient, method: str, path: str, scope: str
) -> None:
    headers = {"Content-Type": "application/json"}
    answer = client.request(method, path, content=b"{not json", headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"
    assert "Bearer" in answer.headers["WWW-Authenticate"]
    wrong = "read" if scope != "read" else "burn"
    answer = client.request(method, path, content=b"{not json", headers={**headers, **auth(wrong)})
    assert answer.status_code == 403, answer.text
    assert scope in answer.json()["error"]["message"]


def test_a_bad_body_with_the_right_token_is_422(client: TestClient) -> None:
    headers = {**auth("burn"), "Content-Type": "application/json"}
    answer = client.post("/v1/burns", content=b"{not json", headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["fix"] == "send a valid JSON body"


def test_an_unknown_v1_route_needs_a_token_too(client: TestClient) -> None:
    assert client.get("/v1/nothing/here").status_code == 401
    assert client.get("/v1/nothing/here", headers=auth("read")).status_code == 404


def test_a_bad_query_without_a_token_is_401(client: TestClient) -> None:
    answer = client.get("/v1/accounts/acme/balance", params={"at": "not a time"})
    assert answer.status_code == 401


def test_300_mb_streamed_without_a_token_is_not_read(runtime: Runtime) -> None:
    body = Stream(HUGE)
    answer = send(create_app(runtime), "POST", "/v1/burns", content=body)
    assert answer.status_code == 401
    assert body.taken <= CHUNK  # at most the transport's first pull, never the body


def test_a_declared_length_over_the_limit_is_413_before_reading(runtime: Runtime) -> None:
    body = Stream(HUGE)
    headers = {**auth("burn"), "Content-Length": str(HUGE)}
    answer = send(create_app(runtime), "POST", "/v1/burns", content=body, headers=headers)
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["code"] == "too_large"
    assert str(runtime.settings.max_body_bytes) in error["message"]
    assert body.taken <= CHUNK


def test_a_body_streamed_past_the_limit_is_413_as_soon_as_it_passes(runtime: Runtime) -> None:
    body = Stream(HUGE)
    answer = send(create_app(runtime), "POST", "/v1/burns", content=body, headers=auth("burn"))
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert runtime.settings.max_body_bytes < body.taken <= runtime.settings.max_body_bytes + CHUNK


def test_webhooks_stream_past_the_limit_is_413_too(runtime: Runtime) -> None:
    body = Stream(HUGE)
    headers = {"Stripe-Signature": "t=1,v1=00"}
    answer = send(create_app(runtime), "POST", "/webhooks/stripe", content=body, headers=headers)
    assert answer.status_code == 413
    assert body.taken <= runtime.settings.max_body_bytes + CHUNK


def test_the_body_limit_is_a_setting(db_url: str, tmp_path: Path) -> None:
    runtime = make_runtime(db_url, tmp_path, max_body_bytes=2048)
    seed(runtime, "acme", 1000)
    items = [
        {"account_id": "acme", "action": "query", "units": 1, "idempotency_key": f"k-{i}"}
        for i in range(60)
    ]
    with client_for(runtime) as client:
        answer = client.post("/v1/burns", json={"burns": items}, headers=auth("burn"))
        assert answer.status_code == 413
        assert "2048" in answer.json()["error"]["message"]
        assert count(runtime, burns) == 0
        small = client.post("/v1/burns", json={"burns": items[:5]}, headers=auth("burn"))
        assert small.status_code == 200, small.text
    runtime.engine.dispose()


def test_a_content_length_that_is_not_a_number_is_400(client: TestClient, runtime: Runtime) -> None:
    answer = client.post(
        "/v1/admin/rates",
        content=b'{"action": "q", "credits_per_unit": "1"}',
        headers={**auth("admin"), "Content-Length": "ten", "Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert count(runtime, burn_rates) == 1
