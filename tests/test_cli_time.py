"""Time cannot run ahead of now: recognize, expire, burn and periods close refuse the future
(from the command line and the admin API), ``--dry-run`` writes nothing, and a ``--through``
date ends at the next local midnight even when daylight saving changes that day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner, Result

from connector.cli import app
from connector.errors import InvalidInput
from connector.horizon import not_after_now, period_has_ended
from connector.ledger.service import Ledger
from connector.recognition.periods import parse_through, period_of
from connector.store.engine import make_engine
from connector.store.schema import metadata
from connector.timeutil import utcnow
from tests.ledger_helpers import grant_request
from tests.test_api_support import auth, client_for, make_runtime

NEW_YORK = ZoneInfo("America/New_York")


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), terminal_width=200)


def said(result: Result) -> str:
    return " ".join(result.output.split())


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def engine(cli_settings: str) -> Iterator[Engine]:
    """A database with one account: credits granted a year ago that expired yesterday, and a
    rate for the action ``query``."""
    engine = make_engine(cli_settings)
    ledger = Ledger(engine)
    now = utcnow()
    ledger.grant(
        grant_request(
            "acme",
            100,
            revenue=1000,
            effective_at=now - timedelta(days=365),
            expires_at=now - timedelta(days=1),
        )
    )
    ledger.grant(grant_request("acme", 50, effective_at=now - timedelta(days=30), line_id="l2"))
    ledger.set_rate("query", "1", now - timedelta(days=400))
    yield engine
    engine.dispose()


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def test_recognize_refuses_a_cutoff_after_now(engine: Engine) -> None:
    tomorrow = (utcnow() + timedelta(days=1)).date()
    before = counts(engine)
    for through in (tomorrow.isoformat(), stamp(utcnow() + timedelta(hours=1))):
        result = run("recognize", "--through", through)
        assert result.exit_code == 1, result.output
        assert "--through:" in said(result) and "is in the future" in said(result)
        assert "Traceback" not in result.output
    today_unfinished = run("recognize", "--through", utcnow().date().isoformat())
    assert today_unfinished.exit_code == 1 and "is in the future" in said(today_unfinished)
    assert counts(engine) == before


def test_expire_refuses_a_future_moment(engine: Engine) -> None:
    before = counts(engine)
    result = run("expire", "--at", stamp(utcnow() + timedelta(days=30)))
    assert result.exit_code == 1
    assert "--at:" in said(result) and "is in the future" in said(result)
    assert counts(engine) == before
    assert "acme: 50 credits" in run("balance", "acme").output


def test_burn_allows_the_clock_skew_and_refuses_beyond_it(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead = run("burn", "acme", "query", "1", "--at", stamp(utcnow() + timedelta(hours=1)))
    assert ahead.exit_code == 1
    assert "is in the future" in said(ahead) and "clock skew" in said(ahead)
    skewed = run("burn", "acme", "query", "1", "--at", stamp(utcnow() + timedelta(minutes=2)))
    assert skewed.exit_code == 0, skewed.output  # within the default 5 minutes

    from connector.settings import get_settings

    monkeypatch.setenv("CREDITSYNC_BURN_CLOCK_SKEW_SECONDS", "0")
    get_settings.cache_clear()
    strict = run("burn", "acme", "query", "1", "--at", stamp(utcnow() + timedelta(minutes=2)))
    assert strict.exit_code == 1 and "is in the future" in said(strict)
    assert "acme: 49 credits" in run("balance", "acme").output


def test_periods_close_refuses_the_month_that_has_not_ended(engine: Engine) -> None:
    current = period_of(utcnow(), UTC)
    result = run("periods", "close", current)
    assert result.exit_code == 1
    assert f"period: {current} has not ended" in said(result)
    assert "Traceback" not in result.output


def test_the_admin_api_refuses_to_close_the_current_month(db_url: str, tmp_path: Path) -> None:
    runtime = make_runtime(db_url, tmp_path)
    current = period_of(utcnow(), UTC)
    with client_for(runtime) as client:
        answer = client.post(f"/v1/admin/periods/{current}/close", headers=auth("admin"))
    runtime.engine.dispose()
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "period" and "has not ended" in error["message"]


def test_dry_runs_say_what_would_happen_and_write_nothing(engine: Engine) -> None:
    before = counts(engine)

    expire = run("expire", "--dry-run")
    assert expire.exit_code == 0, expire.output
    assert "1 pool would expire with credits left, 100 credits would be lost" in said(expire)
    assert "nothing was written" in said(expire)
    assert counts(engine) == before

    yesterday = (utcnow() - timedelta(days=1)).date().isoformat()
    rehearsed = run("recognize", "--through", yesterday, "--dry-run")
    assert rehearsed.exit_code == 0, rehearsed.output
    assert "would recognize through" in said(rehearsed)
    assert counts(engine) == before
    real = run("recognize", "--through", yesterday)
    assert real.exit_code == 0, real.output
    # the rehearsal printed the very entries the real run then posted
    assert _entry_rows(rehearsed) == _entry_rows(real) != []

    assert run("expire").exit_code == 0
    first = min(period for period in _entry_periods(engine))
    after_real = counts(engine)
    close = run("periods", "close", first, "--dry-run")
    assert close.exit_code == 0, close.output
    assert f"{first} would be closed" in said(close) and "nothing was written" in said(close)
    assert counts(engine) == after_real
    assert f"{first} is closed" in said(run("periods", "close", first))


def _entry_rows(result: Result) -> list[str]:
    """The rows of the printed entries table (each ends with the entry's id)."""
    return [line for line in result.output.splitlines() if line.count("│") >= 6]


def _entry_periods(engine: Engine) -> list[str]:
    from connector.recognition.tables import journal_entries

    with engine.connect() as conn:
        return list(conn.execute(select(journal_entries.c.period).distinct()).scalars())


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2026, 3, 8), 23), (date(2026, 11, 1), 25), (date(2026, 6, 1), 24)],
)
def test_a_through_date_ends_at_the_next_local_midnight(day: date, hours: int) -> None:
    cutoff = parse_through(day.isoformat(), NEW_YORK)
    start = parse_through((day - timedelta(days=1)).isoformat(), NEW_YORK)
    local = cutoff.astimezone(NEW_YORK)
    assert (local.date(), local.hour, local.minute) == (day + timedelta(days=1), 0, 0)
    assert cutoff - start == timedelta(hours=hours)


NOW = datetime(2026, 3, 31, 12, tzinfo=UTC)


def test_not_after_now_allows_now_and_the_skew_and_nothing_beyond() -> None:
    skew = timedelta(minutes=5)
    assert not_after_now(NOW, "at", "fix", now=NOW) == NOW
    assert not_after_now(NOW + skew, "at", "fix", skew=skew, now=NOW) == NOW + skew
    with pytest.raises(InvalidInput) as refused:
        not_after_now(NOW + skew + timedelta(microseconds=1), "at", "fix", skew=skew, now=NOW)
    assert refused.value.field == "at" and "0:05:00 of clock skew" in refused.value.problem


def test_a_period_has_ended_at_its_local_end() -> None:
    march_ends = datetime(2026, 4, 1, 4, tzinfo=UTC)  # midnight in New York (EDT, UTC-4)
    assert period_has_ended(" 2026-03 ", NEW_YORK, now=march_ends) == "2026-03"
    with pytest.raises(InvalidInput) as refused:
        period_has_ended("2026-03", NEW_YORK, now=march_ends - timedelta(microseconds=1))
    assert refused.value.fix == "close it once 2026-03-31 is over"
