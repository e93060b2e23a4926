"""`rebuild --verify`: a realistic history replayed into a scratch database matches the live one,
and a tampered pool, burn or journal row shows up as a difference."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import select, update
from typer.testing import CliRunner

from connector.cli import reconcile_cmd
from connector.events import CanonicalEvent, Dispute, DisputeOutcome, SourceKey, Void
from connector.ledger import manual
from connector.ledger.models import BurnRequest, GrantRequest, PoolKind
from connector.rebuild.verify import RebuildResult, rebuild
from connector.recognition.closing import close_period
from connector.recognition.run import recognize
from connector.recognition.tables import journal_entries
from connector.runtime import Runtime
from connector.store.tables import burns, ledger_entries, pools
from connector.sync.engine import run_sync
from tests.sync_helpers import ListSource, purchase, refund, runtime_for


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def burn(
    runtime: Runtime, key: str, account: str, action: str, units: int, moment: datetime
) -> None:
    runtime.ledger.burn(BurnRequest(account, key, action, units, moment))


def history(runtime: Runtime) -> None:
    """Four months of a small business, in the order things arrive."""
    ledger = runtime.ledger
    ledger.set_rate("query", "1", at(1, 1, 0))
    ledger.set_rate("image", "10", at(1, 1, 0))
    january = [
        purchase("inv_1", "welcome-credits", at=at(1, 2), net_amount=0),
        purchase("inv_2", "credits-1k", at=at(1, 5)),
        purchase("inv_3", "credits-10k", customer="globex", at=at(1, 6), net_amount=10_000),
        purchase("inv_4", "credits-100k", customer="initech", at=at(1, 7), net_amount=50_000),
        purchase("inv_5", "credits-1k", customer="hooli", currency="EUR", at=at(1, 8)),
        purchase("inv_6", "not-sold-here", customer="hooli", at=at(1, 9)),  # an exception
    ]
    run_sync(runtime, "files", source=ListSource([january[:3], january[3:]]))
    run_sync(runtime, "again", source=ListSource([january]))  # an overlapping re-read
    ledger.grant(  # a goodwill grant typed in by support: no billing event behind it
        GrantRequest(
            account_id="hooli",
            kind=PoolKind.PROMOTIONAL,
            credits=100,
            revenue_amount=0,
            currency="EUR",
            effective_at=at(1, 8),
            expires_at=at(2, 20),
            source=SourceKey(platform="support", object_id="ticket_42", line_id=""),
        )
    )
    burn(runtime, "a1", "acme", "query", 300, at(1, 10))
    burn(runtime, "g1", "globex", "image", 50, at(1, 12))
    burn(runtime, "i1", "initech", "query", 20_000, at(1, 20))
    burn(runtime, "h1", "hooli", "query", 150, at(1, 25))
    recognize(runtime.engine, at(2, 1, 0), runtime.gl_accounts, sinks=["files"])
    with runtime.engine.begin() as conn:
        close_period(conn, "2026-01")
    ledger.set_rate("query", "2", at(2, 1, 0), note="model cost up")
    burn(runtime, "a2", "acme", "query", 100, at(2, 3))
    burn(runtime, "g2", "globex", "query", 1_000, at(2, 10))
    burn(runtime, "i2", "initech", "image", 500, at(2, 11))
    burn(runtime, "g0", "globex", "query", 200, at(1, 30))  # late: January is closed
    adjustments: list[CanonicalEvent] = [
        purchase("inv_7", at=at(2, 2)),  # after the re-read: PostgreSQL's ids now have gaps
        refund("re_1", "inv_3", 2_000, at=at(2, 15)),
        Void(
            source=SourceKey(platform="files", object_id="void_5"),
            occurred_at=at(2, 16),
            currency="EUR",
            target_object="inv_5",
        ),
        Dispute(
            source=SourceKey(platform="files", object_id="dp_4"),
            occurred_at=at(2, 18),
            currency="USD",
            target_object="inv_4",
            amount=5_000,
            outcome=DisputeOutcome.LOST,
        ),
    ]
    run_sync(runtime, "adjustments", source=ListSource([adjustments]))
    with runtime.engine.begin() as conn:  # corrections by hand, with who and why
        acme, globex = (
            conn.execute(
                select(pools.c.id).where(pools.c.account_id == account).order_by(pools.c.id)
            ).scalar()
            for account in ("acme", "globex")
        )
        assert acme is not None and globex is not None
        manual.adjust(conn, acme, 50, manual.Author("adj-1", "ops", "credited twice"), at(2, 19))
        manual.void(conn, globex, manual.Author("void-9", "finance", "cancelled"), at(2, 19))
        goodwill = manual.ManualGrant("acme", 75, effective_at=at(2, 20))
        manual.grant(conn, goodwill, manual.Author("gw-1", "support", "outage"))
    ledger.expire(at(3, 1, 0))
    recognize(runtime.engine, at(3, 1, 0), runtime.gl_accounts, "detailed", sinks=["files"])
    burn(runtime, "a3", "acme", "image", 20, at(3, 5))
    recognize(runtime.engine, at(4, 1, 0), runtime.gl_accounts, "detailed", sinks=["files"])


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    built = runtime_for(db_url, tmp_path)
    history(built)
    return built


def verify(runtime: Runtime) -> RebuildResult:
    return rebuild(
        runtime.engine,
        current=runtime.mappings.current,
        gl=runtime.gl_accounts,
        plans=runtime.plan_policy,
    )


def test_the_history_touches_what_a_rebuild_must_reproduce(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        statuses = set(conn.execute(select(pools.c.status)).scalars())
        kinds = set(conn.execute(select(ledger_entries.c.kind)).scalars())
        rates = set(
            conn.execute(select(burns.c.rate_id).where(burns.c.account_id == "acme")).scalars()
        )
        late = conn.execute(
            select(journal_entries.c.id).where(journal_entries.c.late.is_(True))
        ).first()
        detailed = conn.execute(
            select(journal_entries.c.payload).where(journal_entries.c.period == "2026-02")
        ).scalars()
        pool_ids = [p["pool_ids"] for p in detailed]
    assert {"expired", "voided", "active"} <= statuses
    assert {"grant", "burn", "expire", "void", "clawback", "adjust"} <= kinds
    assert len(rates) == 3  # query v1, query v2 and image: burns across rate changes
    assert late is not None
    assert pool_ids and all(ids for ids in pool_ids)  # detailed entries name their pools


def test_a_faithful_database_rebuilds_exactly(runtime: Runtime) -> None:
    result = verify(runtime)
    assert result.errors == []
    assert result.mismatches == []
    assert result.verified
    assert result.skipped == 1  # the unmapped purchase stays an exception
    with runtime.engine.connect() as conn:
        live_pools = len(conn.execute(select(pools.c.id)).all())
        live_entries = len(conn.execute(select(journal_entries.c.id)).all())
    assert result.compared["pools"] == live_pools
    assert result.compared["journal entries"] == live_entries > 10
    assert result.compared["burns"] == 9


def test_a_tampered_pool_is_reported(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(
            update(pools)
            .where(pools.c.source_object == "inv_3", pools.c.source_part == "paid")
            .values(credits_remaining=pools.c.credits_remaining + 1)
        )
    result = verify(runtime)
    assert not result.verified
    assert [(m.what, m.key, m.field) for m in result.mismatches] == [
        ("pool", "files:inv_3:1:paid", "credits_remaining")
    ]
    only = result.mismatches[0]
    assert int(only.live) == int(only.rebuilt) + 1


def test_a_tampered_journal_entry_is_reported(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        entry_id, payload = conn.execute(
            select(journal_entries.c.id, journal_entries.c.payload)
            .where(journal_entries.c.kind == "recognition")
            .order_by(journal_entries.c.id)
        ).first()  # type: ignore[misc]
        lines = [
            {
                **line,
                "debit": line["debit"] and line["debit"] + 1,
                "credit": line["credit"] and line["credit"] + 1,
            }
            for line in payload["lines"]
        ]
        conn.execute(
            update(journal_entries)
            .where(journal_entries.c.id == entry_id)
            .values(payload={**payload, "lines": lines})
        )
    result = verify(runtime)
    assert [(m.what, m.key, m.field) for m in result.mismatches] == [
        ("journal entry", entry_id, "lines")
    ]


def test_a_burn_moved_to_another_pool_is_reported(runtime: Runtime) -> None:
    with runtime.engine.begin() as conn:
        burn_id = conn.execute(
            select(burns.c.id).where(burns.c.idempotency_key == "g2")
        ).scalar_one()
        conn.execute(update(burns).where(burns.c.id == burn_id).values(overage_credits=7))
    result = verify(runtime)
    assert [(m.what, m.key, m.field, m.live, m.rebuilt) for m in result.mismatches] == [
        ("burn", "globex/g2", "overage_credits", "7", "0")
    ]


@pytest.fixture
def cli_env(runtime: Runtime, cli_settings: str) -> Runtime:
    return runtime


def run(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    reconcile_cmd.register(app)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_cli_verifies_then_reports_a_difference(cli_env: Runtime, tmp_path: Path) -> None:
    code, output = run("rebuild", "--verify", "--scratch", str(tmp_path / "scratch.db"))
    assert code == 0, output
    assert "rebuild verified:" in output
    assert (tmp_path / "scratch.db").exists()
    with cli_env.engine.begin() as conn:
        conn.execute(update(pools).where(pools.c.source_object == "inv_2").values(status="voided"))
    code, output = run("rebuild", "--verify")
    assert code == 1
    assert "rebuild differs" in output and "files:inv_2:1:paid" in output


def test_cli_refuses_a_rebuild_that_neither_verifies_nor_keeps(cli_env: Runtime) -> None:
    code, output = run("rebuild")
    assert code == 1
    assert "error: verify:" in output
