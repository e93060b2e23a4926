"""Expiry: credits left in a pool at its expires_at are lost, and the ledger says how many."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, select, update

from connector.ledger.models import EntryKind, PoolStatus
from connector.store.tables import ledger_entries, pools
from connector.timeutil import require_aware, utcnow

EXPIRY_REFERENCE = "expiry"
CHUNK = 5_000


@dataclass(frozen=True)
class Expired:
    pool_id: int
    account_id: str
    credits: int
    expired_at: datetime


def expire(conn: Connection, at: datetime, limit: int = CHUNK) -> tuple[int, list[Expired]]:
    """Expire up to ``limit`` pools whose expires_at is at or before ``at``.

    Returns how many pools were closed and those that lost credits. Callers loop (each chunk in
    its own transaction) until a chunk closes none; the ledger entry is dated at the pool's own
    expires_at, not at the moment the job ran.
    """
    at = require_aware(at, "at")
    rows = conn.execute(
        select(pools.c.id, pools.c.account_id, pools.c.credits_remaining, pools.c.expires_at)
        .where(
            and_(
                pools.c.status.in_([PoolStatus.ACTIVE.value, PoolStatus.EXHAUSTED.value]),
                pools.c.expires_at.is_not(None),
                pools.c.expires_at <= at,
            )
        )
        .order_by(pools.c.expires_at, pools.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return 0, []
    now = utcnow()
    expired = [Expired(r.id, r.account_id, r.credits_remaining, r.expires_at) for r in rows]
    lost = [e for e in expired if e.credits > 0]
    if lost:
        conn.execute(
            ledger_entries.insert(),
            [
                {
                    "pool_id": e.pool_id,
                    "account_id": e.account_id,
                    "kind": EntryKind.EXPIRE.value,
                    "credits": -e.credits,
                    "reference": EXPIRY_REFERENCE,
                    "occurred_at": e.expired_at,
                    "recorded_at": now,
                }
                for e in lost
            ],
        )
    conn.execute(
        update(pools)
        .where(pools.c.id == bindparam("pool"))
        .values(credits_remaining=0, status=PoolStatus.EXPIRED.value),
        [{"pool": e.pool_id} for e in expired],
    )
    return len(expired), lost
