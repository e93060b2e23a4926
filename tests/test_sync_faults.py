"""One event that cannot apply never blocks a connection: it becomes an exception with its
reason, and the rest of its page, the cursor and later pages go on (sync, webhooks, retries)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from connector.events import CanonicalEvent, Refund, RefundFailed, SourceKey
from connector.ports import WebhookResult
from connector.runtime import Runtime
from connector.sync import inbox
from connector.sync.apply import ApplyReport, _apply_purchases
from connector.sync.engine import list_runs, load_cursor, run_sync
from connector.sync.exceptions import ExceptionRecord, list_exceptions, retry_exceptions
from tests.sync_helpers import JAN, ListSource, assert_books_clean, purchase, refund, runtime_for


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    return runtime_for(db_url, tmp_path)


def _open(runtime: Runtime) -> dict[str, ExceptionRecord]:
    return {e.source_key: e for e in list_exceptions(runtime.engine)}


def _impossible() -> list[Refund]:
    """An over-refund (5,000 of a 1,000 purchase) and a reused reference (re_ok again, with
    another amount): the ledger refuses both."""
    return [refund("re_over", "ord_1", 5000), refund("re_ok", "ord_1", 300)]


def test_a_page_with_a_valid_refund_and_impossible_ones_applies_the_valid_one(
    runtime: Runtime,
) -> None:
    page: list[CanonicalEvent] = [purchase("ord_1"), refund("re_ok", "ord_1", 400), *_impossible()]
    later: list[CanonicalEvent] = [purchase("ord_2", customer="globex")]
    source = ListSource([page, later])
    summary = run_sync(runtime, "files", source=source)
    assert summary.status == "succeeded"
    assert summary.report.counts == Counter(
        {"purchase.granted": 2, "refund.applied": 1, "refund.refused": 2}
    )
    with runtime.engine.connect() as conn:
        assert load_cursor(conn, "files") == {"page": 2}
    assert runtime.ledger.balance("acme").total == 600  # the valid refund took 400 back
    assert runtime.ledger.balance("globex").total == 1000  # the next page applied too
    found = _open(runtime)
    over = found["files:re_over:"]
    assert over.reason_code == "refused" and over.event_kind == "refund"
    assert "refunding 5000" in over.reason and "600 is left" in over.reason
    assert over.payload["amount"] == 5000 and over.target == "files:ord_1"  # the event as is
    reused = found["files:re_ok:"]
    assert reused.reason_code == "refused" and "already recorded 400" in reused.reason
    assert list_runs(runtime.engine)[0].status == "succeeded"
    assert_books_clean(runtime)


def test_the_next_run_goes_on_instead_of_failing_on_the_same_page(runtime: Runtime) -> None:
    pages: list[list[CanonicalEvent]] = [
        [purchase("ord_1"), refund("re_over", "ord_1", 5000)],
        [purchase("ord_2")],
    ]
    run_sync(runtime, "files", source=ListSource(pages[:1]))
    again = ListSource(pages)
    run_sync(runtime, "files", source=again)
    assert again.served == [1]  # the first page is done, refusal and all
    assert runtime.ledger.balance("acme").total == 2000


def test_webhook_deliveries_with_an_impossible_refund_apply_the_rest(runtime: Runtime) -> None:
    deliveries = [
        WebhookResult("evt_1", "invoice.paid", events=[purchase("ord_1")]),
        WebhookResult("evt_2", "charge.refunded", events=[refund("re_ok", "ord_1", 400)]),
        WebhookResult("evt_3", "charge.refunded", events=[refund("re_over", "ord_1", 5000)]),
        WebhookResult("evt_4", "credit_note.created", events=[refund("re_ok", "ord_1", 300)]),
    ]
    for delivery in deliveries:
        assert inbox.accept(runtime.engine, "files", delivery, b"{}", JAN)
    assert inbox.process_pending(runtime) == 4  # all processed, none failed or left pending
    assert runtime.ledger.balance("acme").total == 600
    found = _open(runtime)
    assert {k: e.reason_code for k, e in found.items()} == {
        "files:re_over:": "refused",
        "files:re_ok:": "refused",
    }
    assert_books_clean(runtime)


def test_a_retry_applies_what_now_can_and_keeps_what_still_cannot(runtime: Runtime) -> None:
    early = [refund("re_early", "ord_1", 200), refund("re_over", "ord_1", 5000)]
    run_sync(runtime, "files", source=ListSource([early]))
    assert {e.reason_code for e in _open(runtime).values()} == {"orphan"}
    with runtime.engine.begin() as conn:  # as before orphans applied with their purchase
        _apply_purchases(
            conn, "files", [purchase("ord_1")], runtime.mappings.current, ApplyReport()
        )
    report = retry_exceptions(runtime.engine, runtime.mappings.current)
    assert (report.tried, report.resolved, report.still_open) == (2, 1, 1)
    still = _open(runtime)["files:re_over:"]
    assert still.reason_code == "refused" and still.attempts == 2
    assert runtime.ledger.balance("acme").total == 800
    assert_books_clean(runtime)


def test_a_refund_failure_ahead_of_its_refund_waits_and_the_page_goes_on(
    runtime: Runtime,
) -> None:
    failed = RefundFailed(
        source=SourceKey(platform="files", object_id="re_later:failed"),
        occurred_at=JAN,
        currency="USD",
        refund=SourceKey(platform="files", object_id="re_later"),
        target_object="ord_1",
    )
    page: list[CanonicalEvent] = [purchase("ord_1"), refund("re_ok", "ord_1", 400), failed]
    summary = run_sync(runtime, "files", source=ListSource([page, [purchase("ord_2")]]))
    assert summary.report.counts["refund_failed.orphan"] == 1
    assert summary.report.counts["refund.applied"] == 1 and summary.pages == 2
    waiting = _open(runtime)["files:re_later:failed:"]
    assert waiting.reason_code == "orphan" and waiting.target == "files:ord_1"
    assert runtime.ledger.balance("acme").total == 1600
    assert_books_clean(runtime)
