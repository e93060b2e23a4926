"""Revenue waterfall: for each purchase month (cohort), what it recognized in each later month.

Read from the per-pool deltas behind the journal, so it adds up to the posted entries. Revenue
here is consumption revenue plus breakage revenue (both release deferred revenue).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt
from sqlalchemy import Connection, func, select

from connector.recognition.periods import periods_from
from connector.recognition.tables import recognition_deltas
from connector.reports.model import Column, Report, Value

RELEASED = ("revenue", "breakage")


def waterfall(conn: Connection) -> Report:
    d = recognition_deltas.c
    rows = conn.execute(
        select(d.currency, d.cohort, d.period, d.figure, func.sum(d.amount)).group_by(
            d.currency, d.cohort, d.period, d.figure
        )
    ).all()
    if not rows:
        return Report("waterfall", "Revenue waterfall", (), (), ("No entries yet.",))
    released: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    billed: dict[tuple[str, str], int] = defaultdict(int)
    refunded: dict[tuple[str, str], int] = defaultdict(int)
    for currency, cohort, period, figure, amount in rows:
        key = (currency, cohort)
        if figure in RELEASED:
            released[key][period] += int(amount)
        elif figure == "billed":
            billed[key] += int(amount)
        elif figure == "refunded":
            refunded[key] += int(amount)
    all_periods = [p for _c, _h, p, _f, _a in rows]
    periods = periods_from(min(all_periods), max(all_periods))
    columns = (
        Column("currency", "Currency"),
        Column("cohort", "Purchased in"),
        Column("billed", "Billed", money=True),
        *(Column(p, p, money=True) for p in periods),
        Column("recognized", "Recognized", money=True),
        Column("refunded", "Refunded", money=True),
        Column("deferred", "Still deferred", money=True),
    )
    out: list[dict[str, Value]] = []
    for key in sorted(set(billed) | set(released) | set(refunded)):
        currency, cohort = key
        by_period = released.get(key, {})
        total = sum(by_period.values())
        row: dict[str, Value] = {"currency": currency, "cohort": cohort, "billed": billed[key]}
        row.update({p: by_period.get(p, 0) for p in periods})
        row.update(
            recognized=total,
            refunded=refunded[key],
            deferred=billed[key] - total - refunded[key],
        )
        out.append(row)
    notes = ("Amounts in minor units; recognized = consumption revenue + breakage revenue.",)
    return Report("waterfall", "Revenue waterfall by purchase month", columns, tuple(out), notes)


def chart(report: Report, path: Path) -> Path:
    """A stacked bar chart per currency: revenue by month, one colour per purchase month."""
    periods = [c.key for c in report.columns if c.key[:1].isdigit()]
    currencies = sorted({str(r["currency"]) for r in report.rows})
    figure, axes = plt.subplots(
        len(currencies) or 1, 1, figsize=(max(6, len(periods) * 0.8), 4 * max(1, len(currencies)))
    )
    axes_list = list(axes) if len(currencies) > 1 else [axes]
    palette = plt.get_cmap("viridis")
    for axis, currency in zip(axes_list, currencies, strict=False):
        bottom = [0] * len(periods)
        cohorts = [r for r in report.rows if r["currency"] == currency]
        for i, row in enumerate(cohorts):
            heights = [int(row.get(p) or 0) for p in periods]
            colour = palette(i / max(1, len(cohorts) - 1))
            axis.bar(periods, heights, bottom=bottom, label=str(row["cohort"]), color=colour)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        axis.set_title(f"Revenue by month and purchase cohort ({currency}, minor units)")
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
