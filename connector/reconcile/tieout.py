"""The tie-out: the general ledger as posted against the pools (the subledger).

- Deferred revenue: the balance of the deferred-revenue accounts over everything a sink holds
  through the end of the period, against the sum of every pool's deferred revenue at that end
  (or at the last recognition cutoff, if earlier), per currency.
- Billings: the deferral entries of the period against the purchases ingested in it (the
  revenue of the pools that became effective in the period), per currency.

A closed period may legitimately differ by what arrived after it was closed: that is posted,
marked late, in the first open period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.journal import PostedEntry
from connector.recognition import subledger
from connector.recognition.gl import GLResolver
from connector.recognition.periods import end_of, periods_from, start_of, zone
from connector.recognition.tables import journal_entries, recognition_control
from connector.reconcile.readback import ReadBack
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

    @property
    def difference(self) -> int:
        return self.ledger - self.subledger

    @property
    def ties(self) -> bool:
        return self.difference == 0

    @property
    def result(self) -> str:
        return "ties" if self.ties else f"differs by {self.difference}"


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
    postings: Iterable[PostedEntry], accounts: Mapping[str, set[str]]
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
    pools_side = subledger_deferred(conn, cutoff(conn, period, timezone))
    return _rows(DEFERRED, readback.name, pools_side, ledger_deferred(postings, accounts))


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
