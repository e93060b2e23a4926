"""A refund of a purchase (or of one of its lines) spread over the pools it granted.

The money goes to the pools with revenue, in proportion to what is left of their amounts (which
is their amounts until something was refunded, and never refunds a pool beyond what it was
paid). Pools without revenue (a bonus carrying none) have no money to follow, so they follow
their line: k = min(Q, round(Q x F / R_line)) of their credits are clawed back, F being what the
line gets of this refund and R_line what was left of the line's amount before it, and a refund
that takes the line's whole amount takes every credit of all its pools. A refunded bundle never
leaves its free credits behind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.errors import Conflict, InvalidInput
from connector.ingest.plan import split_refund
from connector.ledger.models import EntryKind, Pool
from connector.ledger.pools import take_back
from connector.recognition.refund import in_step
from connector.recognition.refunds import RefundApplied, apply_refund, refunded_so_far
from connector.recognition.tables import recognition_money


def apply_line_refund(
    conn: Connection, pools: Sequence[Pool], amount: int, reference: str, at: datetime
) -> list[RefundApplied]:
    """Refund ``amount`` over ``pools`` (those of one purchase object, or of one of its lines)
    in the caller's transaction; idempotent on ``reference``: a replay changes nothing."""
    if not pools:
        raise InvalidInput("pools", "there are no pools to spread the refund over")
    ids = [p.id for p in pools]
    if _replayed(conn, ids, amount, reference):
        return []
    left = refunded_so_far(conn, ids)
    remaining = {p.id: p.revenue_amount - left[p.id] for p in pools}
    if amount > sum(remaining.values()) > 0:
        raise InvalidInput(
            "amount",
            f"refunding {amount} from {pools[0].source.object_id}, of which "
            f"{sum(remaining.values())} is left unrefunded",
            "refund at most what is left of the purchase",
        )
    shares = dict(split_refund(amount, [(pool_id, remaining[pool_id]) for pool_id in ids]))
    applied = [
        apply_refund(conn, pool.id, shares[pool.id], reference, at)
        for pool in pools
        if shares[pool.id] > 0
    ]
    lines: dict[str, list[Pool]] = defaultdict(list)
    for pool in pools:
        lines[pool.source.line_id].append(pool)
    for line in lines.values():
        line_left = sum(remaining[p.id] for p in line if p.revenue_amount > 0)
        line_share = sum(shares[p.id] for p in line)
        if line_left <= 0 or line_share <= 0:
            continue
        for pool in line:
            if pool.revenue_amount == 0 and pool.credits_remaining > 0:
                clawed = in_step(pool.credits_remaining, line_share, line_left)
                if clawed > 0:
                    take_back(conn, pool.id, clawed, EntryKind.CLAWBACK, reference, at)
    return applied


def _replayed(conn: Connection, ids: Sequence[int], amount: int, reference: str) -> bool:
    """True when ``reference`` was applied to these pools already (with the same amount)."""
    m = recognition_money.c
    recorded = conn.execute(
        select(func.count(), func.coalesce(func.sum(m.amount), 0)).where(
            m.pool_id.in_(list(ids)), m.reference == reference
        )
    ).one()
    if not recorded[0]:
        return False
    if int(recorded[1]) != amount:
        raise Conflict(
            f"reference {reference!r} already recorded {int(recorded[1])} on pools {list(ids)}; "
            "use a new reference for a new refund"
        )
    return True
