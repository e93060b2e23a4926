"""Bearer tokens and scopes: no token, no access; admin implies burn and read."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.runtime import Runtime
from tests.test_api_support import TOKENS, auth, client_for, make_runtime, seed

BURN = {
    "account_id": "acme",
    "action": "query",
    "units": 1,
    "occurred_at": "2026-02-01T00:00:00Z",
    "idempotency_key": "auth-1",
}


@pytest.fixture
def runtime(sqlite_engine: object, tmp_path: Path) -> Iterator[Runtime]:
    url = str(sqlite_engine.url)  # type: ignore[attr-defined]
    rt = make_runtime(url, tmp_path)
    seed(rt)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def test_no_token_is_401_with_a_bearer_challenge(client: TestClient) -> None:
    answer = client.get("/v1/accounts/acme/balance")
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["error"]["code"] == "unauthorized"
    assert "Authorization: Bearer" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-token",
        f"Bearer {TOKENS['admin'][:-1]}",  # a prefix of a real token
        f"Bearer {TOKENS['admin']}x",
        f"Basic {TOKENS['admin']}",
        TOKENS["admin"],
    ],
)
def test_a_wrong_token_is_401(client: TestClient, header: str) -> None:
    answer = client.get("/v1/accounts/acme/balance", headers={"Authorization": header})
    assert answer.status_code == 401
    assert "Bearer" in answer.headers["WWW-Authenticate"]


def test_an_unknown_token_says_invalid_token(client: TestClient) -> None:
    answer = client.get("/v1/accounts/acme/balance", headers={"Authorization": "Bearer nope"})
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("scope", "method", "path", "allowed"),
    [
        ("read", "GET", "/v1/accounts/acme/balance", True),
        ("burn", "GET", "/v1/accounts/acme/balance", False),
        ("burn", "POST", "/v1/burns", True),
        ("read", "POST", "/v1/burns", False),
        ("admin", "POST", "/v1/burns", True),
        ("admin", "GET", "/v1/accounts/acme/pools", True),
        ("admin", "GET", "/v1/admin/rates", True),
        ("read", "GET", "/v1/admin/rates", False),
        ("burn", "GET", "/v1/admin/rates", False),
    ],
)
def test_scopes(client: TestClient, scope: str, method: str, path: str, allowed: bool) -> None:
    answer = client.request(
        method, path, json=BURN if method == "POST" else None, headers=auth(scope)
    )
    if allowed:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 403
        assert answer.json()["error"]["code"] == "forbidden"
        assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]


def test_a_forbidden_burn_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    client.post("/v1/burns", json=BURN, headers=auth("read"))
    assert runtime.ledger.balance("acme").total == 1000


def test_no_tokens_configured_means_no_access(sqlite_engine: object, tmp_path: Path) -> None:
    rt = make_runtime(str(sqlite_engine.url), tmp_path, api_tokens=[])  # type: ignore[attr-defined]
    seed(rt)
    with client_for(rt) as client:
        for headers in ({}, auth("admin"), {"Authorization": "Bearer "}):
            answer = client.get("/v1/accounts/acme/balance", headers=headers)
            assert answer.status_code == 401
            assert "no API tokens are configured" in answer.json()["error"]["message"]
        assert client.post("/v1/burns", json=BURN, headers=auth("admin")).status_code == 401
    assert rt.ledger.balance("acme").total == 1000
    rt.engine.dispose()


def test_every_configured_token_is_compared(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    for scope in ("burn", "admin"):  # the first and the last configured token
        calls.clear()
        client.get("/v1/accounts/acme/balance", headers=auth(scope))
        assert len(calls) == len(TOKENS)
    calls.clear()
    client.get("/v1/accounts/acme/balance", headers={"Authorization": "Bearer nope"})
    assert len(calls) == len(TOKENS)


def test_health_and_metrics_need_no_token(client: TestClient) -> None:
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert client.get(path).status_code == 200, path
