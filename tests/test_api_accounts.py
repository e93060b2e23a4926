"""GET /v1/accounts/{id}/balance, /pools and /ledger (cursor pagination)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.ledger.models import BurnRequest, PoolKind
from connector.runtime import Runtime
from tests.test_api_support import T0, auth, client_for, make_runtime, seed

PROMO_EXPIRY = T0 + timedelta(days=5 * 365)


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path)
    seed(rt, "acme", 1000, object_id="inv_paid")
    seed(
        rt,
        "acme",
        200,
        object_id="inv_promo",
        kind=PoolKind.PROMOTIONAL,
        expires_at=PROMO_EXPIRY,
    )
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def burn_n(runtime: Runtime, n: int) -> None:
    for i in range(n):
        runtime.ledger.burn(BurnRequest("acme", f"k{i}", "query", 10, T0 + timedelta(days=1)))


def test_balance_lists_usable_pools_in_burn_order(client: TestClient, runtime: Runtime) -> None:
    burn_n(runtime, 3)  # 30 credits, from the promotional pool first (it expires first)
    answer = client.get("/v1/accounts/acme/balance", headers=auth("read"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["account_id"] == "acme"
    assert body["total"] == 1170 == runtime.ledger.balance("acme").total
    assert [p["kind"] for p in body["pools"]] == ["promotional", "paid"]
    assert [p["credits_remaining"] for p in body["pools"]] == [170, 1000]


def test_balance_at_a_later_instant_leaves_out_expired_pools(client: TestClient) -> None:
    answer = client.get(
        "/v1/accounts/acme/balance",
        params={"at": (PROMO_EXPIRY + timedelta(days=1)).isoformat()},
        headers=auth("read"),
    )
    assert answer.status_code == 200
    assert answer.json()["total"] == 1000
    assert [p["kind"] for p in answer.json()["pools"]] == ["paid"]


def test_balance_of_an_unknown_account_is_404(client: TestClient) -> None:
    answer = client.get("/v1/accounts/nobody/balance", headers=auth("read"))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


def test_balance_at_a_naive_instant_is_422(client: TestClient) -> None:
    answer = client.get(
        "/v1/accounts/acme/balance", params={"at": "2026-01-05T00:00:00"}, headers=auth("read")
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "at"


def test_pools_show_every_pool_with_its_source(client: TestClient, runtime: Runtime) -> None:
    burn_n(runtime, 1)
    answer = client.get("/v1/accounts/acme/pools", headers=auth("read"))
    assert answer.status_code == 200
    pools = {p["source"]["object_id"]: p for p in answer.json()["pools"]}
    assert set(pools) == {"inv_paid", "inv_promo"}
    assert pools["inv_paid"]["revenue_amount"] == 10_000
    assert pools["inv_paid"]["currency"] == "USD"
    assert pools["inv_promo"]["credits_remaining"] == 190
    assert pools["inv_promo"]["status"] == "active"


def test_pools_of_an_unknown_account_is_404(client: TestClient) -> None:
    assert client.get("/v1/accounts/nobody/pools", headers=auth("read")).status_code == 404


def test_the_ledger_pages_through_every_entry_once(client: TestClient, runtime: Runtime) -> None:
    burn_n(runtime, 5)  # 2 grants + 5 burns = 7 entries
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        answer = client.get("/v1/accounts/acme/ledger", params=params, headers=auth("read"))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen.extend(entry["id"] for entry in body["entries"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert seen == sorted(seen)
    whole = client.get("/v1/accounts/acme/ledger", headers=auth("read")).json()
    assert [e["id"] for e in whole["entries"]] == seen
    assert whole["next_cursor"] is None
    kinds = [e["kind"] for e in whole["entries"]]
    assert kinds.count("grant") == 2 and kinds.count("burn") == 5
    assert sum(e["credits"] for e in whole["entries"]) == runtime.ledger.balance("acme").total


def test_a_page_that_ends_exactly_at_the_last_entry_has_no_next_cursor(
    client: TestClient,
) -> None:
    answer = client.get("/v1/accounts/acme/ledger", params={"limit": 2}, headers=auth("read"))
    assert len(answer.json()["entries"]) == 2
    assert answer.json()["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [({"cursor": "abc"}, "cursor"), ({"limit": 0}, "limit"), ({"limit": 5000}, "limit")],
)
def test_bad_paging_parameters_are_422(
    client: TestClient, params: dict[str, str | int], field: str
) -> None:
    answer = client.get("/v1/accounts/acme/ledger", params=params, headers=auth("read"))
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == field


def test_the_ledger_of_an_unknown_account_is_404(client: TestClient) -> None:
    assert client.get("/v1/accounts/nobody/ledger", headers=auth("read")).status_code == 404


def test_balance_at_a_past_instant_leaves_out_later_burns(
    client: TestClient, runtime: Runtime
) -> None:
    burn_n(runtime, 3)  # 30 credits on T0 + 1 day
    before = client.get(
        "/v1/accounts/acme/balance",
        params={"at": (T0 + timedelta(hours=12)).isoformat()},
        headers=auth("read"),
    )
    assert before.status_code == 200, before.text
    assert before.json()["total"] == 1200
    assert [p["credits_remaining"] for p in before.json()["pools"]] == [200, 1000]
    now = client.get("/v1/accounts/acme/balance", headers=auth("read"))
    assert now.json()["total"] == 1170


def test_accounts_are_listed_searched_and_shown(client: TestClient, runtime: Runtime) -> None:
    seed(runtime, "bob", 50, object_id="inv_bob")
    page = client.get("/v1/accounts", params={"limit": 1}, headers=auth("read"))
    assert page.status_code == 200, page.text
    assert [a["id"] for a in page.json()["accounts"]] == ["acme"]
    rest = client.get(
        "/v1/accounts", params={"cursor": page.json()["next_cursor"]}, headers=auth("read")
    )
    assert [a["id"] for a in rest.json()["accounts"]] == ["bob"]
    assert rest.json()["next_cursor"] is None
    found = client.get("/v1/accounts", params={"search": "BO"}, headers=auth("read"))
    assert [a["id"] for a in found.json()["accounts"]] == ["bob"]
    view = client.get("/v1/accounts/acme", headers=auth("read"))
    assert view.status_code == 200, view.text
    assert (view.json()["balance"], len(view.json()["pools"]), view.json()["links"]) == (
        1200,
        2,
        [],
    )
    assert client.get("/v1/accounts/nobody", headers=auth("read")).status_code == 404


def test_manual_grant_void_and_adjust_need_admin_and_a_key(
    client: TestClient, runtime: Runtime
) -> None:
    body = {
        "account_id": "acme",
        "credits": 300,
        "reason": "outage credit",
        "idempotency_key": "gw-7",
        "occurred_at": (T0 + timedelta(days=2)).isoformat(),
    }
    assert client.post("/v1/admin/grants", json=body, headers=auth("read")).status_code == 403
    made = client.post("/v1/admin/grants", json=body, headers=auth("admin"))
    assert made.status_code == 201, made.text
    assert (made.json()["credits"], made.json()["replayed"]) == (300, False)
    again = client.post("/v1/admin/grants", json=body, headers=auth("admin"))
    assert (again.status_code, again.json()["pool_id"]) == (200, made.json()["pool_id"])
    other = client.post("/v1/admin/grants", json={**body, "credits": 5}, headers=auth("admin"))
    assert other.status_code == 409
    no_reason = client.post("/v1/admin/grants", json={**body, "reason": ""}, headers=auth("admin"))
    assert no_reason.status_code == 422
    pool = made.json()["pool_id"]
    cut = client.post(
        f"/v1/admin/pools/{pool}/adjust",
        json={"credits": 100, "reason": "too many", "idempotency_key": "adj-1"},
        headers=auth("admin"),
    )
    assert cut.status_code == 201 and cut.json()["credits"] == -100, cut.text
    gone = client.post(
        f"/v1/admin/pools/{pool}/void",
        json={"reason": "wrong account", "idempotency_key": "void-1", "actor": "dana"},
        headers=auth("admin"),
    )
    assert gone.status_code == 201 and gone.json()["credits"] == -200, gone.text
    assert gone.json()["actor"] == "dana"
    missing = client.post(
        "/v1/admin/pools/999/void",
        json={"reason": "x", "idempotency_key": "void-2"},
        headers=auth("admin"),
    )
    assert missing.status_code == 404
    assert runtime.ledger.balance("acme").total == 1200
