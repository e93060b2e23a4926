"""/healthz, /readyz, /metrics and the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.runtime import Runtime
from connector.store.migrate import head_revision
from tests.test_api_support import auth, client_for, make_runtime, make_settings, seed


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def test_healthz(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_when_the_database_is_current(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "revision": head_revision()}


def test_readyz_is_503_while_migrations_are_pending(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    runtime = Runtime.from_settings(make_settings(url, tmp_path), migrate=False)
    with client_for(runtime) as client:
        answer = client.get("/readyz")
        assert client.get("/healthz").status_code == 200  # up, but not ready
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "migrations_pending"
    assert str(head_revision()) in error["message"]
    runtime.engine.dispose()


def test_readyz_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1
    runtime = Runtime.from_settings(make_settings(url, tmp_path), migrate=False)
    with client_for(runtime) as client:
        answer = client.get("/readyz")
        metrics = client.get("/metrics")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "database_unreachable"
    assert metrics.status_code == 200  # metrics still answer without the database
    runtime.engine.dispose()


def test_metrics_expose_burns_grants_webhooks_syncs_and_the_outbox(
    client: TestClient, runtime: Runtime
) -> None:
    seed(runtime)
    client.post(
        "/v1/burns",
        json={
            "account_id": "acme",
            "action": "query",
            "units": 2,
            "occurred_at": "2026-02-01T00:00:00Z",
            "idempotency_key": "m-1",
        },
        headers=auth("burn"),
    )
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for name in (
        'creditsync_burns_total{outcome="burned"}',
        "creditsync_credits_burned_total",
        "# TYPE creditsync_grants_total counter",
        "# TYPE creditsync_webhooks_total counter",
        "# TYPE creditsync_sync_duration_seconds histogram",
        'creditsync_outbox_pending{sink="files"} 0.0',
        "# TYPE creditsync_scheduler_leader gauge",
    ):
        assert name in text, name


def test_the_openapi_document_declares_every_error_with_the_error_model(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    assert "ErrorBody" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 18
    for path, method, operation in operations:
        responses = operation["responses"]
        assert "500" in responses, (path, method)
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (path, status)
        if path.startswith("/v1/"):
            assert {"401", "403"} <= set(responses), (path, method)
    burns = document["paths"]["/v1/burns"]["post"]["responses"]
    assert {"402", "404", "409", "422"} <= set(burns)
    webhook = document["paths"]["/webhooks/{connection}"]["post"]["responses"]
    assert {"400", "404", "413"} <= set(webhook)
    assert "security" not in document["paths"]["/webhooks/{connection}"]["post"]


def test_the_docs_page_is_served(client: TestClient) -> None:
    answer = client.get("/docs")
    assert answer.status_code == 200
    assert "swagger" in answer.text.lower()


def test_an_unknown_route_answers_the_error_model(client: TestClient) -> None:
    answer = client.get("/v2/nothing")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    wrong_method = client.get("/v1/burns", headers=auth("burn"))
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
