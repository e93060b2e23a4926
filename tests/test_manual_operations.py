"""Manual grants, voids and adjustments: who, why, an idempotency key, their journal entries,
the audit trail; and finding accounts (core, CLI)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.errors import Conflict, InvalidInput, NotFound
from connector.journal import EntryKind as JournalKind
from connector.ledger import accounts, directory, manual
from connector.ledger.models import PoolKind
from connector.recognition.run import recognize
from connector.store.engine import make_engine
from tests.test_recognition_helpers import GL, at, burn, grant, month_start, new_ledger

SUPPORT = manual.Author("goodwill-1", "dana@example.com", "outage on 2026-01-10")


def test_a_goodwill_grant_is_promotional_and_retrying_it_changes_nothing(engine: Engine) -> None:
    new_ledger(engine)
    request = manual.ManualGrant("acme", 500, effective_at=at(2026, 1, 11))
    with engine.begin() as conn:
        accounts.ensure_account(conn, "acme")
        first = manual.grant(conn, request, SUPPORT)
        again = manual.grant(conn, request, SUPPORT)
        with pytest.raises(Conflict) as reused:
            manual.grant(conn, manual.ManualGrant("acme", 900), SUPPORT)
    assert (first.credits, first.replayed, again.replayed) == (500, False, True)
    assert again.pool_id == first.pool_id
    assert "goodwill-1" in str(reused.value)
    assert new_ledger(engine).balance("acme").total == 500
    run = recognize(engine, month_start(2026, 2), GL)
    assert run.entries == ()  # promotional credits move no money


def test_credits_sold_outside_any_platform_are_billed_and_deferred(engine: Engine) -> None:
    new_ledger(engine)
    sold = manual.Author("inv-77", "finance@example.com", "annual deal, invoice 77")
    request = manual.ManualGrant(
        "acme", 1000, kind=PoolKind.PAID, amount=120000, effective_at=at(2026, 1, 5)
    )
    with engine.begin() as conn:
        manual.grant(conn, request, sold)
    run = recognize(engine, month_start(2026, 2), GL)
    assert [(e.kind, e.total) for e in run.entries] == [(JournalKind.DEFERRAL, 120000)]


def test_a_void_returns_the_deferred_balance_and_an_adjustment_removes_credits(
    engine: Engine,
) -> None:
    ledger = new_ledger(engine)
    pool = grant(ledger, amount=10000, credits=1000, effective_at=at(2026, 1, 2, 0))
    other = grant(
        ledger, amount=0, credits=100, effective_at=at(2026, 1, 2, 0), kind=PoolKind.BONUS
    )
    burn(ledger, 100, at(2026, 1, 5))  # the bonus pool first
    burn(ledger, 400, at(2026, 1, 6))
    fix = manual.Author("fix-1", "ops@example.com", "double grant")
    with engine.begin() as conn:
        author = manual.Author("void-1", "finance", "sold twice")
        voided = manual.void(conn, pool, author, at(2026, 1, 10))
        with pytest.raises(InvalidInput) as too_many:
            manual.adjust(conn, other, 5, fix)
    assert voided.credits == -600
    assert too_many.value.field == "credits"  # the bonus pool is empty
    run = recognize(engine, month_start(2026, 2), GL)
    refunds = [e.total for e in run.entries if e.kind is JournalKind.REFUND]
    assert refunds == [6000], run.entries  # the deferred balance left goes back to clearing
    assert new_ledger(engine).balance("acme").total == 0


def test_the_audit_trail_says_who_and_why(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool = grant(ledger, amount=10000, credits=1000, effective_at=at(2026, 1, 2, 0))
    burn(ledger, 10, at(2026, 1, 3))
    with engine.begin() as conn:
        manual.adjust(conn, pool, 90, SUPPORT, at(2026, 1, 4))
        trail = manual.audit_trail(conn, "acme")
        with pytest.raises(NotFound):
            manual.audit_trail(conn, "nobody")
        with pytest.raises(InvalidInput) as no_reason:
            manual.Author("k", "someone", " ")
    assert [(e.kind, e.credits, e.who) for e in trail] == [
        ("grant", 1000, "test"),
        ("burn", -10, "usage"),
        ("adjust", -90, "dana@example.com"),
    ]
    assert trail[-1].why == "outage on 2026-01-10"
    assert no_reason.value.field == "reason"


def test_accounts_are_found_by_id_name_email_or_platform_id(engine: Engine) -> None:
    with engine.begin() as conn:
        accounts.ensure_account(conn, "acme", name="Acme Corp", email="ops@acme.test")
        accounts.ensure_account(conn, "bob_1", name="Bob", email="bob@example.com")
        accounts.ensure_account(conn, "bobx1", name="Other")
        accounts.link(conn, "stripe", "cus_ACME42", "acme")
    with engine.connect() as conn:
        assert [a.id for a in directory.search(conn)] == ["acme", "bob_1", "bobx1"]
        assert [a.id for a in directory.search(conn, "ACME")] == ["acme"]
        assert [a.id for a in directory.search(conn, "cus_acme")] == ["acme"]
        assert [a.id for a in directory.search(conn, "b_1")] == ["bob_1"]  # _ is literal
        assert [a.id for a in directory.search(conn, "example.com")] == ["bob_1"]
        assert [a.id for a in directory.search(conn, after="acme", limit=1)] == ["bob_1"]
        view = directory.view(conn, "acme")
        with pytest.raises(NotFound):
            directory.view(conn, "nobody")
    assert view.links == (("stripe", "cus_ACME42"),)
    assert (view.account.name, view.balance.total, view.pools) == ("Acme Corp", 0, ())


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


def test_grant_ledger_and_accounts_from_the_command_line(cli_settings: str) -> None:
    engine = make_engine(cli_settings)
    new_ledger(engine)
    with engine.begin() as conn:
        accounts.ensure_account(conn, "acme", name="Acme Corp")
    args = ("--reason", "outage", "--actor", "dana", "--key", "gw-1")
    granted = cli("grant", "acme", "250", *args, "--expires", "2027-01-01T00:00Z")
    assert granted.exit_code == 0, granted.output
    assert "grant +250 credits on pool 1 of acme by dana" in granted.output
    assert (
        "already done"
        in cli("grant", "acme", "250", *args, "--expires", "2027-01-01T00:00Z").output
    )
    sold = cli(
        "grant",
        "acme",
        "100",
        "--kind",
        "paid",
        "--amount",
        "19.99",
        "--reason",
        "invoice 9",
        "--actor",
        "finance",
        "--key",
        "inv-9",
    )
    assert sold.exit_code == 0, sold.output
    shown = cli("accounts", "acme")
    assert shown.exit_code == 0 and "balance   350 credits" in shown.output
    with engine.connect() as conn:
        amounts = [(p.kind, p.revenue_amount) for p in directory.view(conn, "acme").pools]
    assert amounts == [(PoolKind.PROMOTIONAL, 0), (PoolKind.PAID, 1999)]
    assert "acme" in cli("accounts", "--search", "corp").output
    trail = cli("ledger", "acme")
    assert "dana" in trail.output and "outage" in trail.output and "invoice 9" in trail.output
    bad = cli(
        "grant", "acme", "1", "--amount", "1.234", "--reason", "x", "--actor", "y", "--key", "z"
    )
    assert bad.exit_code == 1 and "amount" in bad.output
    assert cli("ledger", "nobody").exit_code == 1
    void = cli("void", "2", "--reason", "wrong customer", "--actor", "finance", "--key", "v-2")
    assert void.exit_code == 0 and "void -100 credits on pool 2" in void.output
    engine.dispose()
