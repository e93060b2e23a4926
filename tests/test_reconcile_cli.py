"""`creditsync reconcile` through Typer's runner: exit status, CSV and XLSX, plan before --yes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from connector.cli import reconcile_cmd
from tests.test_reconcile import seed_account, seed_duplicate, seed_missing
from tests.test_reconcile_helpers import OCT, Book, build_book, path_of


@pytest.fixture
def book(db_url: str, tmp_path: Path, cli_settings: str) -> Book:
    return build_book(db_url, tmp_path)


def run(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    reconcile_cmd.register(app)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_a_clean_period_exits_zero_and_ties(book: Book) -> None:
    code, output = run("reconcile", "--period", OCT)
    assert code == 0, output
    assert "hold exactly what creditsync produced" in output
    assert "differs" not in output
    assert output.count("ties") == 2


def test_differences_as_csv_then_plan_then_repair(book: Book, tmp_path: Path) -> None:
    missing, duplicate, changed = seed_missing(book), seed_duplicate(book), seed_account(book)
    code, output = run("reconcile", "--period", OCT, "--format", "csv")
    assert code == 1
    differences = output.split("\n\n")[0]
    rows = list(csv.DictReader(io.StringIO(differences)))
    assert sorted((r["difference"], r["entry_id"]) for r in rows) == sorted(
        [("missing", missing), ("duplicate", duplicate), ("account differs", changed)]
    )
    # The missing deferral and the duplicated one cancel out: the balance ties, the entries do not.
    assert "deferred revenue,files,USD,3450,3450,0,ties" in output

    journal = path_of(book.journal, OCT)
    before = journal.read_bytes()
    code, output = run("reconcile", "--period", OCT, "--repair")
    assert code == 1
    assert "repair plan" in output and "--yes" in output
    assert journal.read_bytes() == before  # a plan changes nothing

    code, output = run("reconcile", "--period", OCT, "--repair", "--yes")
    assert code == 0, output
    assert "repair: 4 entries posted, 0 failed, 0 left for review" in output
    assert journal.read_bytes().startswith(before)  # only appended to
    assert run("reconcile", "--period", OCT)[0] == 0


def test_csv_and_xlsx_files(book: Book, tmp_path: Path) -> None:
    seed_missing(book)
    code, _output = run("reconcile", "--period", OCT, "-f", "csv", "-o", str(tmp_path / "r.csv"))
    assert code == 1
    assert "missing" in (tmp_path / "r.csv").read_text()
    assert "deferred revenue" in (tmp_path / "r-tieout.csv").read_text()

    target = tmp_path / "r.xlsx"
    code, _output = run("reconcile", "--period", OCT, "-f", "xlsx", "-o", str(target), "--repair")
    assert code == 1
    book_ = load_workbook(target)
    assert book_.sheetnames == ["differences", "tie-out", "repair plan"]
    assert book_["differences"]["C2"].value == "missing"
    assert book_["repair plan"]["A2"].value == "post"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--format", "xlsx"], "output"),
        (["--yes"], "yes"),
        (["--format", "pdf"], "format"),
        (["--sink", "nowhere"], "sink"),
    ],
)
def test_bad_options_are_refused_naming_the_field(book: Book, args: list[str], field: str) -> None:
    before = path_of(book.journal, OCT).read_bytes()
    code, output = run("reconcile", "--period", OCT, *args)
    assert code == 1
    assert f"error: {field}:" in output
    assert path_of(book.journal, OCT).read_bytes() == before


def test_a_bad_period_is_refused(book: Book) -> None:
    code, output = run("reconcile", "--period", "October")
    assert code == 1
    assert "error: period: 'October' is not a period" in output
