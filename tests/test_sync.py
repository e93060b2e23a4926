from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.events import CanonicalEvent
from connector.ledger.models import PoolKind
from connector.runtime import Runtime
from connector.store.tables import pools
from connector.sync.engine import list_runs, run_sync
from connector.sync.exceptions import list_exceptions, retry_exceptions
from connector.sync.lease import LeaseHeld, held
from mappings.loader import load_mappings
from tests.sync_helpers import ListSource, purchase, refund, runtime_for, write_jsonl


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    return runtime_for(db_url, tmp_path)


def _pool_count(runtime: Runtime) -> int:
    with runtime.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(pools)).scalar_one()


def test_a_purchase_becomes_paid_and_bonus_pools_for_a_linked_account(runtime: Runtime) -> None:
    source = ListSource([[purchase("ord_1", "credits-10k", net_amount=10_000)]])
    summary = run_sync(runtime, "files", source=source)
    assert summary.status == "succeeded"
    assert summary.report.counts == Counter({"purchase.granted": 1})
    pools_ = runtime.ledger.account_pools("acme")
    assert sorted((p.kind, p.credits_granted, p.revenue_amount) for p in pools_) == [
        (PoolKind.BONUS, 2000, 1667),
        (PoolKind.PAID, 10_000, 8333),
    ]
    assert {p.mapping_version for p in pools_} == {runtime.mappings.current.version}


def test_several_lines_of_one_invoice_give_one_pool_set_per_mapped_line(runtime: Runtime) -> None:
    lines = [
        purchase("inv_9", "credits-1k", line_id="a"),
        purchase("inv_9", "credits-1k", line_id="b", quantity=3, net_amount=3000),
        purchase("inv_9", "not-sold-here", line_id="c"),
    ]
    summary = run_sync(runtime, "files", source=ListSource([lines]))
    assert summary.report.counts == Counter({"purchase.granted": 2, "purchase.unmapped": 1})
    assert runtime.ledger.balance("acme").total == 4000


def test_running_the_same_events_again_changes_nothing(runtime: Runtime) -> None:
    events: list[CanonicalEvent] = [purchase("ord_1"), refund("re_1", "ord_1", 400)]
    run_sync(runtime, "a", source=ListSource([events]))
    balance = runtime.ledger.balance("acme").total
    run_sync(runtime, "b", source=ListSource([events]))  # another cursor: everything again
    assert _pool_count(runtime) == 1
    assert runtime.ledger.balance("acme").total == balance == 600
    assert runtime.ledger.verify() == []


def test_a_crash_mid_sync_resumes_from_the_last_finished_page(runtime: Runtime) -> None:
    pages = [[purchase(f"ord_{p}_{i}") for i in range(3)] for p in range(4)]
    crashing = ListSource(pages, fail_on=2)
    with pytest.raises(ConnectionError):
        run_sync(runtime, "files", source=crashing)
    assert _pool_count(runtime) == 6
    failed = list_runs(runtime.engine)[0]
    assert failed.status == "failed" and "page 2" in (failed.error or "")
    healthy = ListSource(pages)
    summary = run_sync(runtime, "files", source=healthy)
    assert healthy.served == [2, 3]  # resumed from the cursor saved with page 1
    assert summary.report.counts["purchase.granted"] == 6
    assert _pool_count(runtime) == 12
    assert runtime.ledger.balance("acme").total == 12_000


def test_two_runs_of_one_connection_never_overlap(runtime: Runtime) -> None:
    with held(runtime.engine, "sync:files"), pytest.raises(LeaseHeld, match="already running"):
        run_sync(runtime, "files", source=ListSource([[purchase("ord_1")]]))
    assert _pool_count(runtime) == 0
    run_sync(runtime, "files", source=ListSource([[purchase("ord_1")]]))  # free again
    assert _pool_count(runtime) == 1


def test_unmapped_items_and_orphan_refunds_wait_as_exceptions_and_retry(
    runtime: Runtime, tmp_path: Path
) -> None:
    events: list[CanonicalEvent] = [
        refund("re_1", "ord_new", 500),  # arrives before its purchase is mappable
        purchase("ord_new", "brand-new-bundle", net_amount=2000),
        purchase("ord_eur", "credits-1k", currency="KWD", net_amount=1000),
    ]
    summary = run_sync(runtime, "files", source=ListSource([events]))
    assert summary.report.counts == Counter(
        {"purchase.unmapped": 1, "purchase.held": 1, "refund.orphan": 1}
    )
    open_ = {(r.event_kind, r.reason_code): r for r in list_exceptions(runtime.engine)}
    assert set(open_) == {("purchase", "unmapped"), ("purchase", "held"), ("refund", "orphan")}
    assert "brand-new-bundle" in open_[("purchase", "unmapped")].reason
    assert "KWD" in open_[("purchase", "held")].reason

    fixed = tmp_path / "new.toml"
    fixed.write_text(
        '[[catalog]]\nplatform = "files"\nitem_id = "brand-new-bundle"\ncredits = 2000\n'
        'kind = "paid"\nexpiry = "P12M"\ncurrencies = ["USD"]\n'
    )
    from connector.settings import EXAMPLE_MAPPINGS

    report = retry_exceptions(runtime.engine, load_mappings([EXAMPLE_MAPPINGS, fixed]))
    assert (report.tried, report.resolved, report.still_open) == (3, 2, 1)
    assert runtime.ledger.balance("acme").total == 1500  # 2000 granted, 500 refunded
    assert [r.reason_code for r in list_exceptions(runtime.engine)] == ["held"]


def test_files_source_sync_through_the_cli(
    runtime: Runtime, tmp_path: Path, cli_settings: str
) -> None:
    from typer.testing import CliRunner

    from connector.cli import app

    path = write_jsonl(tmp_path / "p.jsonl", [purchase("ord_1"), purchase("ord_2", "mystery")])
    result = CliRunner().invoke(app, ["sync", "--platform", "files", "--path", str(path)])
    again = CliRunner().invoke(app, ["sync", "--platform", "files", "--path", str(path)])
    listed = CliRunner().invoke(app, ["exceptions"])
    runs = CliRunner().invoke(app, ["runs"])
    assert result.exit_code == 0, result.output
    assert "granted" in result.output and "unmapped" in result.output
    assert again.exit_code == 0
    assert "mystery" in listed.output
    assert runs.output.count("succeeded") == 2
    assert runtime.ledger.balance("acme").total == 1000


def test_a_refund_of_a_whole_invoice_is_spread_over_its_pools_by_amount(runtime: Runtime) -> None:
    from connector.recognition.tables import recognition_money

    events: list[CanonicalEvent] = [
        purchase("ord_b", "credits-10k", net_amount=10_000),
        refund("re_b", "ord_b", 1000),
    ]
    run_sync(runtime, "files", source=ListSource([events]))
    pools_ = {p.kind: p for p in runtime.ledger.account_pools("acme")}
    with runtime.engine.connect() as conn:
        refunded = dict(
            conn.execute(select(recognition_money.c.pool_id, recognition_money.c.amount)).all()
        )
    assert refunded == {pools_[PoolKind.PAID].id: 833, pools_[PoolKind.BONUS].id: 167}
    # credits clawed back in proportion: 1000 x 833/8333 and 200 x 167/1667
    assert runtime.ledger.balance("acme").total == (10_000 - 1000) + (2000 - 200)
