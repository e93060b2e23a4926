"""Reads what recognition needs from the store, many pools per query."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, Connection, Table, select

from connector.events import SourceKey
from connector.ledger.models import PoolKind
from connector.recognition.state import FIGURE_NAMES, Figures
from connector.recognition.stream import LedgerRow, MoneyRow
from connector.recognition.tables import (
    recognition_money,
    recognition_posted,
    recognition_state,
)
from connector.recognition.terms import PoolTerms, terms
from connector.store.tables import ledger_entries, pools

CHUNK = 2_000
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Many rows, fast on both databases: SQLite's executemany runs in C; on PostgreSQL, COPY
    in the same transaction (psycopg's executemany sends one statement per row, and multi-row
    INSERTs spend their time building huge statements). Every row has the same keys."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(table.insert(), list(rows))
        return
    from psycopg.types.json import Json

    columns = list(rows[0])
    as_json = {c for c in columns if isinstance(table.c[c].type, JSON)}
    names = ", ".join(f'"{c}"' for c in columns)
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([Json(row[c]) if c in as_json else row[c] for c in columns])


@dataclass(frozen=True, slots=True)
class PoolInfo:
    id: int
    account_id: str
    kind: PoolKind
    terms: PoolTerms
    currency: str
    effective_at: datetime
    expires_at: datetime | None
    credits_remaining: int
    mapping_version: str | None
    entity: str | None
    source_key: str  # the purchase line it came from, as SourceKey prints it


_POOL_COLUMNS = (
    pools.c.id,
    pools.c.account_id,
    pools.c.kind,
    pools.c.credits_granted,
    pools.c.credits_remaining,
    pools.c.revenue_amount,
    pools.c.currency,
    pools.c.effective_at,
    pools.c.expires_at,
    pools.c.breakage_method,
    pools.c.breakage_rate,
    pools.c.mapping_version,
    pools.c.entity,
    pools.c.source_platform,
    pools.c.source_object,
    pools.c.source_line,
    pools.c.source_part,
)


def pool_infos(
    conn: Connection, ids: Iterable[int], *, with_revenue_only: bool = True
) -> dict[int, PoolInfo]:
    query = select(*_POOL_COLUMNS).where(pools.c.id.in_(list(ids)))
    if with_revenue_only:
        query = query.where(pools.c.revenue_amount > 0)
    out = {}
    for r in conn.execute(query):
        out[r.id] = PoolInfo(
            id=r.id,
            account_id=r.account_id,
            kind=PoolKind(r.kind),
            terms=terms(r.revenue_amount, r.credits_granted, r.breakage_method, r.breakage_rate),
            currency=r.currency,
            effective_at=r.effective_at,
            expires_at=r.expires_at,
            credits_remaining=r.credits_remaining,
            mapping_version=r.mapping_version,
            entity=r.entity,
            source_key=str(
                SourceKey(
                    platform=r.source_platform, object_id=r.source_object, line_id=r.source_line
                )
            ),
        )
    return out


def ledger_rows(
    conn: Connection,
    ids: Iterable[int],
    *,
    max_id: int | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    at_or_before: datetime | None = None,
    since_cutoff: bool = False,
) -> dict[int, list[LedgerRow]]:
    """Each pool's ledger entries (id <= max_id; occurred_at from ``since``, before ``before``
    or at or before ``at_or_before``; with
    ``since_cutoff``, only those at or after the pool's own saved recognition cutoff)."""
    ids = list(ids)
    out: dict[int, list[LedgerRow]] = defaultdict(list)
    if not ids:
        return out
    le = ledger_entries.c
    query = select(le.id, le.pool_id, le.kind, le.credits, le.reference, le.occurred_at).where(
        le.pool_id.in_(ids)
    )
    if max_id is not None:
        query = query.where(le.id <= max_id)
    if since is not None:
        query = query.where(le.occurred_at >= since)
    if before is not None:
        query = query.where(le.occurred_at < before)
    if at_or_before is not None:
        query = query.where(le.occurred_at <= at_or_before)
    if since_cutoff:
        query = query.join(recognition_state, recognition_state.c.pool_id == le.pool_id).where(
            le.occurred_at >= recognition_state.c.cutoff
        )
    for entry_id, pool_id, kind, credits, reference, occurred_at in conn.execute(query).all():
        out[pool_id].append(LedgerRow(entry_id, kind, credits, reference, occurred_at))
    return out


def money_rows(
    conn: Connection,
    ids: Iterable[int],
    *,
    max_id: int | None = None,
    since: datetime | None = None,
    at_or_before: datetime | None = None,
    since_cutoff: bool = False,
) -> dict[int, list[MoneyRow]]:
    ids = list(ids)
    out: dict[int, list[MoneyRow]] = defaultdict(list)
    if not ids:
        return out
    m = recognition_money.c
    query = select(
        m.id,
        m.pool_id,
        m.kind,
        m.amount,
        m.credits,
        m.reference,
        m.occurred_at,
        m.ledger_seq,
        m.to_deferred,
        m.contra,
    ).where(m.pool_id.in_(ids))
    if max_id is not None:
        query = query.where(m.id <= max_id)
    if since is not None:
        query = query.where(m.occurred_at >= since)
    if at_or_before is not None:
        query = query.where(m.occurred_at <= at_or_before)
    if since_cutoff:
        query = query.join(recognition_state, recognition_state.c.pool_id == m.pool_id).where(
            m.occurred_at >= recognition_state.c.cutoff
        )
    for r in conn.execute(query):
        out[r.pool_id].append(
            MoneyRow(
                r.id,
                r.kind,
                r.amount,
                r.credits,
                r.reference,
                r.occurred_at,
                r.ledger_seq,
                r.to_deferred,
                r.contra,
            )
        )
    return out


def posted(conn: Connection, ids: Iterable[int]) -> dict[int, dict[tuple[str, bool], Figures]]:
    """What earlier runs posted for each pool, by (period, late)."""
    p = recognition_posted.c
    out: dict[int, dict[tuple[str, bool], Figures]] = defaultdict(dict)
    for row in conn.execute(
        select(p.pool_id, p.period, p.late, *(p[name] for name in FIGURE_NAMES)).where(
            p.pool_id.in_(list(ids))
        )
    ):
        out[row[0]][(row[1], bool(row[2]))] = Figures(*(int(v) for v in row[3:]))
    return dict(out)
