"""POST /v1/burns: single burns, batches, idempotency, and every refusal's status and body."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connector.runtime import Runtime
from connector.store.tables import burns
from tests.test_api_support import auth, client_for, make_runtime, sample, seed


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    seed(rt, "acme", 1000, rate="2")
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def burn(units: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "account_id": "acme",
        "action": "query",
        "units": units,
        "occurred_at": "2026-02-01T10:00:00Z",
        **extra,
    }


def burn_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(burns)).scalar_one())


def test_a_burn_answers_credits_allocations_and_the_new_balance(
    client: TestClient, runtime: Runtime
) -> None:
    before = sample("creditsync_burns_total", outcome="burned")
    credits_before = sample("creditsync_credits_burned_total")
    answer = client.post(
        "/v1/burns", json=burn(3), headers={**auth("burn"), "Idempotency-Key": "k-1"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["credits"] == 6  # 3 units at 2 credits each
    assert body["balance"] == 994
    assert body["idempotency_key"] == "k-1"
    assert body["replayed"] is False
    assert body["rate_version"] == 1
    assert sum(a["credits"] for a in body["allocations"]) == 6
    assert runtime.ledger.balance("acme").total == 994
    assert sample("creditsync_burns_total", outcome="burned") == before + 1
    assert sample("creditsync_credits_burned_total") == credits_before + 6


def test_a_retry_with_the_same_key_replays_and_burns_nothing_more(
    client: TestClient, runtime: Runtime
) -> None:
    first = client.post("/v1/burns", json=burn(idempotency_key="k-2"), headers=auth("burn"))
    again = client.post("/v1/burns", json=burn(idempotency_key="k-2"), headers=auth("burn"))
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert again.json()["burn_id"] == first.json()["burn_id"]
    assert again.json()["balance"] == 994
    assert burn_count(runtime) == 1


def test_a_retry_of_an_undated_burn_replays_instead_of_conflicting(
    client: TestClient, runtime: Runtime
) -> None:
    undated = {"account_id": "acme", "action": "query", "units": 1, "idempotency_key": "k-3"}
    first = client.post("/v1/burns", json=undated, headers=auth("burn"))
    again = client.post("/v1/burns", json=undated, headers=auth("burn"))
    assert first.status_code == 200 and again.status_code == 200, again.text
    assert again.json()["replayed"] is True
    assert again.json()["occurred_at"] == first.json()["occurred_at"]
    changed = client.post("/v1/burns", json={**undated, "units": 2}, headers=auth("burn"))
    assert changed.status_code == 409
    assert burn_count(runtime) == 1


def test_the_key_is_required_and_the_error_names_the_field(
    client: TestClient, runtime: Runtime
) -> None:
    answer = client.post("/v1/burns", json=burn(), headers=auth("burn"))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["field"] == "idempotency_key"
    assert "Idempotency-Key" in error["fix"]
    assert burn_count(runtime) == 0


def test_a_key_in_the_body_and_a_different_one_in_the_header_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    answer = client.post(
        "/v1/burns",
        json=burn(idempotency_key="body-key"),
        headers={**auth("burn"), "Idempotency-Key": "header-key"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "idempotency_key"
    assert burn_count(runtime) == 0


def test_a_refused_burn_is_402_with_requested_and_available(
    client: TestClient, runtime: Runtime
) -> None:
    before = sample("creditsync_burns_total", outcome="refused")
    answer = client.post(
        "/v1/burns", json=burn(501, idempotency_key="too-much"), headers=auth("burn")
    )
    assert answer.status_code == 402
    error = answer.json()["error"]
    assert error["code"] == "insufficient_credits"
    assert error["requested"] == 1002
    assert error["available"] == 1000
    assert "nothing was burned" in error["message"]
    assert runtime.ledger.balance("acme").total == 1000
    assert burn_count(runtime) == 0
    assert sample("creditsync_burns_total", outcome="refused") == before + 1


def test_the_same_key_for_a_different_burn_is_409(client: TestClient, runtime: Runtime) -> None:
    client.post("/v1/burns", json=burn(1, idempotency_key="k-4"), headers=auth("burn"))
    answer = client.post("/v1/burns", json=burn(2, idempotency_key="k-4"), headers=auth("burn"))
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "idempotency_conflict"
    assert runtime.ledger.balance("acme").total == 998


def test_an_unknown_account_is_404(client: TestClient) -> None:
    answer = client.post(
        "/v1/burns",
        json={**burn(idempotency_key="k-5"), "account_id": "nobody"},
        headers=auth("burn"),
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    assert "nobody" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"units": 0}, "units"),
        ({"units": "3"}, "units"),
        ({"units": 1.5}, "units"),
        ({"action": "teleport"}, "action"),
        ({"occurred_at": "2026-02-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"account_id": None}, "account_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    client: TestClient, runtime: Runtime, change: dict[str, Any], field: str
) -> None:
    answer = client.post(
        "/v1/burns", json={**burn(idempotency_key="k-6"), **change}, headers=auth("burn")
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["field"] == field
    assert error["message"]
    assert burn_count(runtime) == 0


def test_a_body_that_is_not_json_is_422(client: TestClient) -> None:
    answer = client.post(
        "/v1/burns",
        content=b"{not json",
        headers={**auth("burn"), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_input"


def test_a_batch_answers_each_item_and_a_refusal_spoils_no_other(
    client: TestClient, runtime: Runtime
) -> None:
    seed(runtime, "globex", 10, object_id="inv_globex")
    batch = {
        "burns": [
            burn(1, idempotency_key="b-1"),
            {**burn(6, idempotency_key="b-2"), "account_id": "globex"},  # 12 > 10
            burn(2),  # no key
            {**burn(1, idempotency_key="b-4"), "account_id": "nobody"},
            burn(4, idempotency_key="b-5"),
        ]
    }
    answer = client.post("/v1/burns", json=batch, headers=auth("burn"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [item["ok"] for item in body["results"]] == [True, False, False, False, True]
    assert [item["index"] for item in body["results"]] == [0, 1, 2, 3, 4]
    assert body["burned"] == 2 and body["refused"] == 3
    errors = [item["error"] for item in body["results"]]
    assert errors[1]["code"] == "insufficient_credits"
    assert (errors[1]["requested"], errors[1]["available"]) == (12, 10)
    assert errors[2]["code"] == "invalid_input"
    assert errors[2]["field"] == "burns.2.idempotency_key"
    assert errors[3]["code"] == "not_found"
    assert body["results"][4]["burn"]["balance"] == 1000 - 2 - 8
    assert runtime.ledger.balance("acme").total == 990
    assert runtime.ledger.balance("globex").total == 10


def test_a_batch_sent_again_replays_every_item(client: TestClient, runtime: Runtime) -> None:
    batch = {"burns": [burn(1, idempotency_key="r-1"), burn(2, idempotency_key="r-2")]}
    client.post("/v1/burns", json=batch, headers=auth("burn"))
    again = client.post("/v1/burns", json=batch, headers=auth("burn"))
    assert [item["burn"]["replayed"] for item in again.json()["results"]] == [True, True]
    assert runtime.ledger.balance("acme").total == 994


def test_a_batch_with_an_idempotency_key_header_is_refused(client: TestClient) -> None:
    answer = client.post(
        "/v1/burns",
        json={"burns": [burn(idempotency_key="h-1")]},
        headers={**auth("burn"), "Idempotency-Key": "one-for-all"},
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "Idempotency-Key"


def test_an_empty_batch_is_refused(client: TestClient) -> None:
    answer = client.post("/v1/burns", json={"burns": []}, headers=auth("burn"))
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "burns"


def test_a_malformed_batch_item_names_its_index(client: TestClient, runtime: Runtime) -> None:
    malformed = {**burn(idempotency_key="m-2"), "units": "lots"}
    batch = {"burns": [burn(1, idempotency_key="m-1"), malformed]}
    answer = client.post("/v1/burns", json=batch, headers=auth("burn"))
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "burns.1.units"
    assert burn_count(runtime) == 0


def test_a_burn_dated_beyond_the_allowed_clock_skew_is_refused_alone(client: TestClient) -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    single = client.post(
        "/v1/burns",
        json={"account_id": "acme", "action": "query", "units": 1, "occurred_at": ahead},
        headers={**auth("burn"), "Idempotency-Key": "future-1"},
    )
    assert single.status_code == 422
    assert single.json()["error"]["field"] == "occurred_at"
    batch = client.post(
        "/v1/burns",
        json={
            "burns": [
                {
                    "account_id": "acme",
                    "action": "query",
                    "units": 1,
                    "idempotency_key": "f-2",
                    "occurred_at": ahead,
                },
                {"account_id": "acme", "action": "query", "units": 1, "idempotency_key": "f-3"},
            ]
        },
        headers=auth("burn"),
    )
    results = batch.json()["results"]
    assert [r["ok"] for r in results] == [False, True]
    assert results[0]["error"]["field"] == "burns.0.occurred_at"
