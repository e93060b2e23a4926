"""The subledger: every pool's money recomputed from the ledger alone, at chosen moments.

Reports use it as the independent side of a reconciliation: what the journal says deferred
revenue is (the GL side) against what the pools say it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from connector.recognition import loader
from connector.recognition.state import Figures, PoolState
from connector.recognition.stream import apply, build
from connector.store.tables import pools


@dataclass(frozen=True, slots=True)
class Position:
    """A pool at one moment: its figures, deferred balance, credits and expected breakage."""

    moment: datetime
    figures: Figures
    deferred: int
    credits_left: int
    expected_breakage_credits: int
    expected_breakage_amount: int
    closed: bool


def _position(moment: datetime, state: PoolState) -> Position:
    credits, amount = state.expected_breakage()
    return Position(
        moment=moment,
        figures=state.figures(),
        deferred=state.deferred,
        credits_left=state.credits_left,
        expected_breakage_credits=credits,
        expected_breakage_amount=amount,
        closed=state.closed,
    )


def positions(
    conn: Connection, moments: Sequence[datetime], *, with_revenue_only: bool = True
) -> Iterator[tuple[loader.PoolInfo, list[Position]]]:
    """For each pool effective before the last moment: its position at each of ``moments``."""
    ordered = sorted(moments)
    if not ordered:
        return
    last = ordered[-1]
    query = select(pools.c.id).where(pools.c.effective_at < last).order_by(pools.c.id)
    if with_revenue_only:
        query = query.where(pools.c.revenue_amount > 0)
    ids = list(conn.execute(query).scalars())
    for chunk in loader.chunks(ids):
        infos = loader.pool_infos(conn, chunk, with_revenue_only=with_revenue_only)
        ledger = loader.ledger_rows(conn, chunk, before=last)
        money = loader.money_rows(conn, chunk)
        for pool_id in sorted(infos):
            info = infos[pool_id]
            events = build(
                ledger.get(pool_id, ()),
                (m for m in money.get(pool_id, ()) if m.occurred_at < last),
                info.effective_at,
            )
            state = PoolState.start(info.terms)
            position = 0
            out = []
            for moment in ordered:
                while position < len(events) and events[position].at < moment:
                    apply(state, events[position])
                    position += 1
                out.append(_position(moment, state))
            yield info, out
