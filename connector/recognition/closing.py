"""Closing accounting periods: final, in order, and only once recognition has covered them.

Rules a finance team relies on:
- a closed period is never posted into again and cannot be reopened (late facts post in the
  first open period, marked late);
- periods close in order: closing 2026-10 while 2026-09 (with entries) is open is refused, since
  September's figures could still move and October's opening balance with them;
- a period closes only after ``recognize`` has run through its end and has seen every ledger
  change dated in it, so nothing it should hold is pushed into the next period by the close;
- a period closes only once the pools due to expire in it have been expired, so its breakage is
  in it and not posted late in the next one;
- at close, the subledger's deferred revenue per currency and entity is kept: the closed
  period's rollforward ties to the subledger as it was known then (late facts show in the first
  open period instead of turning a closed period red).
Closing an already closed period returns it unchanged (idempotent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.errors import InvalidInput
from connector.ledger.models import PoolStatus
from connector.recognition import control, subledger
from connector.recognition.periods import (
    end_of,
    entry_date,
    next_period,
    parse_period,
    start_of,
    zone,
)
from connector.recognition.tables import (
    accounting_periods,
    closed_period_balances,
    journal_entries,
    recognition_money,
)
from connector.store.tables import ledger_entries, pools
from connector.timeutil import require_aware, utcnow


@dataclass(frozen=True)
class ClosedPeriod:
    period: str
    starts_at: datetime
    ends_at: datetime
    closed_at: datetime
    timezone: str


@dataclass(frozen=True)
class PeriodStatus:
    period: str
    closed: bool
    entries: int
    closed_at: datetime | None


def closed_periods(conn: Connection) -> list[str]:
    return list(
        conn.execute(select(accounting_periods.c.period).order_by(accounting_periods.c.period))
        .scalars()
        .all()
    )


def first_open(conn: Connection) -> str | None:
    """The period after the last closed one (None: nothing closed yet)."""
    last = conn.execute(select(func.max(accounting_periods.c.period))).scalar()
    return next_period(last) if last else None


def _closed(conn: Connection, period: str) -> ClosedPeriod | None:
    row = conn.execute(
        select(accounting_periods).where(accounting_periods.c.period == period)
    ).first()
    if row is None:
        return None
    return ClosedPeriod(row.period, row.starts_at, row.ends_at, row.closed_at, row.timezone)


def _unrecognized_before(conn: Connection, state: control.Control, moment: datetime) -> int:
    """Facts the last recognition did not see (above its watermarks) dated before ``moment``."""
    le, m = ledger_entries.c, recognition_money.c
    count = conn.execute(
        select(func.count())
        .select_from(ledger_entries.join(pools, pools.c.id == le.pool_id))
        .where(le.id > state.ledger_watermark, le.occurred_at < moment, pools.c.revenue_amount > 0)
    ).scalar_one()
    count += conn.execute(
        select(func.count()).where(m.id > state.money_watermark, m.occurred_at < moment)
    ).scalar_one()
    return int(count)


def expiries_due(conn: Connection, before: datetime) -> int:
    """Pools whose expiry falls before ``before`` and that ``expire`` has not closed yet."""
    return int(
        conn.execute(
            select(func.count()).where(
                pools.c.status.in_([PoolStatus.ACTIVE.value, PoolStatus.EXHAUSTED.value]),
                pools.c.expires_at.is_not(None),
                pools.c.expires_at < before,
            )
        ).scalar_one()
    )


def _keep_subledger(conn: Connection, period: str, ends_at: datetime) -> None:
    """Record the pools' deferred revenue at the period's end, per currency and entity."""
    kept: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for currency in conn.execute(
        select(journal_entries.c.currency).where(journal_entries.c.period <= period).distinct()
    ).scalars():
        kept[(currency, "")]  # a currency with nothing deferred left is kept as 0
    for info, (position,) in subledger.positions(conn, [ends_at]):
        totals = kept[(info.currency, info.entity or "")]
        totals[0] += position.deferred
        totals[1] += 1
    if kept:
        conn.execute(
            closed_period_balances.insert(),
            [
                {
                    "period": period,
                    "currency": currency,
                    "entity": entity,
                    "deferred": deferred,
                    "pools": count,
                }
                for (currency, entity), (deferred, count) in sorted(kept.items())
            ],
        )


def kept_deferred(conn: Connection, entity: str | None = None) -> Mapping[tuple[str, str], int]:
    """Deferred revenue kept at each close, per (period, currency), over all entities.

    A closed period with no row at all was closed before balances were kept: callers compare it
    with the subledger recomputed now."""
    c = closed_period_balances.c
    query = select(c.period, c.currency, func.sum(c.deferred)).group_by(c.period, c.currency)
    if entity is not None:
        query = query.where(c.entity == entity)
    rows = conn.execute(query).all()
    return {(period, currency): int(total) for period, currency, total in rows}


def close_period(
    conn: Connection, period: str, timezone: str = "UTC", now: datetime | None = None
) -> ClosedPeriod:
    period = parse_period(period)
    tz = zone(timezone)
    control.serialize(conn)
    state = control.load(conn, timezone)
    done = _closed(conn, period)
    if done is not None:
        return done
    opening = first_open(conn)
    if opening is not None and period != opening:
        if period < opening:  # pragma: no cover - periods close in order, so none is skipped
            raise InvalidInput("period", f"{period} is before the last closed period")
        raise InvalidInput("period", f"{opening} is still open", f"close {opening} first")
    if opening is None:
        earlier = conn.execute(
            select(func.min(journal_entries.c.period)).where(journal_entries.c.period < period)
        ).scalar()
        if earlier is not None:
            raise InvalidInput(
                "period", f"{earlier} has entries and is still open", f"close {earlier} first"
            )
    ends_at = end_of(period, tz)
    if state.last_through is None or state.last_through < ends_at:
        covered = state.last_through.isoformat() if state.last_through else "never"
        raise InvalidInput(
            "period",
            f"recognition has run through {covered}, not to the end of {period}",
            f"run `creditsync recognize --through {entry_date(ends_at, tz).isoformat()}` first",
        )
    due = expiries_due(conn, ends_at)
    if due:
        raise InvalidInput(
            "period",
            f"{due} pool(s) expire before the end of {period} and have not been expired: "
            "their breakage belongs in it",
            f"run `creditsync expire --at {ends_at.isoformat()}`, then `creditsync recognize "
            f"--through {entry_date(ends_at, tz).isoformat()}`, then close {period}",
        )
    unrecognized = _unrecognized_before(conn, state, ends_at)
    if unrecognized:
        raise InvalidInput(
            "period",
            f"{unrecognized} ledger change(s) dated before the end of {period} arrived after the "
            "last recognition and would post late",
            f"run `creditsync recognize` again, then close {period}",
        )
    now = require_aware(now or utcnow(), "now")
    closed = ClosedPeriod(period, start_of(period, tz), ends_at, now, timezone)
    conn.execute(
        accounting_periods.insert().values(
            period=period,
            timezone=timezone,
            starts_at=closed.starts_at,
            ends_at=closed.ends_at,
            closed_at=now,
        )
    )
    _keep_subledger(conn, period, ends_at)
    return closed


def list_periods(conn: Connection) -> list[PeriodStatus]:
    """Every period that has entries or is closed, oldest first."""
    counts: dict[str, int] = dict(
        conn.execute(
            select(journal_entries.c.period, func.count()).group_by(journal_entries.c.period)
        ).all()
    )
    closed = {
        row.period: row.closed_at
        for row in conn.execute(select(accounting_periods.c.period, accounting_periods.c.closed_at))
    }
    return [
        PeriodStatus(period, period in closed, int(counts.get(period, 0)), closed.get(period))
        for period in sorted(set(counts) | set(closed))
    ]
