"""Long jobs leave SQLite usable: they commit in chunks, a lookup never opens a second
connection inside a command's transaction, and a lock timeout answers 503, never 500."""

from __future__ import annotations

import shutil
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from connector.ledger.models import BurnRequest, BurnResult
from connector.rebuild.verify import rebuild
from connector.recognition import run as recognition_run
from connector.recognition.run import recognize
from connector.runtime import Runtime
from connector.settings import EXAMPLE_MAPPINGS
from connector.store.tables import accounts
from connector.sync.engine import run_sync
from connector.sync.jobs import post_now, recognize_now, reconcile_now
from tests.sync_helpers import JAN, ListSource, assert_books_clean, purchase
from tests.test_api_support import T0, auth, client_for, make_runtime, seed

LOCK_WAIT_MS = 300  # instead of 30 s: a test that would wait for a lock fails at once


def impatient(engine: Engine) -> None:
    """New connections wait at most LOCK_WAIT_MS for a lock (SQLite busy timeout, PostgreSQL
    lock_timeout); the connections already open are dropped."""

    @event.listens_for(engine, "connect")
    def _short(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_MS}")
        else:
            cursor.execute(f"SET lock_timeout = '{LOCK_WAIT_MS}ms'")
            dbapi_connection.commit()
        cursor.close()

    engine.dispose()


def burn_from_another_thread(runtime: Runtime, request: BurnRequest) -> BurnResult | BaseException:
    """Burn from a thread of its own while the caller's job is under way; what it got."""
    outcome: list[BurnResult | BaseException] = []

    def burn() -> None:
        try:
            outcome.append(runtime.ledger.burn(request))
        except BaseException as exc:  # returned to the test, which asserts on it
            outcome.append(exc)

    other = threading.Thread(target=burn)
    other.start()
    other.join(timeout=60)
    return outcome[0] if outcome else TimeoutError("the burn did not finish in 60 s")


def test_after_a_mapping_change_recognize_and_reconcile_complete(
    db_url: str, tmp_path: Path
) -> None:
    maps = tmp_path / "maps"
    shutil.copytree(EXAMPLE_MAPPINGS, maps)
    before = make_runtime(db_url, tmp_path, mapping_paths=[maps])
    run_sync(before, "files", source=ListSource([[purchase("ord_1", at=JAN)]]))
    catalog = maps / "files.toml"
    catalog.write_text(catalog.read_text().replace('"1,000 credits"', '"1,000 credits (2027)"'))
    after = make_runtime(db_url, tmp_path, mapping_paths=[maps])  # a new process, new version
    assert after.mappings.current.version != before.mappings.current.version
    impatient(after.engine)
    recognized = recognize_now(after)  # the pool's GL accounts are the old version's
    assert recognized.entries and recognized.pools_recomputed == 1
    post_now(after)
    assert reconcile_now(after).clean
    assert_books_clean(after)


def test_a_burn_between_chunks_of_a_long_recognize_completes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(db_url, tmp_path)
    for n in range(5):
        seed(runtime, f"acct_{n}", 100)
    impatient(runtime.engine)
    monkeypatch.setattr(recognition_run, "POOLS_PER_COMMIT", 2)
    burned: list[BurnResult | BaseException] = []
    chunks: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        chunks.append((done, total))
        if len(chunks) == 1:  # the run is under way: a burn comes in from another thread
            burned.append(
                burn_from_another_thread(runtime, BurnRequest("acct_0", "b1", "query", 7, T0))
            )

    run = recognize(
        runtime.engine,
        T0 + timedelta(days=40),
        runtime.gl_accounts,
        progress=progress,
    )
    assert [type(b).__name__ for b in burned] == ["BurnResult"], burned
    assert chunks == [(2, 5), (4, 5), (5, 5)]
    assert run.pools_recomputed == 5
    assert runtime.ledger.balance("acct_0").total == 93
    assert_books_clean(runtime)


def test_a_lock_timeout_answers_503_with_retry_after(db_url: str, tmp_path: Path) -> None:
    runtime = make_runtime(db_url, tmp_path)
    seed(runtime, "acme", 100)
    impatient(runtime.engine)
    body = {"account_id": "acme", "action": "query", "units": 3, "idempotency_key": "k-1"}
    with client_for(runtime) as client:
        with runtime.engine.connect() as holder, holder.begin():  # a long writer of acme
            holder.execute(select(accounts).where(accounts.c.id == "acme").with_for_update())
            answer = client.post("/v1/burns", json=body, headers=auth("burn"))
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["error"]["code"] == "database_busy"
        assert runtime.ledger.balance("acme").total == 100  # nothing was burned
        again = client.post("/v1/burns", json=body, headers=auth("burn"))
        assert again.status_code == 200, again.text
    runtime.engine.dispose()


def test_a_burn_during_a_rebuild_completes_and_the_rebuild_still_verifies(
    db_url: str, tmp_path: Path
) -> None:
    runtime = make_runtime(db_url, tmp_path)
    for n in range(3):
        seed(runtime, f"acct_{n}", 100)
    runtime.ledger.burn(BurnRequest("acct_1", "before", "query", 5, T0))
    impatient(runtime.engine)
    burned: list[BurnResult | BaseException] = []

    def progress(done: int, total: int) -> None:
        if not burned:  # the rebuild is reading the live database: a burn comes in
            burned.append(
                burn_from_another_thread(runtime, BurnRequest("acct_0", "during", "query", 7, T0))
            )

    result = rebuild(
        runtime.engine,
        current=runtime.mappings.current,
        gl=runtime.gl_accounts,
        plans=runtime.plan_policy,
        progress=progress,
    )
    assert [type(b).__name__ for b in burned] == ["BurnResult"], burned
    assert result.verified, (result.errors, result.mismatches)  # as of the moment it read
    assert result.compared["burns"] == 1
    assert runtime.ledger.balance("acct_0").total == 93
    assert_books_clean(runtime)  # and again, with the burn
