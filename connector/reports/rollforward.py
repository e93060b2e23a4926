"""Deferred revenue rollforward, per period and currency, reconciled to the pools.

opening + billings - recognized - breakage - refunds (to deferred) = closing, from the journal
(what finance's GL holds). Each closing is compared with the sum of every pool's deferred
balance (the subledger): "ties", or the difference in the currency's own unit.

A closed period compares with the subledger as it was known when the period was closed (kept at
close): consumption or refunds that arrive after the close are posted late in the first open
period and show there on the late line, so a closed period never turns red after the fact. An
open period compares with the subledger recomputed now at its end (or at the last recognition
cutoff); a difference there means recognition has not run since the ledger changed.

Every period from the first with entries to the last closed one has a row, quiet ones included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.recognition import subledger
from connector.recognition.closing import closed_periods, kept_deferred
from connector.recognition.periods import end_of, parse_period, periods_from, zone
from connector.recognition.tables import journal_entries, recognition_control
from connector.reports.model import Column, Report, Row, Section, Value
from connector.reports.units import shown

COLUMNS = (
    Column("currency", "Currency"),
    Column("period", "Period"),
    Column("status", "Period status"),
    Column("opening", "Opening", money=True),
    Column("billings", "Billings", money=True, summed=True),
    Column("recognized", "Recognized", money=True, summed=True),
    Column("breakage", "Breakage", money=True, summed=True),
    Column("refunds", "Refunds", money=True, summed=True),
    Column("closing", "Closing", money=True),
    Column("late", "Of which late", money=True, summed=True),
    Column("subledger", "Pools' deferred", money=True),
    Column("difference", "Difference", money=True),
    Column("check", "Check"),
    Column("contra", "Contra revenue", money=True, summed=True),
)
COMPACT_KEYS = ("period", "opening", "billings", "released", "closing", "check")
COMPACT_COLUMNS = (
    Column("period", "Period"),
    Column("opening", "Opening", money=True),
    Column("billings", "Billed", money=True, summed=True),
    Column("released", "Released", money=True, summed=True),
    Column("closing", "Closing", money=True),
    Column("check", "Check"),
)
TITLE = "Deferred revenue rollforward"


@dataclass(frozen=True)
class Filters:
    """What a rollforward covers: a period range, one currency, one entity (None: all)."""

    since: str | None = None
    until: str | None = None
    currency: str | None = None
    entity: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, parse_period(value, name))
        if self.currency is not None:
            object.__setattr__(self, "currency", self.currency.upper())


def check(difference: int, currency: str) -> str:
    return "ties" if difference == 0 else f"differs by {shown(difference, currency)}"


def _journal(conn: Connection, filters: Filters) -> dict[tuple[str, str], tuple[int, ...]]:
    je = journal_entries.c
    late = func.sum(je.billed - je.revenue - je.breakage - je.refunded).filter(je.late.is_(True))
    query = select(
        je.currency,
        je.period,
        func.sum(je.billed),
        func.sum(je.revenue),
        func.sum(je.breakage),
        func.sum(je.refunded),
        func.sum(je.contra),
        late,
    ).group_by(je.currency, je.period)
    if filters.currency:
        query = query.where(je.currency == filters.currency)
    if filters.entity:
        query = query.where(je.entity == filters.entity)
    return {(c, p): tuple(int(v or 0) for v in values) for c, p, *values in conn.execute(query)}


def _subledger(
    conn: Connection, moments: list[datetime], filters: Filters
) -> dict[tuple[str, datetime], int]:
    found: dict[tuple[str, datetime], int] = defaultdict(int)
    for info, positions in subledger.positions(conn, moments):
        if filters.entity and info.entity != filters.entity:
            continue
        for position in positions:
            found[(info.currency, position.moment)] += position.deferred
    return found


def rollforward(conn: Connection, timezone: str = "UTC", filters: Filters | None = None) -> Report:
    filters = filters or Filters()
    tz = zone(timezone)
    by_key = _journal(conn, filters)
    if not by_key:
        return Report.single("rollforward", TITLE, COLUMNS, (), ("No entries yet.",))
    closed = closed_periods(conn)
    through: datetime | None = conn.execute(select(recognition_control.c.last_through)).scalar()
    first = min(p for _c, p in by_key)
    last = max([p for _c, p in by_key] + closed[-1:])
    periods = periods_from(first, last)
    cutoffs = {p: min(end_of(p, tz), through) if through else end_of(p, tz) for p in periods}
    recomputed = _subledger(conn, sorted(set(cutoffs.values())), filters)
    kept = kept_deferred(conn, filters.entity)
    kept_for = {p for p, _c in kept_deferred(conn)}
    rows: list[Row] = []
    for currency in sorted({c for c, _p in by_key}):
        closing = 0
        for period in periods:
            billed, revenue, breakage, refunded, contra, late = by_key.get(
                (currency, period), (0,) * 6
            )
            opening = closing
            closing = opening + billed - revenue - breakage - refunded
            if period in kept_for:
                pools_side = kept.get((period, currency), 0)
            else:
                pools_side = recomputed.get((currency, cutoffs[period]), 0)
            difference = closing - pools_side
            shown_period = (filters.since or period) <= period <= (filters.until or period)
            if not shown_period:
                continue
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
                    "late": late,
                    "subledger": pools_side,
                    "difference": difference,
                    "check": check(difference, currency),
                    "contra": contra,
                }
            )
    scope = [
        f"{name} {value}"
        for name, value in (("currency", filters.currency), ("entity", filters.entity))
        if value
    ]
    notes = (
        "Closing = opening + billings - recognized - breakage - refunds to deferred revenue.",
        "Of which late: the net change to deferred revenue in this period's entries that belongs "
        "to closed periods (facts that arrived after their period was closed).",
        "Pools' deferred: for a closed period, the subledger as known when it was closed; for an "
        "open period, recomputed from the ledger now at the period end (or the last recognition "
        "cutoff).",
        *([f"Only {', '.join(scope)}."] if scope else []),
    )
    return Report.single("rollforward", TITLE, COLUMNS, tuple(rows), notes)


def compact(report: Report) -> Report:
    """The rollforward in six columns (fits 80 columns): released = recognized + breakage +
    refunds; one section per currency."""
    sections: dict[str, list[Row]] = defaultdict(list)
    for row in report.rows:
        released = sum(
            value
            for value in (row.get(k) for k in ("recognized", "breakage", "refunds"))
            if isinstance(value, int)
        )
        values: dict[str, Value] = {k: row.get(k) for k in COMPACT_KEYS if k != "released"}
        values.update(released=released, currency=row["currency"])
        sections[str(row["currency"])].append(values)
    return Report(
        report.name,
        report.title,
        tuple(
            Section(currency, f"{TITLE} ({currency})", COMPACT_COLUMNS, tuple(rows))
            for currency, rows in sorted(sections.items())
        ),
        ("Released = recognized + breakage + refunds. Full: creditsync report rollforward",),
    )
