"""The tie-out: the general ledger as posted against the pools (the subledger).

- Deferred revenue: the balance of the deferred-revenue accounts over everything a sink holds
  through the end of the period, against the sum of every pool's deferred revenue at that end
  (or at the last recognition cutoff, if earlier), per currency.
- Billings: the deferral entries of the period against the purchases ingested in it (the
  revenue of the pools that became effective in the period), per currency.

A closed period is compared with the subledger as it was known when it was closed (late facts
post, marked late, in the first open period). A closed period never receives a correction: a
repair posts it in the first open period, and the closed period's tie-out names it ("corrected in
2026-11 by entry rp-...") instead of staying red.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.journal import JournalEntry, PostedEntry
from connector.recognition import subledger
from connector.recognition.closing import closed_periods, kept_deferred
from connector.recognition.gl import GLResolver
from connector.recognition.periods import end_of, periods_from, start_of, zone
from connector.recognition.tables import journal_entries, recognition_control
from connector.reconcile import records
from connector.reconcile.readback import ReadBack
from connector.reports.units import shown
from connector.store.tables import pools

DEFERRED = "deferred revenue"
BILLINGS = "billings"


@dataclass(frozen=True)
class TieOut:
    check: str  # DEFERRED or BILLINGS
    source: str  # the sink whose postings are checked, or "journal"
    currency: str
    subledger: int  # the pools' side
    ledger: int  # the journal's side (posted entries or deferral entries)
    corrected: int = 0  # what repairs posted in later periods add to this side
    corrections: tuple[Correction, ...] = ()

    @property
    def difference(self) -> int:
        return self.ledger - self.subledger

    @property
    def ties(self) -> bool:
        return self.difference + self.corrected == 0

    @property
    def result(self) -> str:
        if self.difference == 0:
            return "ties"
        if self.ties:
            return "corrected in " + ", ".join(
                f"{c.period} by entry {c.entry_id}" for c in self.corrections
            )
        return f"differs by {shown(self.difference, self.currency)}"


@dataclass(frozen=True)
class Correction:
    """A repair of a closed period, posted in a later one."""

    period: str
    entry_id: str
    currency: str
    deferred: int  # its effect on deferred revenue


def cutoff(conn: Connection, period: str, timezone: str) -> datetime:
    """The end of ``period``, or the last recognition cutoff when that comes first."""
    end = end_of(period, zone(timezone))
    through: datetime | None = conn.execute(select(recognition_control.c.last_through)).scalar()
    return min(end, through) if through is not None else end


def deferred_accounts(conn: Connection, gl: GLResolver) -> dict[str, set[str]]:
    """Currency -> the deferred-revenue account codes the pools post to."""
    out: dict[str, set[str]] = defaultdict(set)
    for version, currency, entity in conn.execute(
        select(pools.c.mapping_version, pools.c.currency, pools.c.entity)
        .where(pools.c.revenue_amount > 0)
        .distinct()
    ):
        out[currency].add(gl(version, currency, entity).deferred_revenue)
    return dict(out)


def ledger_deferred(
    postings: Iterable[PostedEntry | JournalEntry], accounts: Mapping[str, set[str]]
) -> dict[str, int]:
    """Credit balance of the deferred-revenue accounts, per currency (pure)."""
    out: dict[str, int] = defaultdict(int)
    for posting in postings:
        codes = accounts.get(posting.currency, set())
        for line in posting.lines:
            if line.account in codes:
                out[posting.currency] += line.credit - line.debit
    return dict(out)


def subledger_deferred(conn: Connection, moment: datetime) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for info, positions in subledger.positions(conn, [moment]):
        out[info.currency] += positions[0].deferred
    return dict(out)


def _rows(check: str, source: str, left: dict[str, int], right: dict[str, int]) -> list[TieOut]:
    return [
        TieOut(check, source, currency, left.get(currency, 0), right.get(currency, 0))
        for currency in sorted(set(left) | set(right))
    ]


def deferred_tie_out(
    conn: Connection,
    readback: ReadBack,
    period: str,
    gl: GLResolver,
    timezone: str,
    first: str | None,
) -> list[TieOut]:
    """Pools' deferred revenue against the sink's deferred-revenue balance through ``period``."""
    accounts = deferred_accounts(conn, gl)
    postings = [
        posting
        for each in periods_from(min(first or period, period), period)
        for posting in readback.period(each)
    ]
    kept = kept_deferred(conn)
    if period in {p for p, _c in kept}:  # closed: the subledger as known at its close
        pools_side = {c: amount for (p, c), amount in kept.items() if p == period}
    else:
        pools_side = subledger_deferred(conn, cutoff(conn, period, timezone))
    rows = _rows(DEFERRED, readback.name, pools_side, ledger_deferred(postings, accounts))
    if period not in closed_periods(conn):
        return rows
    fixes = corrections(conn, readback.name, period, accounts)
    return [
        replace(
            row,
            corrected=sum(c.deferred for c in fixes if c.currency == row.currency),
            corrections=tuple(c for c in fixes if c.currency == row.currency),
        )
        for row in rows
    ]


def corrections(
    conn: Connection, sink: str, period: str, accounts: Mapping[str, set[str]]
) -> list[Correction]:
    """Repairs of ``period`` or earlier posted to ``sink`` in a later period."""
    out = []
    for repair in records.repairs(conn, sink):
        if repair.status != records.POSTED:
            continue
        if not repair.reconciled_period <= period < repair.period:
            continue
        effect = ledger_deferred([repair.entry], accounts).get(repair.entry.currency, 0)
        out.append(Correction(repair.period, repair.id, repair.entry.currency, effect))
    return out


def billings_tie_out(conn: Connection, period: str, timezone: str) -> list[TieOut]:
    """Purchases ingested in ``period`` against the period's deferral entries."""
    start, end = start_of(period, zone(timezone)), cutoff(conn, period, timezone)
    purchases = {
        currency: int(amount)
        for currency, amount in conn.execute(
            select(pools.c.currency, func.sum(pools.c.revenue_amount))
            .where(
                pools.c.revenue_amount > 0,
                pools.c.effective_at >= start,
                pools.c.effective_at < end,
            )
            .group_by(pools.c.currency)
        )
    }
    billed = {
        currency: int(amount)
        for currency, amount in conn.execute(
            select(journal_entries.c.currency, func.sum(journal_entries.c.billed))
            .where(journal_entries.c.period == period)
            .group_by(journal_entries.c.currency)
        )
        if amount
    }
    return _rows(BILLINGS, "journal", purchases, billed)
