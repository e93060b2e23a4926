"""From a journal entry back to the pools (and purchase lines) it came from, with amounts.

A summarized entry carries no pool list of its own (it may stand for thousands of pools); these
links are its audit trail, and they add up to the entry's figures exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from connector.errors import NotFound
from connector.events import SourceKey
from connector.recognition.tables import journal_entries, recognition_deltas
from connector.store.tables import pools


@dataclass(frozen=True)
class Link:
    pool_id: int
    source_key: str  # platform:object:line of the purchase line
    part: str  # paid / bonus
    figure: str  # billed, revenue, breakage, refunded or contra
    amount: int


def entry_links(conn: Connection, entry_id: str) -> list[Link]:
    exists = conn.execute(
        select(journal_entries.c.id).where(journal_entries.c.id == entry_id)
    ).first()
    if exists is None:
        raise NotFound(f"journal entry {entry_id!r} does not exist")
    d, p = recognition_deltas.c, pools.c
    rows = conn.execute(
        select(
            d.pool_id,
            p.source_platform,
            p.source_object,
            p.source_line,
            p.source_part,
            d.figure,
            d.amount,
        )
        .join(pools, pools.c.id == d.pool_id)
        .where(d.entry_id == entry_id)
        .order_by(d.pool_id, d.figure)
    )
    return [
        Link(
            pool_id=pool_id,
            source_key=str(SourceKey(platform=platform, object_id=obj, line_id=line)),
            part=part,
            figure=figure,
            amount=int(amount),
        )
        for pool_id, platform, obj, line, part, figure, amount in rows
    ]
