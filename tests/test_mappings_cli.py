"""`creditsync mappings check` and `creditsync mappings show`, through Typer's test runner."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from connector.cli import mappings_cmd
from connector.settings import EXAMPLE_MAPPINGS, Settings

DATA = Path(__file__).parent / "data" / "mappings"


@pytest.fixture
def app() -> typer.Typer:
    root = typer.Typer()
    mappings_cmd.register(root)
    return root


def run(app: typer.Typer, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["mappings", *args])
    return result.exit_code, result.output


def test_check_valid_files_prints_a_one_line_summary(app: typer.Typer) -> None:
    code, output = run(app, "check", str(EXAMPLE_MAPPINGS))
    assert code == 0
    lines = output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("ok: 6 file(s), 26 catalog entries (chargebee 6, files 6,")
    assert "5 GL rule(s), 3 plan(s); version " in lines[0]


def test_check_prints_every_problem_with_file_entry_and_field(app: typer.Typer) -> None:
    code, output = run(app, "check", str(DATA / "base.toml"), str(DATA / "broken.toml"))
    assert code == 1
    lines = output.strip().splitlines()
    broken = str(DATA / "broken.toml")
    assert lines[:-1] == [
        f"{broken}: catalog #1 (stripe:price_bad_kind): kind: unknown pool kind 'gold'; "
        "one of paid, promotional, allowance, refill",
        f"{broken}: catalog #2 (stripe:price_negative): credits: credits per unit must be a "
        "positive whole number, got -5",
        f"{broken}: catalog #2 (stripe:price_negative): expiry: 'P1X' is not an ISO 8601 "
        'duration; use an ISO 8601 duration such as "P12M", "P30D" or "PT1H"',
        f"{broken}: catalog #3 (stripe:price_chf): currencies: no GL accounts for CHF; add a "
        '[[gl]] table with currency = "CHF" or a [gl_default] table',
        f"{broken}: catalog #4 (stripe:price_rate): breakage.rate: breakage rate 1.5 is outside "
        '[0, 1); it is the share of credits expected never to be used, e.g. "0.25"',
        f"{broken}: plans.fast: consumption_order: unknown consumption-order policy "
        "'fastest_first'; one of soonest_expiry, priority_first, oldest_first, free_first",
    ]
    assert lines[-1] == "6 problem(s) in 2 file(s)"


def test_check_reports_duplicates_across_files(app: typer.Typer, tmp_path: Path) -> None:
    copy = tmp_path / "copy.toml"
    copy.write_text(
        (DATA / "base.toml").read_text().split("[[catalog]]", 1)[1].join(["[[catalog]]", ""])
    )
    code, output = run(app, "check", str(DATA / "base.toml"), str(copy))
    assert code == 1
    assert (
        f"{copy}: catalog #1 (stripe:credits_1k): item_id: duplicate key stripe:credits_1k, "
        f"first defined in {DATA / 'base.toml'} catalog #1 (stripe:credits_1k)"
    ) in output


def test_check_without_files_uses_the_configured_paths(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    configured = Settings(mapping_paths=[DATA / "base.toml", DATA / "broken.toml"])
    monkeypatch.setattr(mappings_cmd, "get_settings", lambda: configured)
    code, output = run(app, "check")
    assert code == 1
    assert output.strip().splitlines()[-1] == "6 problem(s) in 2 file(s)"


def test_show_prints_the_effective_catalog(app: typer.Typer) -> None:
    code, output = run(app, "show", str(EXAMPLE_MAPPINGS))
    assert code == 0
    rows = [line for line in output.splitlines() if line.startswith("│")]
    assert len(rows) >= 21
    bonus = next(row for row in rows if "price_1QpX7rLkd8Hs2mFa0bN7Tq4e" in row)
    cells = [cell.strip() for cell in bonus.strip("│").split("│")]
    assert cells[0] == "stripe"
    assert cells[3:11] == [
        "10,000 + 2,000 bonus",
        "paid",
        "P12M",
        "100",
        "share_price",
        "remote",
        "EUR USD",
        "",
    ]
    proportional = next(row for row in rows if "│ credits_100k " in row)
    assert "proportional 0.25" in proportional


def test_show_uses_the_configured_paths_and_refuses_invalid_ones(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        mappings_cmd, "get_settings", lambda: Settings(mapping_paths=[DATA / "base.toml"])
    )
    code, output = run(app, "show")
    assert code == 0 and "credits_1k" in output and "price_1QpX" not in output
    code, output = run(app, "show", str(DATA / "broken.toml"))
    assert code == 1 and "unknown pool kind 'gold'" in output
