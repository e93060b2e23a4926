"""Builders shared by the recognition, period, outbox and report tests (no tests here)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy import Engine, select

from connector.events import SourceKey
from connector.ledger.models import BreakageMethod, BurnRequest, GrantRequest, PoolKind
from connector.ledger.service import Ledger
from connector.recognition.gl import GLResolver, fixed
from connector.recognition.tables import journal_entries
from mappings.gl import GLAccounts

ACCOUNTS = GLAccounts(
    deferred_revenue="2400",
    revenue="4000",
    breakage_revenue="4050",
    refunds="4090",
    clearing="1200",
)
GL: GLResolver = fixed(ACCOUNTS)
_serial = count(1)


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


def new_ledger(engine: Engine) -> Ledger:
    ledger = Ledger(engine)
    ledger.set_rate("query", "1", datetime(2020, 1, 1, tzinfo=UTC))
    return ledger


def grant(
    ledger: Ledger,
    *,
    amount: int,
    credits: int,
    effective_at: datetime,
    expires_at: datetime | None = None,
    account: str = "acme",
    kind: PoolKind = PoolKind.PAID,
    currency: str = "USD",
    method: BreakageMethod = BreakageMethod.REMOTE,
    rate: str = "0",
    object_id: str | None = None,
    part: str = "paid",
    entity: str | None = None,
) -> int:
    pool, _created = ledger.grant(
        GrantRequest(
            account_id=account,
            kind=kind,
            credits=credits,
            revenue_amount=amount,
            currency=currency,
            effective_at=effective_at,
            expires_at=expires_at,
            source=SourceKey(
                platform="test", object_id=object_id or f"inv_{next(_serial)}", line_id="l1"
            ),
            part=part,
            breakage_method=method,
            breakage_rate=rate,
            entity=entity,
        )
    )
    return pool.id


def burn(ledger: Ledger, credits: int, occurred_at: datetime, account: str = "acme") -> None:
    ledger.burn(
        BurnRequest(
            account_id=account,
            idempotency_key=f"burn-{next(_serial)}",
            action="query",
            units=credits,
            occurred_at=occurred_at,
        )
    )


def posted_figures(engine: Engine) -> dict[tuple[str, str, bool], int]:
    """(period, figure, late) -> amount over every journal entry."""
    out: dict[tuple[str, str, bool], int] = defaultdict(int)
    with engine.connect() as conn:
        rows = conn.execute(select(journal_entries)).mappings().all()
    for row in rows:
        for figure in ("billed", "revenue", "breakage", "refunded", "contra"):
            if row[figure]:
                out[(row["period"], figure, bool(row["late"]))] += row[figure]
    return dict(out)


def by_period(engine: Engine, figure: str) -> dict[str, int]:
    """Period -> amount of one figure (late and on time together), zeros left out."""
    out: dict[str, int] = defaultdict(int)
    for (period, name, _late), amount in posted_figures(engine).items():
        if name == figure:
            out[period] += amount
    return {p: a for p, a in sorted(out.items()) if a}


def day_after(moment: datetime) -> datetime:
    return moment + timedelta(days=1)
