"""Hostile values on the burn, batch, read and admin routes: a 4xx naming the field, never a 500.

Each refusal is checked to have written nothing: the table counts are unchanged and the ledger
still verifies. The values are the ones that once reached the database and broke there: a NUL
(PostgreSQL refuses it in text), a lone surrogate (no driver can encode it), instants at the edge
of the calendar, numbers past the 64-bit columns, rates with more digits than a rate keeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from connector.ledger import accounts
from connector.ledger.rates import MAX_BIGINT
from connector.ledger.verify import verify
from connector.runtime import Runtime
from connector.store.tables import burn_rates, burns, ledger_entries
from tests.test_api_support import auth, client_for, make_runtime, seed

OVERAGE_PLAN = "pro"  # mappings/examples/policies.toml: limit = "overage"
EDGES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    seed(rt, "acme", 1000, rate="2")
    with rt.engine.begin() as conn:
        accounts.set_plan(conn, "acme", OVERAGE_PLAN)
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def burn(key: str = "k-1", **changes: Any) -> dict[str, Any]:
    return {
        "account_id": "acme",
        "action": "query",
        "units": 3,
        "occurred_at": "2026-02-01T10:00:00Z",
        "idempotency_key": key,
        **changes,
    }


def state(runtime: Runtime) -> tuple[int, ...]:
    """Row counts of what a refused request must not have touched; the ledger must verify."""
    with runtime.engine.connect() as conn:
        assert verify(conn) == []
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (burns, ledger_entries, burn_rates)
        )


def refused(answer: Any, status: int, field: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert error["field"] == field, error
    assert error.get("fix"), error
    return error


def raw_json(value: dict[str, Any], **escaped: str) -> bytes:
    """``value`` as JSON with some fields given as raw JSON text (to send escapes such as
    ``\\ud800`` that Python's json would not produce from a str on its own)."""
    text = json.dumps(value)[:-1]
    for name, literal in escaped.items():
        text += f', "{name}": {literal}'
    return (text + "}").encode()


# --- text the database cannot store ------------------------------------------------------------

UNSTORABLE = {"NUL": '"ac\\u0000me"', "lone surrogate": '"ac\\ud800me"'}


@pytest.mark.parametrize("kind", list(UNSTORABLE))
@pytest.mark.parametrize("field", ["account_id", "action", "idempotency_key"])
def test_unstorable_text_in_a_burn_is_422_naming_the_field(
    client: TestClient, runtime: Runtime, field: str, kind: str
) -> None:
    before = state(runtime)
    fields = burn()
    fields.pop(field)
    body = raw_json(fields, **{field: UNSTORABLE[kind]})
    answer = client.post(
        "/v1/burns", content=body, headers={**auth("burn"), "Content-Type": "application/json"}
    )
    error = refused(answer, 422, field)
    assert kind.lower() in error["message"].lower()
    assert state(runtime) == before


def test_unstorable_text_in_a_batch_item_names_the_item(
    client: TestClient, runtime: Runtime
) -> None:
    before = state(runtime)
    item = burn("k-2")
    item.pop("action")
    body = (
        '{"burns": ['
        + json.dumps(burn("k-1"))
        + ", "
        + raw_json(item, action=UNSTORABLE["NUL"]).decode()
        + "]}"
    ).encode()
    answer = client.post(
        "/v1/burns", content=body, headers={**auth("burn"), "Content-Type": "application/json"}
    )
    refused(answer, 422, "burns.1.action")
    assert state(runtime) == before


@pytest.mark.parametrize(
    ("path", "scope", "field"),
    [
        ("/v1/accounts/ac%00me/balance", "read", "account_id"),
        ("/v1/accounts/ac%00me/pools", "read", "account_id"),
        ("/v1/accounts/ac%00me/ledger", "read", "account_id"),
        ("/v1/accounts/acme/ledger?cursor=1%00", "read", "cursor"),
        ("/v1/admin/rates/qu%00ery/history", "admin", "action"),
        ("/v1/admin/runs?connection=str%00ipe", "admin", "connection"),
        ("/v1/admin/exceptions?connection=str%00ipe", "admin", "connection"),
        ("/v1/admin/webhooks/rejected?connection=str%00ipe", "admin", "connection"),
    ],
)
def test_a_nul_in_a_path_segment_or_query_is_422(
    client: TestClient, path: str, scope: str, field: str
) -> None:
    refused(client.get(path, headers=auth(scope)), 422, field)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/admin/periods/2026-01%00/close", "period"),
        ("/v1/admin/sync/str%00ipe", "connection"),
        ("/v1/admin/exceptions/retry?connection=str%00ipe", "connection"),
    ],
)
def test_a_nul_in_an_admin_action_is_422(
    client: TestClient, runtime: Runtime, path: str, field: str
) -> None:
    before = state(runtime)
    refused(client.post(path, headers=auth("admin")), 422, field)
    assert state(runtime) == before


def test_a_nul_in_a_webhook_connection_name_is_422(client: TestClient) -> None:
    refused(client.post("/webhooks/str%00ipe", content=b"{}"), 422, "connection")


def test_unstorable_text_in_a_rate_is_422(client: TestClient, runtime: Runtime) -> None:
    before = state(runtime)
    for field in ("action", "credits_per_unit", "note"):
        value = {"action": "query", "credits_per_unit": "1", "note": "n"}
        value.pop(field)
        body = raw_json(value, **{field: UNSTORABLE["lone surrogate"]})
        answer = client.post(
            "/v1/admin/rates",
            content=body,
            headers={**auth("admin"), "Content-Type": "application/json"},
        )
        refused(answer, 422, field)
    assert state(runtime) == before


# --- instants at the edge of the calendar ------------------------------------------------------


@pytest.mark.parametrize("edge", EDGES)
def test_a_burn_at_the_edge_of_the_calendar_is_422(
    client: TestClient, runtime: Runtime, edge: str
) -> None:
    before = state(runtime)
    answer = client.post("/v1/burns", json=burn(occurred_at=edge), headers=auth("burn"))
    error = refused(answer, 422, "occurred_at")
    assert "1000-01-01" in error["fix"]
    assert state(runtime) == before


@pytest.mark.parametrize("edge", EDGES)
def test_reads_at_the_edge_of_the_calendar_are_422(client: TestClient, edge: str) -> None:
    refused(
        client.get("/v1/accounts/acme/balance", params={"at": edge}, headers=auth("read")),
        422,
        "at",
    )
    refused(client.get("/v1/admin/rates", params={"at": edge}, headers=auth("admin")), 422, "at")


@pytest.mark.parametrize("edge", EDGES)
def test_a_rate_effective_at_the_edge_of_the_calendar_is_422(
    client: TestClient, runtime: Runtime, edge: str
) -> None:
    before = state(runtime)
    body = {"action": "query", "credits_per_unit": "1", "effective_from": edge}
    refused(client.post("/v1/admin/rates", json=body, headers=auth("admin")), 422, "effective_from")
    assert state(runtime) == before


def test_rates_at_a_time_without_an_offset_is_422(client: TestClient) -> None:
    answer = client.get(
        "/v1/admin/rates", params={"at": "2026-01-15T10:00:00"}, headers=auth("admin")
    )
    error = refused(answer, 422, "at")
    assert "offset" in error["fix"]


# --- numbers past the 64-bit columns -----------------------------------------------------------


@pytest.mark.parametrize("units", [2**63, 2**63 + 1, 10**30])
def test_units_beyond_64_bits_are_422(client: TestClient, runtime: Runtime, units: int) -> None:
    before = state(runtime)
    answer = client.post("/v1/burns", json=burn(units=units), headers=auth("burn"))
    error = refused(answer, 422, "units")
    assert str(MAX_BIGINT) in error["fix"]
    assert state(runtime) == before


def test_credits_beyond_64_bits_on_an_overage_plan_are_422(
    client: TestClient, runtime: Runtime
) -> None:
    before = state(runtime)
    units = MAX_BIGINT // 2 + 1  # fits the units column; at 2 credits each, the credits do not
    answer = client.post("/v1/burns", json=burn(units=units), headers=auth("burn"))
    error = refused(answer, 422, "units")
    assert "split the burn" in error["fix"]
    assert state(runtime) == before


def test_an_overflowing_item_fails_alone_in_a_batch(client: TestClient, runtime: Runtime) -> None:
    items = [burn("k-1"), burn("k-2", units=MAX_BIGINT), burn("k-3", units=2**64), burn("k-4")]
    answer = client.post("/v1/burns", json={"burns": items}, headers=auth("burn"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["ok"] for r in body["results"]] == [True, False, False, True]
    assert [r["error"]["field"] for r in body["results"][1:3]] == ["burns.1.units", "burns.2.units"]
    assert (body["burned"], body["refused"]) == (2, 2)
    assert state(runtime)[0] == 2


def test_an_overage_burn_that_fits_still_burns(client: TestClient) -> None:
    answer = client.post("/v1/burns", json=burn(units=10_000), headers=auth("burn"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["overage_credits"] == 20_000 - 1000


def test_a_ledger_cursor_beyond_64_bits_is_422(client: TestClient) -> None:
    for cursor in (str(2**63), "١٢"):  # too large; digits, but not ASCII ones
        answer = client.get(
            "/v1/accounts/acme/ledger", params={"cursor": cursor}, headers=auth("read")
        )
        refused(answer, 422, "cursor")


# --- the precision a rate keeps ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("1e999", "too large"),
        ("1" * 60, "too large"),
        ("1000000000000", "too large"),
        ("0." + "0" * 59 + "1", "more than 6 decimals"),
        ("Infinity", "not a positive number"),
        ("NaN", "not a positive number"),
        ("half", "not a decimal number"),
    ],
)
def test_a_rate_beyond_the_precision_kept_is_refused(
    client: TestClient, runtime: Runtime, text: str, problem: str
) -> None:
    before = state(runtime)
    body = {"action": "query", "credits_per_unit": text}
    answer = client.post("/v1/admin/rates", json=body, headers=auth("admin"))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == "credits_per_unit"
    assert problem in error["message"]
    assert state(runtime) == before


def test_the_largest_rate_kept_is_stored_exactly(client: TestClient) -> None:
    body = {"action": "big", "credits_per_unit": "999999999999.999999"}
    answer = client.post("/v1/admin/rates", json=body, headers=auth("admin"))
    assert answer.status_code == 201, answer.text
    [stored] = client.get("/v1/admin/rates/big/history", headers=auth("admin")).json()
    assert stored["credits_per_unit"] == "999999999999.999999"
