"""`creditsync burn` is the API's twin: a replay returns the first result, and what cannot be a
burn (a negative number, an empty key) is refused with what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.ledger.service import Ledger
from connector.store.engine import make_engine
from connector.store.tables import burns
from connector.timeutil import utcnow
from tests.ledger_helpers import grant_request


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


def said(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def engine(cli_settings: str) -> Iterator[Engine]:
    engine = make_engine(cli_settings)
    ledger = Ledger(engine)
    ledger.grant(grant_request("acme", 100, effective_at=utcnow() - timedelta(days=10)))
    ledger.set_rate("query", "2", utcnow() - timedelta(days=20))
    yield engine
    engine.dispose()


def burn_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(burns)).scalar_one())


def test_a_replay_without_at_returns_the_first_result(engine: Engine) -> None:
    first = run("burn", "acme", "query", "3", "--key", "job-7")
    assert first.exit_code == 0, first.output
    assert "burned 6 credits [pool 1: 6]; balance 94" in said(first)
    again = run("burn", "acme", "query", "3", "--key", "job-7")
    assert again.exit_code == 0, again.output
    assert "burned 6 credits (replayed) [pool 1: 6]; balance 94" in said(again)
    assert burn_count(engine) == 1


def test_a_replay_with_the_same_explicit_content_returns_the_first_result(engine: Engine) -> None:
    when = (utcnow() - timedelta(hours=1)).isoformat()
    assert run("burn", "acme", "query", "3", "--key", "k", "--at", when).exit_code == 0
    again = run("burn", "acme", "query", "3", "--key", "k", "--at", when)
    assert again.exit_code == 0 and "(replayed)" in said(again)
    assert burn_count(engine) == 1


@pytest.mark.parametrize(
    "args",
    [
        ("burn", "acme", "query", "4", "--key", "job-7"),  # other units
        ("burn", "acme", "query", "3", "--key", "job-7", "--at", "2026-01-01T00:00Z"),  # other time
    ],
)
def test_a_different_burn_under_a_used_key_is_still_a_conflict(
    engine: Engine, args: tuple[str, ...]
) -> None:
    assert run("burn", "acme", "query", "3", "--key", "job-7").exit_code == 0
    conflict = run(*args)
    assert conflict.exit_code == 1
    assert "idempotency" in said(conflict).lower() or "different" in said(conflict).lower()
    assert burn_count(engine) == 1


@pytest.mark.parametrize("units", ["-1", "0", "-25"])
def test_a_negative_or_zero_number_says_what_is_wrong(engine: Engine, units: str) -> None:
    result = run("burn", "acme", "query", units, "--key", "neg")
    assert result.exit_code == 2, result.output
    assert f"error: units: {units} is not a positive number" in said(result)
    assert "No such option" not in result.output
    assert burn_count(engine) == 0


@pytest.mark.parametrize("key", ["", "   "])
def test_an_empty_key_is_refused(engine: Engine, key: str) -> None:
    result = run("burn", "acme", "query", "1", "--key", key)
    assert result.exit_code == 2
    assert "error: --key: is empty" in said(result)
    assert burn_count(engine) == 0


def test_negative_options_are_refused_with_the_range(engine: Engine) -> None:
    result = run("runs", "--limit", "-5")
    assert result.exit_code == 2
    assert "'--limit': Input should be greater than or equal to 1" in said(result)
    assert "No such option" not in result.output
