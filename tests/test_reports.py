"""Finance reports: rollforward (and its tie to the pools), waterfall, liability, renderers."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rich.console import Console
from sqlalchemy import Engine

from connector.errors import InvalidInput
from connector.ledger.models import BreakageMethod, PoolKind
from connector.recognition.closing import close_period
from connector.recognition.refunds import apply_refund
from connector.recognition.run import recognize
from connector.reports.deferred import deferred_by_customer
from connector.reports.liability import bucket, liability
from connector.reports.render import tables, to_csv, to_json, write
from connector.reports.rollforward import Filters, compact, rollforward
from connector.reports.waterfall import chart, waterfall
from tests.test_recognition_helpers import GL, at, burn, grant, month_start, new_ledger


def _history(engine: Engine) -> None:
    ledger = new_ledger(engine)
    first = grant(ledger, amount=10000, credits=1000, effective_at=at(2026, 1, 5, 0))
    grant(ledger, amount=3000, credits=300, effective_at=at(2026, 2, 1, 0), account="b")
    burn(ledger, 400, at(2026, 1, 20))
    with engine.begin() as conn:
        apply_refund(conn, first, 3000, "re_1", at(2026, 2, 10))
    burn(ledger, 100, at(2026, 2, 20))
    burn(ledger, 30, at(2026, 2, 21), account="b")
    recognize(engine, month_start(2026, 3), GL)


def test_rollforward_rolls_and_ties_to_the_pools(engine: Engine) -> None:
    _history(engine)
    with engine.connect() as conn:
        report = rollforward(conn)
    rows = {r["period"]: r for r in report.rows}
    jan, feb = rows["2026-01"], rows["2026-02"]
    assert (jan["opening"], jan["billings"], jan["recognized"], jan["closing"]) == (
        0,
        10000,
        4000,
        6000,
    )
    assert (feb["opening"], feb["billings"], feb["recognized"], feb["refunds"]) == (
        6000,
        3000,
        1300,
        3000,
    )
    assert feb["closing"] == 6000 + 3000 - 1300 - 3000
    assert [r["check"] for r in report.rows] == ["ties", "ties"]
    assert feb["subledger"] == feb["closing"]


def test_rollforward_shows_what_recognition_has_not_posted_yet(engine: Engine) -> None:
    _history(engine)
    ledger = new_ledger(engine)
    burn(ledger, 50, at(2026, 2, 25), account="b")  # not recognized yet
    with engine.connect() as conn:
        report = rollforward(conn)
    feb = report.rows[-1]
    assert feb["difference"] == 500
    assert feb["check"] == "differs by 5.00 USD"


def test_waterfall_by_purchase_month_and_its_chart(engine: Engine, tmp_path: Path) -> None:
    _history(engine)
    with engine.connect() as conn:
        report = waterfall(conn)
    rows = {r["cohort"]: r for r in report.rows}
    assert (rows["2026-01"]["2026-01"], rows["2026-01"]["2026-02"]) == (4000, 1000)
    assert (rows["2026-02"]["2026-01"], rows["2026-02"]["2026-02"]) == (0, 300)
    assert rows["2026-01"]["deferred"] == 10000 - 5000 - 3000
    png = chart(report, tmp_path / "charts" / "waterfall.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_liability_by_kind_and_expiry_with_expected_breakage(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(
        ledger,
        amount=12000,
        credits=1200,
        effective_at=at(2026, 1, 1, 0),
        expires_at=at(2026, 3, 1, 0),
        method=BreakageMethod.PROPORTIONAL,
        rate="0.25",
    )
    grant(
        ledger,
        amount=0,
        credits=100,
        kind=PoolKind.PROMOTIONAL,
        effective_at=at(2026, 1, 1, 0),
        expires_at=at(2027, 3, 1, 0),
        account="b",
    )
    burn(ledger, 300, at(2026, 1, 10))
    with engine.connect() as conn:
        report = liability(conn, at(2026, 1, 15))
    rows = {(s.key, r["group"]): r for s in report.sections for r in s.rows}
    paid = rows[("kind", "paid")]
    assert (paid["credits"], paid["deferred"]) == (900, 8000)
    assert (paid["expected_breakage_credits"], paid["expected_breakage"]) == (300, 2000)
    promo = rows[("kind", "promotional")]
    assert (promo["credits"], promo["deferred"], promo["expected_breakage"]) == (100, 0, 0)
    assert rows[("expiry", "31-90 days")]["credits"] == 900
    assert rows[("expiry", "over 1 year")]["credits"] == 100


def test_expiry_buckets() -> None:
    now = at(2026, 1, 1)
    assert bucket(None, now) == "no expiry"
    assert bucket(at(2025, 12, 31), now) == "past expiry"
    assert bucket(at(2026, 1, 31), now) == "0-30 days"
    assert bucket(at(2026, 3, 1), now) == "31-90 days"
    assert bucket(at(2026, 12, 1), now) == "91-365 days"
    assert bucket(at(2027, 6, 1), now) == "over 1 year"


def test_renderers_keep_minor_units_exact(engine: Engine, tmp_path: Path) -> None:
    _history(engine)
    with engine.connect() as conn:
        report = rollforward(conn)
    parsed = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [int(r["closing_minor"]) for r in parsed] == [r["closing"] for r in report.rows]
    assert [Decimal(r["closing"]) * 100 for r in parsed] == [r["closing"] for r in report.rows]
    document = json.loads(to_json(report))
    assert document["sections"][0]["rows"][0]["billings_minor"] == 10000
    xlsx = tmp_path / "out" / "rollforward.xlsx"
    write(report, "xlsx", xlsx, Console(file=io.StringIO()))
    sheet = load_workbook(xlsx)["rollforward"]
    assert sheet.cell(row=2, column=5).value == 100
    screen = io.StringIO()
    write(report, "table", None, Console(file=screen, width=250))
    assert "100.00 USD" in screen.getvalue() and "ties" in screen.getvalue()
    with pytest.raises(InvalidInput) as no_file:
        write(report, "xlsx", None, Console(file=io.StringIO()))
    assert no_file.value.field == "output"
    with pytest.raises(InvalidInput):
        write(report, "yaml", None, Console(file=io.StringIO()))


def test_reports_on_an_empty_database(engine: Engine) -> None:
    with engine.connect() as conn:
        assert rollforward(conn).rows == ()
        assert waterfall(conn).rows == ()
        assert liability(conn, at(2026, 1, 1)).rows == ()


def _late_after_close(engine: Engine) -> None:
    """Accounting example 6: January closed, then a burn dated January 30 arrives."""
    ledger = new_ledger(engine)
    grant(ledger, amount=9000, credits=900, effective_at=at(2026, 1, 2, 0))
    burn(ledger, 300, at(2026, 1, 15))
    recognize(engine, month_start(2026, 2), GL)
    with engine.begin() as conn:
        close_period(conn, "2026-01")
    burn(ledger, 150, at(2026, 1, 30))
    burn(ledger, 150, at(2026, 2, 10))


def test_a_closed_period_stays_green_after_late_consumption(engine: Engine) -> None:
    _late_after_close(engine)
    recognize(engine, month_start(2026, 3), GL)
    with engine.connect() as conn:
        rows = {r["period"]: r for r in rollforward(conn).rows}
    jan, feb = rows["2026-01"], rows["2026-02"]
    assert (jan["status"], jan["closing"], jan["subledger"], jan["check"]) == (
        "closed",
        6000,
        6000,
        "ties",
    )
    assert (feb["recognized"], feb["late"], feb["closing"], feb["check"]) == (
        3000,
        -1500,
        3000,
        "ties",
    )


def test_every_period_through_the_last_closed_one_has_a_row(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 5, 0))
    burn(ledger, 10, at(2026, 1, 20))
    recognize(engine, month_start(2026, 4), GL)
    with engine.begin() as conn:
        for period in ("2026-01", "2026-02", "2026-03"):
            close_period(conn, period)
    with engine.connect() as conn:
        report = rollforward(conn)
        only_march = rollforward(conn, filters=Filters(since="2026-03", currency="usd"))
    assert [(r["period"], r["status"], r["closing"]) for r in report.rows] == [
        ("2026-01", "closed", 900),
        ("2026-02", "closed", 900),
        ("2026-03", "closed", 900),
    ]
    assert [r["check"] for r in report.rows] == ["ties"] * 3
    assert [(r["period"], r["opening"]) for r in only_march.rows] == [("2026-03", 900)]


def test_money_in_major_units_with_each_currencys_exponent(engine: Engine, tmp_path: Path) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=9318, credits=100, effective_at=at(2026, 1, 5, 0))
    grant(ledger, amount=9318, credits=100, effective_at=at(2026, 1, 5, 0), currency="JPY")
    grant(ledger, amount=9318, credits=100, effective_at=at(2026, 1, 5, 0), currency="KWD")
    recognize(engine, month_start(2026, 2), GL)
    with engine.connect() as conn:
        report = rollforward(conn)
    parsed = {r["currency"]: r for r in csv.DictReader(io.StringIO(to_csv(report)))}
    assert {c: (r["billings"], r["billings_minor"]) for c, r in parsed.items()} == {
        "JPY": ("9318", "9318"),
        "KWD": ("9.318", "9318"),
        "USD": ("93.18", "9318"),
    }
    document = json.loads(to_json(report))
    (section,) = document["sections"]
    assert [(r["closing"], r["closing_minor"]) for r in section["rows"]][-1] == ("93.18", 9318)
    assert [t["billings"] for t in section["totals"]] == ["9318", "9.318", "93.18"]

    xlsx = tmp_path / "out" / "rollforward.xlsx"
    write(report, "xlsx", xlsx, Console(file=io.StringIO()))
    book = load_workbook(xlsx)
    assert book.sheetnames == ["rollforward", "notes"]
    sheet = book["rollforward"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    billings = header.index("Billings") + 1
    by_currency = {sheet.cell(row=r, column=1).value: r for r in range(2, 5)}
    usd = sheet.cell(row=by_currency["USD"], column=billings)
    assert (Decimal(str(usd.value)), usd.number_format) == (
        Decimal("93.18"),
        '#,##0.00 "USD";-#,##0.00 "USD"',
    )
    jpy = sheet.cell(row=by_currency["JPY"], column=billings)
    assert (jpy.value, jpy.number_format) == (9318, '#,##0 "JPY";-#,##0 "JPY"')
    assert sheet.cell(row=by_currency["KWD"], column=billings).number_format.startswith("#,##0.000")
    totals = [sheet.cell(row=r, column=2).value for r in range(5, 8)]
    assert totals == ["Total JPY", "Total KWD", "Total USD"]
    assert sheet.column_dimensions["M"].width >= len("Check")


def test_the_liability_breakdowns_are_separate_tables(engine: Engine, tmp_path: Path) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=12000, credits=1200, effective_at=at(2026, 1, 1, 0))
    grant(
        ledger, amount=3000, credits=300, effective_at=at(2026, 1, 1, 0), expires_at=at(2026, 2, 1)
    )
    with engine.connect() as conn:
        report = liability(conn, at(2026, 1, 15))
    for key in ("kind", "expiry"):
        (total,) = report.section(key).totals()
        assert (total["deferred"], total["credits"], total["pools"]) == (15000, 1500, 2)
    xlsx = tmp_path / "liability.xlsx"
    write(report, "xlsx", xlsx, Console(file=io.StringIO()))
    assert load_workbook(xlsx).sheetnames == ["kind", "expiry", "notes"]


def test_deferred_by_customer_ties_to_the_rollforward_closing(engine: Engine) -> None:
    _history(engine)
    ledger = new_ledger(engine)
    grant(ledger, amount=5000, credits=500, effective_at=at(2026, 2, 3, 0), currency="JPY")
    recognize(engine, month_start(2026, 3), GL)
    with engine.connect() as conn:
        closing = {r["currency"]: r["closing"] for r in rollforward(conn).rows}
        report = deferred_by_customer(
            conn, month_start(2026, 3), lambda _v, currency, _e: (f"2400-{currency}", None)
        )
        only_jpy = deferred_by_customer(conn, month_start(2026, 3), currency="jpy")
    rows = {(r["currency"], r["account"]): r for r in report.rows}
    assert (rows[("USD", "acme")]["credits"], rows[("USD", "acme")]["deferred"]) == (200, 2000)
    assert rows[("USD", "b")]["deferred"] == 2700
    assert rows[("USD", "acme")]["gl_account"] == "2400-USD"
    assert rows[("USD", "acme")]["next_expiry"] == "never"
    totals = {t["currency"]: t["deferred"] for t in report.sections[0].totals()}
    assert totals == closing == {"JPY": 5000, "USD": 4700}
    assert [r["account"] for r in only_jpy.rows] == ["acme"]


def test_liability_and_waterfall_filter_by_currency_and_entity(engine: Engine) -> None:
    _history(engine)
    ledger = new_ledger(engine)
    grant(ledger, amount=5000, credits=500, effective_at=at(2026, 2, 3, 0), currency="JPY")
    recognize(engine, month_start(2026, 3), GL)
    with engine.connect() as conn:
        jpy = liability(conn, at(2026, 2, 15), currency="jpy")
        nobody = liability(conn, at(2026, 2, 15), entity="no-such-entity")
        yen_only = waterfall(conn, "JPY")
    assert {r["currency"] for s in jpy.sections for r in s.rows} == {"JPY"}
    assert all(not s.rows for s in nobody.sections)
    assert [(r["currency"], r["billed"]) for r in yen_only.rows] == [("JPY", 5000)]


def test_the_compact_rollforward_fits_an_80_column_terminal(engine: Engine) -> None:
    _history(engine)
    with engine.connect() as conn:
        report = compact(rollforward(conn))
    screen = io.StringIO()
    narrow = Console(file=screen, width=80)
    for part in tables(report):
        narrow.print(part)
    text = screen.getvalue()
    assert "…" not in text and "ties" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert [c.key for c in report.columns] == [
        "period",
        "opening",
        "billings",
        "released",
        "closing",
        "check",
    ]
    feb = report.rows[-1]
    assert (feb["released"], feb["closing"]) == (1300 + 3000, 4700)
