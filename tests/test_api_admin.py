"""The admin API: burn rates, mappings reload, sync runs, exceptions, periods, scheduler."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from connector.api import create_app
from connector.runtime import Runtime
from connector.scheduler import Scheduler
from connector.settings import EXAMPLE_MAPPINGS
from connector.sync.lease import release, try_acquire
from connector.timeutil import utcnow
from tests.test_api_support import auth, client_for, make_runtime, purchase_line

ADMIN = auth("admin")


@pytest.fixture
def maps(tmp_path: Path) -> Path:
    folder = tmp_path / "maps"
    shutil.copytree(EXAMPLE_MAPPINGS, folder)
    return folder


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, maps: Path) -> Iterator[Runtime]:
    rt = make_runtime(db_url, tmp_path, mapping_paths=[maps])
    yield rt
    rt.engine.dispose()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with client_for(runtime) as c:
        yield c


def write_events(tmp_path: Path, *lines: str) -> None:
    (tmp_path / "events.jsonl").write_text("".join(line + "\n" for line in lines))


# -- burn rates ---------------------------------------------------------------------------------


def test_rates_are_set_listed_and_versioned(client: TestClient) -> None:
    first = client.post(
        "/v1/admin/rates",
        json={"action": "query", "credits_per_unit": "2", "effective_from": "2026-01-01T00:00Z"},
        headers=ADMIN,
    )
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1
    later = (utcnow() + timedelta(days=7)).isoformat()
    second = client.post(
        "/v1/admin/rates",
        json={
            "action": "query",
            "credits_per_unit": "2.5",
            "effective_from": later,
            "note": "model cost up",
        },
        headers=ADMIN,
    )
    assert second.json()["version"] == 2
    in_force = client.get("/v1/admin/rates", headers=ADMIN).json()
    assert [(r["action"], r["version"], r["credits_per_unit"]) for r in in_force] == [
        ("query", 1, "2")
    ]
    next_month = client.get(
        "/v1/admin/rates",
        params={"at": (utcnow() + timedelta(days=30)).isoformat()},
        headers=ADMIN,
    ).json()
    assert next_month[0]["version"] == 2
    history = client.get("/v1/admin/rates/query/history", headers=ADMIN).json()
    assert [(r["version"], r["note"]) for r in history] == [(1, None), (2, "model cost up")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "query", "credits_per_unit": "-1"}, "credits_per_unit"),
        ({"action": "query", "credits_per_unit": "0.0000001"}, "credits_per_unit"),
        ({"action": "query", "credits_per_unit": "ten"}, "credits_per_unit"),
        ({"action": "", "credits_per_unit": "1"}, "action"),
        (
            {"action": "query", "credits_per_unit": "1", "effective_from": "2026-01-01T00:00"},
            "effective_from",
        ),
        ({"credits_per_unit": "1"}, "action"),
    ],
)
def test_a_bad_rate_is_422_and_sets_nothing(
    client: TestClient, body: dict[str, str], field: str
) -> None:
    answer = client.post("/v1/admin/rates", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == field
    assert client.get("/v1/admin/rates", headers=ADMIN).json() == []


def test_the_history_of_an_unknown_action_is_422(client: TestClient) -> None:
    answer = client.get("/v1/admin/rates/teleport/history", headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "action"


# -- mappings -----------------------------------------------------------------------------------


def test_mappings_reload_picks_up_a_new_file(
    client: TestClient, runtime: Runtime, maps: Path
) -> None:
    before = runtime.mappings.current.version
    (maps / "extra.toml").write_text(
        '[[catalog]]\nplatform = "files"\nitem_id = "credits-5k"\nname = "5,000 credits"\n'
        'credits = 5_000\nkind = "paid"\nexpiry = "P12M"\ncurrencies = ["USD"]\n'
    )
    answer = client.post("/v1/admin/mappings/reload", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == runtime.mappings.current.version != before
    assert runtime.mappings.current.entry("files", "credits-5k") is not None
    assert answer.json()["catalog_entries"] == len(runtime.mappings.current.catalog)


def test_a_reload_applies_the_exceptions_the_new_mapping_fixes(
    client: TestClient, runtime: Runtime, maps: Path
) -> None:
    from connector.sync.engine import run_sync
    from tests.sync_helpers import ListSource, purchase

    run_sync(runtime, "files", source=ListSource([[purchase("ord_5k", "credits-5k")]]))
    (maps / "extra.toml").write_text(
        '[[catalog]]\nplatform = "files"\nitem_id = "credits-5k"\nname = "5,000 credits"\n'
        'credits = 5_000\nkind = "paid"\nexpiry = "P12M"\ncurrencies = ["USD"]\n'
    )
    answer = client.post("/v1/admin/mappings/reload", headers=ADMIN)
    assert (answer.json()["exceptions_retried"], answer.json()["exceptions_resolved"]) == (1, 1)
    assert runtime.ledger.balance("acme").total == 5_000


def test_a_bad_mapping_file_is_422_with_its_problems_and_the_old_set_stays(
    client: TestClient, runtime: Runtime, maps: Path
) -> None:
    before = runtime.mappings.current.version
    (maps / "broken.toml").write_text(
        '[[catalog]]\nplatform = "files"\nitem_id = "credits-x"\ncredits = -5\nkind = "paid"\n'
    )
    answer = client.post("/v1/admin/mappings/reload", headers=ADMIN)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "invalid_mapping"
    assert error["errors"] and any("broken.toml" in e for e in error["errors"])
    assert runtime.mappings.current.version == before


# -- sync runs and exceptions ---------------------------------------------------------------------


def test_a_sync_runs_now_and_is_listed(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    write_events(tmp_path, purchase_line("ord_1", "credits-1k", "cus_a"))
    answer = client.post("/v1/admin/sync/files", params={"wait": 60}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "succeeded"
    assert body["pools_created"] == 1
    assert runtime.ledger.balance("cus_a").total == 1000
    runs = client.get("/v1/admin/runs", headers=ADMIN).json()
    assert [(r["id"], r["connection"], r["trigger"], r["status"]) for r in runs] == [
        (body["run_id"], "files", "manual", "succeeded")
    ]


def test_a_sync_of_a_running_connection_is_409(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    write_events(tmp_path, purchase_line("ord_2", "credits-1k", "cus_b"))
    assert try_acquire(runtime.engine, "sync:files", "another-process", timedelta(minutes=5))
    try:
        answer = client.post("/v1/admin/sync/files", headers=ADMIN)
    finally:
        release(runtime.engine, "sync:files", "another-process")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "busy"
    assert client.get("/v1/admin/runs", headers=ADMIN).json() == []


def test_a_sync_that_is_still_running_after_wait_answers_202(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    write_events(tmp_path, purchase_line("ord_3", "credits-1k", "cus_c"))
    answer = client.post("/v1/admin/sync/files", params={"wait": 0}, headers=ADMIN)
    assert answer.status_code in (200, 202)
    if answer.status_code == 202:
        assert answer.json()["status"] == "running"
    client.app.state.sync_pool.shutdown(wait=True)  # type: ignore[attr-defined]
    assert runtime.ledger.balance("cus_c").total == 1000


def test_a_sync_of_an_unknown_connection_is_404(client: TestClient) -> None:
    answer = client.post("/v1/admin/sync/nowhere", headers=ADMIN)
    assert answer.status_code == 404
    assert "nowhere" in answer.json()["error"]["message"]


def test_exceptions_are_listed_and_retried_once_the_mapping_is_fixed(
    client: TestClient, runtime: Runtime, tmp_path: Path, maps: Path
) -> None:
    write_events(
        tmp_path,
        purchase_line("ord_4", "credits-1k", "cus_d"),
        purchase_line("ord_5", "credits-7k", "cus_d", net=7000),
    )
    assert client.post("/v1/admin/sync/files", params={"wait": 60}, headers=ADMIN).is_success
    found = client.get("/v1/admin/exceptions", headers=ADMIN).json()
    assert [(e["reason_code"], e["event_kind"]) for e in found] == [("unmapped", "purchase")]
    assert "credits-7k" in found[0]["reason"]
    assert found[0]["payload"]["item_id"] == "credits-7k"
    unchanged = client.post("/v1/admin/exceptions/retry", headers=ADMIN).json()
    assert unchanged["still_open"] == 1 and unchanged["resolved"] == 0
    (maps / "fix.toml").write_text(
        '[[catalog]]\nplatform = "files"\nitem_id = "credits-7k"\nname = "7,000 credits"\n'
        'credits = 7_000\nkind = "paid"\nexpiry = "P12M"\ncurrencies = ["USD"]\n'
    )
    reloaded = client.post("/v1/admin/mappings/reload", headers=ADMIN).json()
    assert (reloaded["exceptions_retried"], reloaded["exceptions_resolved"]) == (1, 1)
    nothing_left = client.post("/v1/admin/exceptions/retry", headers=ADMIN).json()
    assert nothing_left == {"tried": 0, "resolved": 0, "still_open": 0}
    assert runtime.ledger.balance("cus_d").total == 8000
    assert client.get("/v1/admin/exceptions", headers=ADMIN).json() == []
    resolved = client.get("/v1/admin/exceptions", params={"status": "resolved"}, headers=ADMIN)
    assert [e["status"] for e in resolved.json()] == ["resolved"]


def test_an_unknown_exception_status_is_422(client: TestClient) -> None:
    answer = client.get("/v1/admin/exceptions", params={"status": "lost"}, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "status"


# -- periods ------------------------------------------------------------------------------------


def test_periods_are_listed_and_closed_in_order(
    client: TestClient, runtime: Runtime, tmp_path: Path
) -> None:
    write_events(
        tmp_path,
        purchase_line("ord_6", "credits-1k", "cus_e", occurred_at="2026-09-10T00:00:00Z"),
        purchase_line("ord_7", "credits-1k", "cus_e", occurred_at="2026-10-10T00:00:00Z"),
    )
    assert client.post("/v1/admin/sync/files", params={"wait": 60}, headers=ADMIN).is_success
    periods = client.get("/v1/admin/periods", headers=ADMIN).json()
    assert [(p["period"], p["closed"]) for p in periods] == [
        ("2026-09", False),
        ("2026-10", False),
    ]
    assert all(p["entries"] > 0 for p in periods)
    skipped = client.post("/v1/admin/periods/2026-10/close", headers=ADMIN)
    assert skipped.status_code == 422
    assert skipped.json()["error"]["field"] == "period"
    assert "2026-09" in skipped.json()["error"]["fix"]
    closed = client.post("/v1/admin/periods/2026-09/close", headers=ADMIN)
    assert closed.status_code == 200, closed.text
    assert closed.json()["period"] == "2026-09"
    assert closed.json()["timezone"] == "UTC"
    again = client.post("/v1/admin/periods/2026-09/close", headers=ADMIN)
    assert again.json()["closed_at"] == closed.json()["closed_at"]
    listed = client.get("/v1/admin/periods", headers=ADMIN).json()
    assert [(p["period"], p["closed"]) for p in listed] == [("2026-09", True), ("2026-10", False)]


def test_a_malformed_period_is_422(client: TestClient) -> None:
    answer = client.post("/v1/admin/periods/2026-13/close", headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "period"


# -- scheduler ------------------------------------------------------------------------------------


def test_the_scheduler_status_without_a_scheduler(client: TestClient) -> None:
    answer = client.get("/v1/admin/scheduler", headers=ADMIN)
    assert answer.json() == {"running": False, "leader": False, "holder": None, "jobs": []}


def test_the_scheduler_starts_and_stops_with_the_app(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime, jitter_seconds=0)
    with client_for(runtime, create_app(runtime, scheduler=scheduler)) as client:
        status = client.get("/v1/admin/scheduler", headers=ADMIN).json()
        assert status["running"] is True
        assert status["leader"] is True
        assert {job["id"] for job in status["jobs"]} >= {"sync:files", "expire", "post"}
        assert all(job["next_run_at"] for job in status["jobs"])
    assert not scheduler.aps.running
    assert not scheduler.is_leader
