"""The ledger commands, run as a user runs them, against each database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.ledger.service import Ledger
from connector.store.engine import make_engine
from tests.ledger_helpers import grant_request


@pytest.fixture
def cli(cli_settings: str) -> str:
    return cli_settings


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_rates_burn_balance_and_verify(cli: str) -> None:
    engine = make_engine(cli)
    Ledger(engine).grant(grant_request("acme", 100))
    assert run("rates", "set", "query", "1", "--from", "2025-12-01T00:00Z").exit_code == 0
    changed = run("rates", "set", "query", "2", "--from", "2026-01-01T00:00Z", "--note", "cost")
    assert "version 2" in changed.output
    history = run("rates", "history", "query")
    assert "cost" in history.output and history.output.count("query") == 3  # title + 2 rows

    burned = run("burn", "acme", "query", "5", "--key", "k1", "--at", "2026-01-02T00:00Z")
    assert burned.exit_code == 0, burned.output
    assert "burned 10 credits [pool 1: 10]; balance 90" in burned.output
    replay = run("burn", "acme", "query", "5", "--key", "k1", "--at", "2026-01-02T00:00Z")
    assert "(replayed)" in replay.output
    assert "acme: 90 credits" in run("balance", "acme").output
    assert "every pool and burn adds up" in run("verify").output


def test_refusals_are_one_clear_line_and_exit_1(cli: str) -> None:
    Ledger(make_engine(cli)).grant(grant_request("acme", 3))
    run("rates", "set", "query", "1", "--from", "2025-12-01T00:00Z")
    too_big = run("burn", "acme", "query", "5", "--at", "2026-01-02T00:00Z")
    assert too_big.exit_code == 1
    assert "has 3 credits available, the burn needs 5; nothing was burned" in too_big.output
    naive = run("burn", "acme", "query", "1", "--at", "2026-01-02T00:00")
    assert naive.exit_code == 1 and "--at: datetime has no timezone" in naive.output
    unknown = run("burn", "acme", "teleport", "1", "--at", "2026-01-02T00:00Z")
    assert unknown.exit_code == 1 and "action: unknown action 'teleport'" in unknown.output


def test_order_is_shown_set_and_reset_per_account(cli: str) -> None:
    Ledger(make_engine(cli)).grant(grant_request("acme", 3))
    assert "its plan's order" in run("order", "acme").output
    assert "acme: oldest_first" in run("order", "acme", "oldest_first").output
    assert "acme: oldest_first" in run("order", "acme").output
    bad = run("order", "acme", "random")
    assert bad.exit_code == 1 and "unknown policy 'random'" in bad.output
    assert "its plan's order" in run("order", "acme", "--plan-default").output
    assert run("order", "ghost").exit_code == 1


def test_expire_reports_the_credits_lost(cli: str) -> None:
    from datetime import UTC, datetime

    Ledger(make_engine(cli)).grant(
        grant_request("acme", 40, expires_at=datetime(2026, 2, 1, tzinfo=UTC))
    )
    result = run("expire", "--at", "2026-03-01T00:00Z")
    assert result.exit_code == 0
    assert "1 pool expired with credits left, 40 credits lost" in result.output


def test_usage_backfill_from_a_file_is_checked_whole_then_burned(cli: str, tmp_path: Path) -> None:
    engine = make_engine(cli)
    Ledger(engine).grant(grant_request("acme", 100))
    Ledger(engine).grant(grant_request("bob", 100))
    assert run("rates", "set", "query", "1", "--from", "2025-12-01T00:00Z").exit_code == 0
    usage = tmp_path / "usage.jsonl"
    lines = [
        {
            "account_id": "acme",
            "idempotency_key": f"u{i}",
            "action": "query",
            "units": 5,
            "occurred_at": f"2026-01-0{i + 2}T00:00:00Z",
        }
        for i in range(3)
    ]
    bad = [*lines, {**lines[0], "idempotency_key": "u9", "units": "many"}, {"account_id": "bob"}]
    usage.write_text("".join(json.dumps(line) + "\n" for line in bad))
    refused = run("burn", "--file", str(usage))
    assert refused.exit_code == 1
    said = " ".join(refused.output.split())
    assert "2 bad line(s), nothing was burned" in said
    assert "line 4: units: 'many' is not a positive whole number" in said
    assert "line 5: idempotency_key: is required" in said
    assert "acme: 100 credits" in run("balance", "acme").output

    usage.write_text("".join(json.dumps(line) + "\n" for line in lines))
    done = run("burn", "--file", str(usage))
    assert done.exit_code == 0, done.output
    assert "usage.jsonl: 3 burns (15 credits), 0 already burned before" in done.output
    assert (
        "0 burns (0 credits), 3 already burned before" in run("burn", "--file", str(usage)).output
    )
    as_csv = tmp_path / "usage.csv"
    as_csv.write_text(
        "account_id,idempotency_key,action,units,occurred_at\nbob,c1,query,7,2026-01-05T00:00:00Z\n"
    )
    assert "1 burn (7 credits)" in run("burn", "--file", str(as_csv)).output
    assert "acme: 85 credits" in run("balance", "acme").output
    assert "acme: 100 credits" in run("balance", "acme", "--at", "2026-01-01T12:00Z").output
    alone = run("burn", "acme", "--file", str(usage))
    assert alone.exit_code == 2 and "--file: comes alone" in alone.output
