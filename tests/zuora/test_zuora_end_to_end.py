"""End to end against the Zuora stand-in: a paid invoice becomes pools, a partial credit memo
claws back, consumption is recognized, the journal entries are posted into Zuora Finance and
the period reconciles clean against what Zuora holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.zuora.client import ZuoraApi
from adapters.zuora.journal import ZuoraJournalSink
from adapters.zuora.source import ZuoraSource
from connector.journal import EntryKind
from connector.ledger import pools
from connector.ledger.models import BurnRequest
from connector.outbox.drain import drain
from connector.recognition.run import recognize
from connector.reconcile.run import reconcile
from connector.runtime import Runtime
from connector.settings import Connection
from connector.sync.engine import run_sync
from tests.sync_helpers import runtime_for
from tests.zuora.test_zuora_payload_shapes import conversation_problems
from tests.zuora.zuora_fake import ZuoraFake, connection_settings, zuora_settings
from tests.zuora.zuora_payloads import (
    ACCOUNT,
    credit_memo,
    credit_memo_item,
    invoice,
    invoice_item,
    refund,
)

FEB = datetime(2026, 2, 1, tzinfo=UTC)
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
MARCH_STAMP = "2026-02-20T09:00:00.000+00:00"


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    raw = connection_settings()
    rt = runtime_for(
        db_url, tmp_path, connections={"zuora": Connection(platform="zuora", settings=raw)}
    )
    yield rt
    rt.engine.dispose()


def test_purchase_credit_memo_recognition_journal_and_reconcile(
    runtime: Runtime, fake: ZuoraFake
) -> None:
    fake.add(
        "invoices", invoice("inv1", items=[invoice_item("inv1-i1", amount=10000.0, tax=800.0)])
    )
    fake.add(
        "credit-memos",
        credit_memo("cm1", items=[credit_memo_item("cm1-i1", amount=2500.0, tax=200.0)]),
    )
    fake.accounting_codes |= {"2350", "4010", "4015", "4090", "1205"}
    fake.open_periods |= {"2026-01"}
    settings = zuora_settings()
    api = ZuoraApi(settings)

    summary = run_sync(runtime, "zuora", source=ZuoraSource(settings, api=api, clock=lambda: FEB))

    assert summary.report.counts["purchase.granted"] == 1
    assert summary.report.counts["credit_note.applied"] == 1
    with runtime.engine.connect() as conn:
        granted = pools.pools_for_object(conn, "zuora", "inv1")
    # 1M paid + 100k bonus sharing the 10,000.00 price; the memo returned a quarter of it
    assert sorted((p.credits_granted, p.revenue_amount) for p in granted) == [
        (100_000, 90_909),
        (1_000_000, 909_091),
    ]
    assert sum(p.credits_remaining for p in granted) == 825_000

    runtime.ledger.set_rate("query", "1", datetime(2026, 1, 1, tzinfo=UTC))
    runtime.ledger.burn(
        BurnRequest(ACCOUNT, "b-1", "query", 165_000, datetime(2026, 1, 25, tzinfo=UTC))
    )
    sink = ZuoraJournalSink(settings, api=api, sleep=lambda _: None)
    run = recognize(runtime.engine, FEB, runtime.gl_accounts, "detailed", sinks=[sink.name])
    drained = drain(runtime.engine, sink)

    kinds = {entry.kind for entry in run.entries}
    assert {EntryKind.DEFERRAL, EntryKind.REFUND, EntryKind.RECOGNITION} <= kinds
    assert drained.failed == 0 and drained.posted == len(run.entries) == len(fake.journal_entries)
    assert all(e["notes"].startswith("creditsync:je-") for e in fake.journal_entries.values())

    result = reconcile(runtime.engine, [sink], "2026-01", runtime.gl_accounts)

    assert result.differences == []
    assert result.clean
    assert conversation_problems(fake.exchanges) == []


def test_a_refund_cancelled_after_it_was_processed_gives_the_credits_back(
    runtime: Runtime, fake: ZuoraFake
) -> None:
    fake.add("invoices", invoice("inv1"))
    fake.add("refunds", refund("rf1", amount=2500.0))
    settings = zuora_settings()

    def remaining() -> int:
        with runtime.engine.connect() as conn:
            return sum(p.credits_remaining for p in pools.pools_for_object(conn, "zuora", "inv1"))

    run_sync(
        runtime, "zuora", source=ZuoraSource(settings, api=ZuoraApi(settings), clock=lambda: FEB)
    )
    assert remaining() == 825_000  # a quarter of 1.1M credits clawed back

    fake.update(
        "refunds", "rf1", status="Canceled", cancelledOn=MARCH_STAMP, updatedDate=MARCH_STAMP
    )
    later = ZuoraSource(settings, api=ZuoraApi(settings), clock=lambda: MARCH)
    summary = run_sync(runtime, "zuora", source=later)

    assert summary.report.counts["refund_failed.applied"] == 1
    assert remaining() == 1_100_000
