from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from connector.ports import WebhookResult
from connector.runtime import Runtime
from connector.sync import inbox
from connector.sync.jobs import exclusive, expire_job, sync_job
from connector.sync.lease import held
from connector.sync.tables import webhook_inbox
from tests.sync_helpers import JAN, purchase, refund, runtime_for, write_jsonl


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    return runtime_for(db_url, tmp_path)


def _statuses(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        return list(
            conn.execute(select(webhook_inbox.c.status).order_by(webhook_inbox.c.id)).scalars()
        )


def test_a_delivery_is_stored_once_and_applied_after(runtime: Runtime) -> None:
    result = WebhookResult("evt_1", "invoice.paid", events=[purchase("in_1")])
    assert inbox.accept(runtime.engine, "files", result, b"{}", JAN) is True
    assert inbox.accept(runtime.engine, "files", result, b"{}", JAN) is False  # replayed
    assert _statuses(runtime) == ["pending"]
    assert inbox.process_pending(runtime) == 1
    assert inbox.process_pending(runtime) == 0
    assert _statuses(runtime) == ["processed"]
    assert runtime.ledger.balance("acme").total == 1000


def test_out_of_order_deliveries_converge(runtime: Runtime) -> None:
    later = WebhookResult("evt_2", "charge.refunded", events=[refund("re_1", "in_1", 250)])
    first = WebhookResult("evt_1", "invoice.paid", events=[purchase("in_1")])
    inbox.accept(runtime.engine, "files", later, b"{}", JAN)
    inbox.process_pending(runtime)  # the refund waits as an orphan exception
    inbox.accept(runtime.engine, "files", first, b"{}", JAN)
    inbox.process_pending(runtime)
    from connector.sync.exceptions import retry_exceptions

    retry_exceptions(runtime.engine, runtime.mappings.current)
    assert runtime.ledger.balance("acme").total == 750


def test_ignored_event_types_are_kept_but_not_processed(runtime: Runtime) -> None:
    result = WebhookResult("evt_9", "customer.updated", ignored=True)
    inbox.accept(runtime.engine, "files", result, b"{}", JAN)
    assert inbox.process_pending(runtime) == 0
    assert _statuses(runtime) == ["ignored"]


def test_a_job_already_running_is_skipped_not_stacked(runtime: Runtime) -> None:
    calls: list[int] = []
    with held(runtime.engine, "job:expire"):
        assert exclusive(runtime, "expire", lambda: calls.append(1)) is None
        assert expire_job(runtime) is None
    assert calls == []
    assert expire_job(runtime) == 0


def test_the_sync_job_applies_expires_recognizes_and_posts(db_url: str, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [purchase("ord_1", net_amount=1000)])
    runtime = runtime_for(
        db_url,
        tmp_path,
        connections={"shop": {"platform": "files", "settings": {"path": str(path)}}},
    )
    summary = sync_job(runtime, "shop")
    assert summary is not None and summary.status == "succeeded"
    assert runtime.ledger.balance("acme").total == 1000
    journal = list((tmp_path / "out" / "journal").glob("*"))
    assert journal, "the deferral of the purchase was posted to the files sink"
    assert "1000" in "".join(p.read_text() for p in journal)


def test_a_burst_applies_together_and_a_bad_delivery_holds_up_no_other(runtime: Runtime) -> None:
    good = [
        WebhookResult(f"evt_{i}", "invoice.paid", events=[purchase(f"in_{i}")]) for i in range(3)
    ]
    # a hint to re-fetch from a connection that has no source configured: this one fails
    bad = WebhookResult("evt_bad", "invoice.paid", fetch_hints=["in_elsewhere"])
    for result in [good[0], bad, *good[1:]]:
        inbox.accept(runtime.engine, "files", result, b"{}", JAN)
    assert inbox.process_pending(runtime) == 3
    assert _statuses(runtime) == ["processed", "pending", "processed", "processed"]
    assert runtime.ledger.balance("acme").total == 3000
    with runtime.engine.connect() as conn:
        error = conn.execute(
            select(webhook_inbox.c.error).where(webhook_inbox.c.event_id == "evt_bad")
        ).scalar_one()
    assert "no connection named 'files'" in error


def test_the_next_scheduled_sync_applies_what_a_fixed_mapping_now_covers(
    db_url: str, tmp_path: Path
) -> None:
    from connector.settings import EXAMPLE_MAPPINGS, Settings
    from connector.sync.exceptions import list_exceptions

    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "new.toml").write_text("# nothing sold here yet\n")
    path = write_jsonl(tmp_path / "p.jsonl", [purchase("ord_new", "brand-new", net_amount=900)])
    runtime = Runtime.from_settings(
        Settings(
            database_url=db_url,
            mapping_paths=[EXAMPLE_MAPPINGS, maps],
            output_dir=tmp_path / "out",
            connections={"shop": {"platform": "files", "settings": {"path": str(path)}}},
        )
    )
    sync_job(runtime, "shop")
    assert [e.reason_code for e in list_exceptions(runtime.engine)] == ["unmapped"]
    (maps / "new.toml").write_text(
        '[[catalog]]\nplatform = "files"\nitem_id = "brand-new"\ncredits = 900\n'
        'kind = "paid"\nexpiry = "P12M"\ncurrencies = ["USD"]\n'
    )
    runtime.mappings.reload()
    sync_job(runtime, "shop")  # the file has nothing new: the retry alone grants the pool
    assert list_exceptions(runtime.engine) == []
    assert runtime.ledger.balance("acme").total == 900
