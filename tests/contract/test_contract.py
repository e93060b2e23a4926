"""The contracts every adapter keeps, whatever the platform behind it.

- Idempotent pages: applying a whole sync a second time changes nothing.
- Cursor resume: a run that dies after any page, run again from its stored cursor, ends with
  the same ledger as a run that never failed.
- Webhooks: a delivery with bad credentials or a bad signature is refused (401 or 400) and
  nothing is stored; duplicated and reordered deliveries end in the same state as the
  deliveries in order.
- Bounded retries: 429 and 5xx are retried a bounded number of times, waiting what
  Retry-After asks (through an injected sleep), and then fail with the platform's answer.

Each runs on SQLite and PostgreSQL, through the real sync engine and webhook route.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, delete, select

from connector.api.drain import Drainer
from connector.events import CanonicalEvent
from connector.platform.retry import PlatformRequestFailed, RetryPolicy
from connector.ports import Page, PurchaseSource, available_platforms
from connector.runtime import Runtime
from connector.settings import Connection
from connector.store.tables import ledger_entries, metadata, pools
from connector.sync import inbox
from connector.sync.engine import RunSummary, pull
from connector.sync.exceptions import retry_exceptions
from connector.sync.tables import webhook_inbox
from tests.contract.harness import Harness, harness_module
from tests.platform_support import Sleeps
from tests.sync_helpers import runtime_for

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


class Crash(Exception):
    """The process died here."""


class CrashAfter:
    """A source whose run dies once ``pages`` pages were handed out (and applied)."""

    def __init__(self, source: PurchaseSource, pages: int) -> None:
        self.platform = source.platform
        self._source = source
        self._pages = pages

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        for number, page in enumerate(self._source.pages(cursor)):
            if number == self._pages:
                raise Crash
            yield page

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        return self._source.fetch_objects(object_ids)


Snapshot = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def snapshot(engine: Engine) -> Snapshot:
    """The ledger without row ids: every pool's balance and every entry, keyed by source."""
    source = (
        pools.c.source_platform,
        pools.c.source_object,
        pools.c.source_line,
        pools.c.source_part,
    )
    with engine.connect() as conn:
        pool_rows = conn.execute(
            select(
                *source,
                pools.c.credits_granted,
                pools.c.credits_remaining,
                pools.c.revenue_amount,
                pools.c.currency,
                pools.c.status,
            ).order_by(*source)
        ).all()
        entry_rows = conn.execute(
            select(
                *source, ledger_entries.c.kind, ledger_entries.c.credits, ledger_entries.c.reference
            )
            .join(pools, pools.c.id == ledger_entries.c.pool_id)
            .order_by(*source, ledger_entries.c.kind, ledger_entries.c.reference)
        ).all()
    return [tuple(r) for r in pool_rows], [tuple(r) for r in entry_rows]


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


def sync(runtime: Runtime, connection: str, source: PurchaseSource) -> int:
    summary = RunSummary(run_id=0, connection=connection)
    pull(runtime.engine, connection, source, runtime.mappings.current, summary)
    return summary.pages


def connected(harness: Harness, db_url: str, tmp_path: Path) -> Runtime:
    """A runtime on the test database with one connection, to the harness's stand-in."""
    connection = Connection(platform=harness.platform, settings=harness.connection_settings())
    return runtime_for(db_url, tmp_path, connections={harness.platform: connection})


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, harness: Harness) -> Iterator[Runtime]:
    rt = connected(harness, db_url, tmp_path)
    yield rt
    rt.engine.dispose()


def test_every_platform_has_a_harness() -> None:
    for platform in available_platforms():
        module = harness_module(platform)
        assert callable(module.make) and isinstance(module.REMOTE, bool), platform


def test_applying_a_sync_twice_changes_nothing(harness: Harness, runtime: Runtime) -> None:
    harness.seed(harness.page_size * 2 + 10)
    pages = sync(runtime, harness.platform, harness.source())
    once = snapshot(runtime.engine)
    with runtime.engine.begin() as conn:  # forget the cursor: every page comes again
        conn.execute(delete(metadata.tables["sync_cursors"]))

    sync(runtime, harness.platform, harness.source())

    assert pages >= 3
    assert len(once[0]) >= harness.page_size * 2 + 10
    assert any(kind == "clawback" for *_, kind, _, _ in once[1]), "the refund applied"
    assert snapshot(runtime.engine) == once


def test_a_run_resumes_after_a_crash_at_any_page(harness: Harness, runtime: Runtime) -> None:
    harness.seed(harness.page_size * 2 + 10)
    total = sync(runtime, harness.platform, harness.source())
    expected = snapshot(runtime.engine)

    for crash_at in range(1, total):
        reset(runtime.engine)
        with pytest.raises(Crash):
            sync(runtime, harness.platform, CrashAfter(harness.source(), crash_at))
        sync(runtime, harness.platform, harness.source())
        assert snapshot(runtime.engine) == expected, f"crash after page {crash_at}"


# -- webhooks -----------------------------------------------------------------------------------


@pytest.fixture
def served(
    receiving: Harness, db_url: str, tmp_path: Path
) -> Iterator[tuple[Harness, Runtime, TestClient]]:
    from fastapi.testclient import TestClient

    from connector.api import create_app

    receiving.seed(3)
    rt = connected(receiving, db_url, tmp_path)
    app = create_app(rt)
    app.state.drainer = Drainer(
        lambda c, limit: inbox.process_pending(rt, c, limit), gather=0, share=1
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield receiving, rt, client
    rt.engine.dispose()


def _inbox(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(webhook_inbox.c.event_id, webhook_inbox.c.status)).all()
    return sorted((str(a), str(b)) for a, b in rows)


def test_a_forged_delivery_is_refused_and_nothing_is_stored(
    served: tuple[Harness, Runtime, TestClient],
) -> None:
    harness, runtime, client = served
    headers, body = harness.forged()

    answer = client.post(f"/webhooks/{harness.platform}", content=body, headers=headers)

    assert answer.status_code in (400, 401), answer.text
    if answer.status_code == 401:
        assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    assert _inbox(runtime) == []
    assert snapshot(runtime.engine) == ([], [])


def test_duplicated_and_reordered_deliveries_end_in_the_same_state(
    served: tuple[Harness, Runtime, TestClient],
) -> None:
    harness, runtime, client = served
    deliveries = harness.deliveries()

    def deliver(order: list[tuple[dict[str, str], bytes]]) -> Snapshot:
        for headers, body in order:
            answer = client.post(f"/webhooks/{harness.platform}", content=body, headers=headers)
            assert answer.status_code == 200, answer.text
        inbox.process_pending(runtime, harness.platform)
        retry_exceptions(runtime.engine, runtime.mappings.current, harness.platform)
        return snapshot(runtime.engine)

    in_order = deliver(deliveries)
    assert in_order[0], "the deliveries granted pools"
    reset(runtime.engine)
    shuffled = (
        list(reversed(deliveries))
        + deliveries
        + random.Random(7).sample(deliveries, len(deliveries))
    )

    assert deliver(shuffled) == in_order
    assert {status for _, status in _inbox(runtime)} == {"processed"}


# -- retries ------------------------------------------------------------------------------------


def test_429_is_retried_waiting_what_retry_after_asks(remote: Harness) -> None:
    sleeps = Sleeps()
    remote.seed(1)
    remote.fail_requests(429, times=2, retry_after=2.5)
    source = remote.source(RetryPolicy(max_attempts=4, max_wait=30, sleep=sleeps))

    pages = list(source.pages(None))

    assert sleeps == [2.5, 2.5]
    assert any(page.events for page in pages)


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_retries_are_bounded(remote: Harness, status: int) -> None:
    sleeps = Sleeps()
    remote.seed(1)
    remote.fail_requests(status, times=1_000)
    source = remote.source(RetryPolicy(max_attempts=3, base_wait=0.5, max_wait=4, sleep=sleeps))
    before = remote.request_count()

    with pytest.raises(PlatformRequestFailed) as caught:
        list(source.pages(None))

    assert remote.request_count() - before == 3
    assert len(sleeps) == 2 and all(0 < s <= 4 for s in sleeps)
    assert caught.value.status == status and caught.value.attempts == 3
