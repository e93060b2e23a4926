"""Revenue waterfall: for each purchase month (cohort), what it released in each later month.

Read from the per-pool deltas behind the journal, so it adds up to the posted entries. The first
table is what each cohort released from deferred revenue (consumption revenue plus breakage
revenue); the second holds the breakage part alone, so that breakage is never mistaken for use.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter
from sqlalchemy import Connection, func, select

from connector.money import exponent
from connector.recognition.periods import periods_from
from connector.recognition.tables import recognition_deltas
from connector.reports.model import Column, Report, Row, Section
from connector.reports.units import major
from mappings.gl import GLAccounts

RELEASED = ("revenue", "breakage")
TITLE = "Revenue waterfall by purchase month"

Cells = dict[tuple[str, str], dict[str, int]]


def _cells() -> Cells:
    return defaultdict(lambda: defaultdict(int))


AccountsOf = Callable[[str], GLAccounts]
"""The GL accounts a currency books to (the mapping's default entity)."""


def _account(accounts: GLAccounts, code: str) -> Row:
    return {"gl_account": code, "gl_name": accounts.name_of(code)}


def waterfall(
    conn: Connection, currency: str | None = None, accounts_of: AccountsOf | None = None
) -> Report:
    """Released revenue by purchase month (cohort) and month, and its breakage apart; with
    ``accounts_of``, each row names the revenue (or breakage) GL account it books to."""
    d = recognition_deltas.c
    query = select(d.currency, d.cohort, d.period, d.figure, func.sum(d.amount)).group_by(
        d.currency, d.cohort, d.period, d.figure
    )
    if currency:
        query = query.where(d.currency == currency.upper())
    rows = conn.execute(query).all()
    if not rows:
        return Report.single("waterfall", "Revenue waterfall", (), (), ("No entries yet.",))
    released, breakage = _cells(), _cells()
    billed: dict[tuple[str, str], int] = defaultdict(int)
    refunded: dict[tuple[str, str], int] = defaultdict(int)
    for currency, cohort, period, figure, amount in rows:
        key = (currency, cohort)
        if figure in RELEASED:
            released[key][period] += int(amount)
        if figure == "breakage":
            breakage[key][period] += int(amount)
        elif figure == "billed":
            billed[key] += int(amount)
        elif figure == "refunded":
            refunded[key] += int(amount)
    all_periods = [p for _c, _h, p, _f, _a in rows]
    periods = periods_from(min(all_periods), max(all_periods))
    by_period = tuple(Column(p, p, money=True, summed=True) for p in periods)
    first = (Column("currency", "Currency"), Column("cohort", "Purchased in"))
    gl_column = (
        (Column("gl_account", "GL account"), Column("gl_name", "Account name"))
        if accounts_of
        else ()
    )
    columns = (
        *first,
        Column("billed", "Billed", money=True, summed=True),
        *by_period,
        Column("recognized", "Released", money=True, summed=True),
        Column("refunded", "Refunded", money=True, summed=True),
        Column("deferred", "Still deferred", money=True, summed=True),
        *gl_column,  # after the figures: existing columns keep their places
    )
    out: list[Row] = []
    lost: list[Row] = []
    for key in sorted(set(billed) | set(released) | set(refunded)):
        currency, cohort = key
        months = released.get(key, {})
        total = sum(months.values())
        row: Row = {"currency": currency, "cohort": cohort, "billed": billed[key]}
        if accounts_of:
            books = accounts_of(currency)
            row.update(_account(books, books.revenue))
        row.update({p: months.get(p, 0) for p in periods})
        row.update(
            recognized=total,
            refunded=refunded[key],
            deferred=billed[key] - total - refunded[key],
        )
        out.append(row)
        if key in breakage:
            expired = breakage[key]
            gone: Row = {"currency": currency, "cohort": cohort}
            if accounts_of:
                books = accounts_of(currency)
                gone.update(_account(books, books.breakage_revenue))
            gone.update({p: expired.get(p, 0) for p in periods})
            gone["total"] = sum(expired.values())
            lost.append(gone)
    sections = (
        Section("released", TITLE, columns, tuple(out)),
        Section(
            "breakage",
            "Of which breakage (credits that expired unused)",
            (*first, *by_period, Column("total", "Total", money=True, summed=True), *gl_column),
            tuple(lost),
        ),
    )
    notes = ("Released = consumption revenue + breakage revenue.",)
    return Report("waterfall", TITLE, sections, notes)


def chart(report: Report, path: Path) -> Path:
    """A stacked bar chart per currency: consumption revenue by month, one colour per purchase
    month, with breakage stacked apart (hatched); the y axis in major units of the currency."""
    periods = [c.key for c in report.columns if c.key[:1].isdigit()]
    currencies = sorted({str(r["currency"]) for r in report.rows})
    expired = {
        (str(r["currency"]), str(r["cohort"])): r
        for s in report.sections[1:]
        for r in s.rows
        if s.key == "breakage"
    }
    figure, axes = plt.subplots(
        len(currencies) or 1, 1, figsize=(max(7, len(periods) * 0.8), 4.5 * max(1, len(currencies)))
    )
    axes_list = list(axes) if len(currencies) > 1 else [axes]
    palette = plt.get_cmap("tab20")
    for axis, currency in zip(axes_list, currencies, strict=False):
        bottom = [0.0] * len(periods)
        cohorts = [r for r in report.rows if r["currency"] == currency]
        lost = [0] * len(periods)
        for i, row in enumerate(cohorts):
            gone = expired.get((currency, str(row["cohort"])), {})
            minor = [int(row.get(p) or 0) - int(gone.get(p) or 0) for p in periods]
            lost = [a + int(gone.get(p) or 0) for a, p in zip(lost, periods, strict=True)]
            heights = [float(major(m, currency)) for m in minor]
            axis.bar(
                periods, heights, bottom=bottom, label=str(row["cohort"]), color=palette(i % 20)
            )
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        if any(lost):
            axis.bar(
                periods,
                [float(major(m, currency)) for m in lost],
                bottom=bottom,
                label="breakage",
                color="white",
                edgecolor="dimgrey",
                hatch="//",
            )
        places = exponent(currency)
        axis.yaxis.set_major_formatter(FuncFormatter(lambda v, _p, n=places: f"{v:,.{n}f}"))
        axis.set_ylabel(f"revenue ({currency})")
        axis.set_title(f"Revenue by month and purchase month ({currency})")
        axis.set_xlabel("period")
        axis.legend(
            title="purchased in", fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1)
        )
        axis.tick_params(axis="x", labelrotation=45)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    plt.close(figure)
    return path
