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
Given the deferred-revenue GL account of each currency and entity, each row names the account
(several for a currency whose entities post to different ones); grouped by GL account, a currency
has one row per account and period, and the groups add up to the currency's rollforward.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, func, select

from connector.recognition import subledger
from connector.recognition.closing import closed_periods
from connector.recognition.periods import end_of, parse_period, periods_from, zone
from connector.recognition.tables import (
    closed_period_balances,
    journal_entries,
    recognition_control,
)
from connector.reports.model import GL_COLUMNS, Column, GLAccountOf, Report, Row, Section, Value
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
    *GL_COLUMNS,
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


Owner = tuple[str, str]  # currency, entity ("" for none)


def _journal(conn: Connection, filters: Filters) -> dict[tuple[Owner, str], tuple[int, ...]]:
    je = journal_entries.c
    late = func.sum(je.billed - je.revenue - je.breakage - je.refunded).filter(je.late.is_(True))
    query = select(
        je.currency,
        je.entity,
        je.period,
        func.sum(je.billed),
        func.sum(je.revenue),
        func.sum(je.breakage),
        func.sum(je.refunded),
        func.sum(je.contra),
        late,
    ).group_by(je.currency, je.entity, je.period)
    if filters.currency:
        query = query.where(je.currency == filters.currency)
    if filters.entity:
        query = query.where(je.entity == filters.entity)
    found: dict[tuple[Owner, str], list[int]] = defaultdict(lambda: [0] * 6)
    for c, e, p, *values in conn.execute(query):
        for i, value in enumerate(values):
            found[((c, e or ""), p)][i] += int(value or 0)
    return {key: tuple(values) for key, values in found.items()}


def _subledger(
    conn: Connection, moments: list[datetime], filters: Filters
) -> dict[tuple[Owner, datetime], int]:
    found: dict[tuple[Owner, datetime], int] = defaultdict(int)
    for info, positions in subledger.positions(conn, moments):
        if filters.entity and info.entity != filters.entity:
            continue
        for position in positions:
            found[((info.currency, info.entity or ""), position.moment)] += position.deferred
    return found


def _kept(conn: Connection, filters: Filters) -> dict[tuple[Owner, str], int]:
    """Deferred revenue kept at each close, per currency, entity and period."""
    c = closed_period_balances.c
    query = select(c.currency, c.entity, c.period, c.deferred)
    if filters.entity:
        query = query.where(c.entity == filters.entity)
    return {((cur, ent), period): int(v) for cur, ent, period, v in conn.execute(query)}


Group = tuple[str, str]  # currency, deferred-revenue GL account ("" when not grouped by it)
K = TypeVar("K")


def _by_group(
    found: Mapping[tuple[Owner, K], int], group_of: Mapping[Owner, Group]
) -> dict[tuple[Group, K], int]:
    out: dict[tuple[Group, K], int] = defaultdict(int)
    for (owner, rest), value in found.items():
        out[(group_of[owner], rest)] += value
    return out


def rollforward(
    conn: Connection,
    timezone: str = "UTC",
    filters: Filters | None = None,
    gl_account: GLAccountOf | None = None,
    *,
    by_gl_account: bool = False,
) -> Report:
    """``gl_account`` names each row's deferred-revenue account under the current mapping;
    ``by_gl_account`` (which needs it) gives each account of a currency rows of its own."""
    if by_gl_account and gl_account is None:
        raise ValueError("grouping by GL account needs the accounts (gl_account)")
    filters = filters or Filters()
    tz = zone(timezone)
    journal = _journal(conn, filters)
    if not journal:
        return Report.single("rollforward", TITLE, COLUMNS, (), ("No entries yet.",))
    closed = closed_periods(conn)
    through: datetime | None = conn.execute(select(recognition_control.c.last_through)).scalar()
    first = min(p for _o, p in journal)
    last = max([p for _o, p in journal] + closed[-1:])
    periods = periods_from(first, last)
    cutoffs = {p: min(end_of(p, tz), through) if through else end_of(p, tz) for p in periods}
    recomputed = _subledger(conn, sorted(set(cutoffs.values())), filters)
    kept = _kept(conn, filters)
    kept_for = {p for _o, p in _kept(conn, Filters())}
    owners = {o for o, _p in journal} | {o for o, _m in recomputed} | {o for o, _p in kept}
    accounts = {
        owner: gl_account(None, owner[0], owner[1] or None) if gl_account else ("", None)
        for owner in owners
    }
    group_of = {o: (o[0], accounts[o][0] if by_gl_account else "") for o in owners}
    names = dict(accounts.values())
    codes: dict[Group, set[str]] = defaultdict(set)
    for owner in {o for o, _p in journal}:
        codes[group_of[owner]].add(accounts[owner][0])
    flows: dict[tuple[Group, str], list[int]] = defaultdict(lambda: [0] * 6)
    for (owner, period), values in journal.items():
        for i, value in enumerate(values):
            flows[(group_of[owner], period)][i] += value
    recomputed_by = _by_group(recomputed, group_of)
    kept_by = _by_group(kept, group_of)
    rows: list[Row] = []
    for group in sorted({g for g, _p in flows}):
        currency = group[0]
        shown_codes = sorted(c for c in codes[group] if c)
        closing = 0
        for period in periods:
            billed, revenue, breakage, refunded, contra, late = flows.get((group, period), [0] * 6)
            opening = closing
            closing = opening + billed - revenue - breakage - refunded
            if period in kept_for:
                pools_side = kept_by.get((group, period), 0)
            else:
                pools_side = recomputed_by.get((group, cutoffs[period]), 0)
            difference = closing - pools_side
            shown_period = (filters.since or period) <= period <= (filters.until or period)
            if not shown_period:
                continue
            rows.append(
                {
                    "currency": currency,
                    "period": period,
                    "gl_account": ", ".join(shown_codes) or None,
                    "gl_name": ", ".join(n for c in shown_codes if (n := names[c])) or None,
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
        *(["GL accounts as the current mapping names them."] if gl_account else []),
        *(["One row per deferred-revenue GL account and period."] if by_gl_account else []),
        *([f"Only {', '.join(scope)}."] if scope else []),
    )
    return Report.single("rollforward", TITLE, COLUMNS, tuple(rows), notes)


def compact(report: Report) -> Report:
    """The rollforward in six columns (fits 80 columns): released = recognized + breakage +
    refunds; one section per currency."""
    sections: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in report.rows:
        released = sum(
            value
            for value in (row.get(k) for k in ("recognized", "breakage", "refunds"))
            if isinstance(value, int)
        )
        values: dict[str, Value] = {k: row.get(k) for k in COMPACT_KEYS if k != "released"}
        values.update(released=released, currency=row["currency"])
        sections[(str(row["currency"]), str(row.get("gl_account") or ""))].append(values)
    return Report(
        report.name,
        report.title,
        tuple(
            Section(
                " ".join(filter(None, key)),
                f"{TITLE} ({' '.join(filter(None, key))})",
                COMPACT_COLUMNS,
                tuple(rows),
            )
            for key, rows in sorted(sections.items())
        ),
        ("Released = recognized + breakage + refunds. Full: creditsync report rollforward",),
    )
