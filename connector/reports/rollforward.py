"""Deferred revenue rollforward, per period and currency, reconciled to the pools.

opening + billings - recognized - breakage - refunds (to deferred) = closing, from the journal
(what finance's GL holds). Each closing is compared with the sum of every pool's deferred
balance recomputed from the ledger now (the subledger): "ties", or the difference. A difference
in a closed period is consumption or refunds that arrived after the close (posted late in the
next open period); in the last period it means recognition has not run since the ledger changed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.recognition import subledger
from connector.recognition.closing import closed_periods
from connector.recognition.periods import end_of, periods_from, zone
from connector.recognition.tables import journal_entries, recognition_control
from connector.reports.model import Column, Report, Value

COLUMNS = (
    Column("currency", "Currency"),
    Column("period", "Period"),
    Column("status", "Period status"),
    Column("opening", "Opening", money=True),
    Column("billings", "Billings", money=True),
    Column("recognized", "Recognized", money=True),
    Column("breakage", "Breakage", money=True),
    Column("refunds", "Refunds", money=True),
    Column("closing", "Closing", money=True),
    Column("subledger", "Pools' deferred", money=True),
    Column("difference", "Difference", money=True),
    Column("check", "Check"),
    Column("contra", "Contra revenue", money=True),
)


def rollforward(conn: Connection, timezone: str = "UTC") -> Report:
    tz = zone(timezone)
    je = journal_entries.c
    totals = conn.execute(
        select(
            je.currency,
            je.period,
            func.sum(je.billed),
            func.sum(je.revenue),
            func.sum(je.breakage),
            func.sum(je.refunded),
            func.sum(je.contra),
        ).group_by(je.currency, je.period)
    ).all()
    if not totals:
        return Report(
            "rollforward", "Deferred revenue rollforward", COLUMNS, (), ("No entries yet.",)
        )
    through: datetime | None = conn.execute(select(recognition_control.c.last_through)).scalar()
    by_key = {(c, p): tuple(int(v) for v in values) for c, p, *values in totals}
    first = min(p for _c, p in by_key)
    last = max(p for _c, p in by_key)
    periods = periods_from(first, last)
    cutoffs = {p: min(end_of(p, tz), through) if through else end_of(p, tz) for p in periods}
    pools_deferred: dict[tuple[str, datetime], int] = defaultdict(int)
    for info, positions in subledger.positions(conn, sorted(set(cutoffs.values()))):
        for position in positions:
            pools_deferred[(info.currency, position.moment)] += position.deferred
    closed = set(closed_periods(conn))
    rows: list[dict[str, Value]] = []
    for currency in sorted({c for c, _p in by_key}):
        closing = 0
        for period in periods:
            billed, revenue, breakage, refunded, contra = by_key.get((currency, period), (0,) * 5)
            opening = closing
            closing = opening + billed - revenue - breakage - refunded
            pools_side = pools_deferred.get((currency, cutoffs[period]), 0)
            difference = closing - pools_side
            rows.append(
                {
                    "currency": currency,
                    "period": period,
                    "status": "closed" if period in closed else "open",
                    "opening": opening,
                    "billings": billed,
                    "recognized": revenue,
                    "breakage": breakage,
                    "refunds": refunded,
                    "closing": closing,
                    "subledger": pools_side,
                    "difference": difference,
                    "check": "ties" if difference == 0 else f"differs by {difference}",
                    "contra": contra,
                }
            )
    notes = (
        "Amounts in minor units (the table shows major units).",
        "Closing = opening + billings - recognized - breakage - refunds to deferred revenue.",
        "Pools' deferred is recomputed from the ledger now, at the period end (or the last "
        "recognition cutoff); a closed period can differ by what arrived after it was closed.",
    )
    return Report("rollforward", "Deferred revenue rollforward", COLUMNS, tuple(rows), notes)
