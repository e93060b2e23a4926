"""`creditsync recognize`, `periods`, `post` and `report`, through Typer's test runner."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from connector.cli import recognition_cmd
from connector.ledger.service import Ledger
from connector.store.engine import make_engine
from tests.test_recognition_helpers import at, burn, grant, new_ledger


@pytest.fixture
def ledger(cli_settings: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ledger]:
    monkeypatch.setenv("COLUMNS", "200")
    engine = make_engine(cli_settings)
    yield new_ledger(engine)
    engine.dispose()


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()
    recognition_cmd.register(root)
    return root


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), terminal_width=200)
    return result.exit_code, result.output


def said(output: str) -> str:
    """The output with its line wrapping undone (the console's width depends on the terminal)."""
    return " ".join(output.split())


def test_recognize_close_post_and_report(app: typer.Typer, ledger: Ledger, tmp_path: Path) -> None:
    grant(ledger, amount=9000, credits=900, effective_at=at(2026, 1, 2, 0))
    burn(ledger, 300, at(2026, 1, 15))
    code, out = run(app, "recognize", "--through", "2026-01-31")
    assert code == 0, out
    assert "2 new entries (0 late)" in said(out)
    code, out = run(app, "periods", "close", "2026-01")
    assert code == 0 and "2026-01 is closed" in said(out)
    code, out = run(app, "periods", "close", "2026-03")
    assert code == 1 and "close 2026-02 first" in said(out)
    burn(ledger, 150, at(2026, 1, 30))
    code, out = run(app, "recognize", "--through", "2026-02-28", "--mode", "detailed")
    assert code == 0 and "1 new entries (1 late)" in said(out)
    code, out = run(app, "periods", "list")
    assert "2026-01" in out and "closed" in out and "2026-02" in out
    code, out = run(app, "post")
    assert code == 0 and "files: 3 posted, 0 failed" in said(out)
    journal = tmp_path / "out" / "journal"
    assert sorted(p.name for p in journal.iterdir() if p.suffix == ".jsonl") == [
        "journal-2026-01.jsonl",
        "journal-2026-02.jsonl",
    ]
    code, out = run(app, "post")
    assert "files: 0 posted" in said(out)
    code, out = run(app, "report", "rollforward", "--format", "json")
    (section,) = json.loads(out)["sections"]
    assert [r["closing"] for r in section["rows"]] == ["60.00", "45.00"]
    assert [r["closing_minor"] for r in section["rows"]] == [6000, 4500]
    # January closed before the late burn arrived: it ties to the pools as known at its close,
    # and February shows the late consumption on its late line
    assert [r["check"] for r in section["rows"]] == ["ties", "ties"]
    assert [r["late"] for r in section["rows"]] == ["0.00", "-15.00"]
    chart = tmp_path / "w.png"
    code, out = run(app, "report", "waterfall", "-f", "csv", "--chart", str(chart))
    assert code == 0 and out.startswith(
        "# Revenue waterfall by purchase month\ncurrency,cohort,billed,billed_minor,2026-01,"
    )
    assert chart.read_bytes()[:4] == b"\x89PNG"
    xlsx = tmp_path / "liability.xlsx"
    code, out = run(
        app, "report", "liability", "-f", "xlsx", "-o", str(xlsx), "--at", "2026-02-15T00:00Z"
    )
    assert code == 0, out
    rows = list(load_workbook(xlsx)["kind"].iter_rows(values_only=True))
    assert rows[0][:5] == (
        "Currency",
        "Pool kind",
        "Pools",
        "Outstanding credits",
        "Deferred revenue",
    )
    assert rows[1][:5] == ("USD", "paid", 1, 450, 45)


def test_bad_input_is_a_one_line_error(app: typer.Typer, ledger: Ledger) -> None:
    code, out = run(app, "recognize", "--through", "end of month")
    assert code == 1 and "through:" in said(out) and "YYYY-MM-DD" in said(out)
    code, out = run(app, "recognize", "--through", "2026-01-31", "--mode", "weekly")
    assert code == 1 and "mode: unknown mode 'weekly'" in said(out)
    code, out = run(app, "periods", "close", "2026-1")
    assert code == 1 and "period:" in said(out)
    code, out = run(app, "report", "rollforward", "-f", "xlsx")
    assert code == 1 and "--output" in said(out)


def _expiring_pool_with_use(ledger: Ledger) -> None:
    """120.00 USD for 1,200 credits expiring on January 25, 300 of them used on January 20."""
    grant(
        ledger,
        amount=12000,
        credits=1200,
        effective_at=at(2026, 1, 15, 0),
        expires_at=at(2026, 1, 25, 0),
    )
    burn(ledger, 300, at(2026, 1, 20))


def test_a_month_end_script_runs_twice(app: typer.Typer, ledger: Ledger) -> None:
    _expiring_pool_with_use(ledger)
    grant(ledger, amount=9318, credits=100, effective_at=at(2026, 1, 2, 0), account="b")
    for _run in range(2):
        code, out = run(app, "recognize", "--through", "2026-01-31")
        assert code == 0, out
        code, out = run(app, "periods", "close", "2026-01")
        assert code == 0, out
    code, out = run(app, "recognize", "--through", "2026-01-31")
    assert code == 0 and "nothing to do" in said(out) and "closed periods" in said(out)
    code, out = run(app, "report", "rollforward", "--compact")
    assert code == 0 and "ties" in out
    assert "120.00 USD" in out and "93.18 USD" in out
    code, out = run(app, "report", "deferred", "--period", "2026-01", "-f", "csv")
    assert code == 0, out
    (row,) = csv.DictReader(io.StringIO(out))
    assert (row["account"], row["deferred"], row["deferred_minor"]) == ("b", "93.18", "9318")
    assert row["gl_account"]  # the deferred revenue account from the mappings


def test_recognize_applies_the_expiries_due_and_prints_money(
    app: typer.Typer, ledger: Ledger
) -> None:
    _expiring_pool_with_use(ledger)
    code, out = run(app, "recognize", "--through", "2026-01-31")
    assert code == 0, out
    assert "expired 1 pool due by the cutoff first (900 credits lost)" in said(out)
    assert "90.00 USD" in out  # the breakage entry, in the currency's unit
    code, out = run(app, "periods", "close", "2026-01")
    assert code == 0, out


def test_post_to_a_sink_that_is_not_configured_says_so(
    app: typer.Typer, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    from connector.settings import get_settings

    monkeypatch.setenv("CREDITSYNC_JOURNAL_SINKS", "[]")
    get_settings.cache_clear()
    code, out = run(app, "post", "--sink", "files")
    assert code == 1
    assert "sink: no journal sink named 'files' is configured (journal sinks: none)" in said(out)
