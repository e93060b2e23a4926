"""Pools: credits from one source line, granted once, taken from only through ledger entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, RowMapping, bindparam, exists, func, select, update

from connector.errors import InvalidInput, NotFound
from connector.events import SourceKey
from connector.ledger import accounts
from connector.ledger.holdings import usable_at as usable_at  # where burns and balances ask
from connector.ledger.models import (
    BreakageMethod,
    EntryKind,
    GrantRequest,
    Pool,
    PoolKind,
    PoolStatus,
)
from connector.money import normalize_currency, require_minor_units
from connector.store.batch import Batch, Sent
from connector.store.bulk import insert_rows, json_insert, rows_json
from connector.store.sql import insert_ignoring_duplicates, lock_rows_clause
from connector.store.tables import ledger_entries, pools
from connector.timeutil import require_aware, utcnow

SOURCE_COLUMNS = ["source_platform", "source_object", "source_line", "source_part"]
GRANT_REFERENCE = "grant"


def pool_from_row(row: RowMapping) -> Pool:
    return Pool(
        id=row["id"],
        account_id=row["account_id"],
        kind=PoolKind(row["kind"]),
        credits_granted=row["credits_granted"],
        credits_remaining=row["credits_remaining"],
        revenue_amount=row["revenue_amount"],
        currency=row["currency"],
        effective_at=row["effective_at"],
        expires_at=row["expires_at"],
        priority=row["priority"],
        status=PoolStatus(row["status"]),
        source=SourceKey(
            platform=row["source_platform"],
            object_id=row["source_object"],
            line_id=row["source_line"],
        ),
        part=row["source_part"],
        item_id=row["item_id"],
        mapping_version=row["mapping_version"],
        entity=row["entity"],
        breakage_method=BreakageMethod(row["breakage_method"]),
        breakage_rate=row["breakage_rate"],
        created_at=row["created_at"],
    )


def grant_request_of(pool: Pool) -> GrantRequest:
    """The request that grants ``pool`` again (as a rebuild replays it)."""
    return GrantRequest(
        account_id=pool.account_id,
        kind=pool.kind,
        credits=pool.credits_granted,
        revenue_amount=pool.revenue_amount,
        currency=pool.currency,
        effective_at=pool.effective_at,
        source=pool.source,
        part=pool.part,
        expires_at=pool.expires_at,
        priority=pool.priority,
        item_id=pool.item_id,
        mapping_version=pool.mapping_version,
        entity=pool.entity,
        breakage_method=pool.breakage_method,
        breakage_rate=pool.breakage_rate,
    )


def validate_grant(req: GrantRequest) -> None:
    """Refuse a grant that could not be right, naming the field (nothing is written)."""
    try:
        kind = PoolKind(req.kind)
    except ValueError:
        kinds = ", ".join(k.value for k in PoolKind)
        raise InvalidInput("kind", f"unknown pool kind {req.kind!r}", f"one of {kinds}") from None
    if require_minor_units(req.credits, "credits") <= 0:
        raise InvalidInput("credits", f"{req.credits} is not a positive number of credits")
    if require_minor_units(req.revenue_amount, "revenue_amount") < 0:
        raise InvalidInput("revenue_amount", "is negative")
    if kind is PoolKind.PROMOTIONAL and req.revenue_amount != 0:
        raise InvalidInput("revenue_amount", "promotional credits carry no revenue", "use 0")
    normalize_currency(req.currency)
    require_aware(req.effective_at, "effective_at")
    if req.expires_at is not None:
        require_aware(req.expires_at, "expires_at")
        if req.expires_at <= req.effective_at:
            raise InvalidInput("expires_at", "is not after effective_at")
    _breakage_rate(req.breakage_rate)
    if not req.account_id:
        raise InvalidInput("account_id", "is empty")


@lru_cache(maxsize=256)  # a few rates in a mapping set, on every request of a sync page
def _breakage_rate(text: str) -> str:
    """The rate as stored (exact decimal text), refusing one that is not a decimal in [0, 1)."""
    try:
        rate = Decimal(text)
    except InvalidOperation:
        raise InvalidInput("breakage_rate", f"{text!r} is not a decimal") from None
    if not Decimal(0) <= rate < Decimal(1):
        raise InvalidInput("breakage_rate", f"{text} is outside [0, 1)")
    return str(rate)


def _values(req: GrantRequest, now: datetime) -> dict[str, Any]:
    return dict(zip(POOL_COLUMNS, _row(req, now), strict=True))


def find_by_source(conn: Connection, source: SourceKey, part: str) -> Pool | None:
    row = (
        conn.execute(
            select(pools).where(
                pools.c.source_platform == source.platform,
                pools.c.source_object == source.object_id,
                pools.c.source_line == source.line_id,
                pools.c.source_part == part,
            )
        )
        .mappings()
        .first()
    )
    return pool_from_row(row) if row else None


def grant(conn: Connection, req: GrantRequest, now: datetime | None = None) -> tuple[Pool, bool]:
    """Create the pool for ``req`` once; granting the same source key again returns it as is."""
    validate_grant(req)
    now = now or utcnow()
    accounts.ensure_account(conn, req.account_id, now=now)
    inserted = conn.execute(
        insert_ignoring_duplicates(conn, pools, SOURCE_COLUMNS)
        .values(**_values(req, now))
        .returning(pools.c.id)
    ).scalar()
    if inserted is not None:
        conn.execute(
            ledger_entries.insert().values(
                pool_id=inserted,
                account_id=req.account_id,
                kind=EntryKind.GRANT.value,
                credits=req.credits,
                reference=GRANT_REFERENCE,
                occurred_at=req.effective_at,
                recorded_at=now,
            )
        )
    pool = find_by_source(conn, req.source, req.part)
    assert pool is not None
    return pool, inserted is not None


POOL_COLUMNS = (
    "account_id",
    "kind",
    "credits_granted",
    "credits_remaining",
    "revenue_amount",
    "currency",
    "effective_at",
    "expires_at",
    "priority",
    "status",
    *SOURCE_COLUMNS,
    "item_id",
    "mapping_version",
    "entity",
    "breakage_method",
    "breakage_rate",
    "created_at",
)
ENTRY_COLUMNS = ("pool_id", "account_id", "kind", "credits", "reference", "occurred_at")
CREATED = ("id", "account_id", "credits_granted", "effective_at", "created_at")


# PostgreSQL: the pools and their grant entries in one statement (no round trip between them); a
# pool skipped as granted before is not returned by the insert, so it gets no second entry
GRANT_SQL = (
    f"WITH created AS ({json_insert(pools, POOL_COLUMNS, tuple(SOURCE_COLUMNS), CREATED)}) "
    f"INSERT INTO ledger_entries ({', '.join(ENTRY_COLUMNS)}, recorded_at) "
    f"SELECT id, account_id, '{EntryKind.GRANT.value}', credits_granted, '{GRANT_REFERENCE}', "
    "effective_at, created_at FROM created RETURNING pool_id"
)


def grant_many(
    conn: Connection, requests: Sequence[GrantRequest], now: datetime | None = None
) -> int:
    """Grant many pools set-based (sync pages); returns how many were new.

    Same rules as ``grant``: each request is validated first (nothing is written if one is
    invalid) and a source key granted before is a no-op. Accounts must exist already. The pools
    go in as one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (see ``store.bulk``), which
    names exactly the pools this call created, and their grant entries (stamped ``now``) are
    written from what it returns: in the same statement on PostgreSQL, in one more on SQLite.
    """
    with Batch(conn, together=False) as batch:
        created = send_grants(batch, Grants.of(requests, now))
    return len(created.rows())


@dataclass(frozen=True)
class Grants:
    """Grant requests validated and ready to send (``send_grants``): the first request of each
    source key, as pools rows stamped ``now``."""

    by_key: dict[tuple[str, ...], GrantRequest]
    rows: list[tuple[Any, ...]]
    now: datetime

    @classmethod
    def of(cls, requests: Sequence[GrantRequest], now: datetime | None = None) -> Grants:
        """Raises for the first invalid request (InvalidInput), before anything is written."""
        for req in requests:
            validate_grant(req)
        now = now or utcnow()
        by_key: dict[tuple[str, ...], GrantRequest] = {}
        for req in requests:  # the first request of a key wins, as with one grant after another
            by_key.setdefault(
                (req.source.platform, req.source.object_id, req.source.line_id, req.part), req
            )
        return cls(by_key, [_row(req, now) for req in by_key.values()], now)


def send_grants(batch: Batch, grants: Grants) -> Sent:
    """``grant_many`` as one statement of ``batch`` (on SQLite two, run at once); its rows name
    the pools created (their ids)."""
    if not grants.rows:
        return Sent.ran([])
    if batch.dialect == "postgresql":
        return batch.execute(GRANT_SQL, {"rows": rows_json(pools, POOL_COLUMNS, grants.rows)})
    conn = batch.conn
    created = insert_rows(
        conn,
        pools,
        POOL_COLUMNS,
        grants.rows,
        conflict=SOURCE_COLUMNS,
        returning=("id", *SOURCE_COLUMNS),
    )
    grant, now = EntryKind.GRANT.value, grants.now
    entries = []
    for pool_id, *key in created:
        req = grants.by_key[tuple(key)]
        entries.append(
            (pool_id, req.account_id, grant, req.credits, GRANT_REFERENCE, req.effective_at, now)
        )
    insert_rows(conn, ledger_entries, (*ENTRY_COLUMNS, "recorded_at"), entries)
    return Sent.ran([(pool_id,) for pool_id, *_ in created])


# The stored text of each kind and method, looked up by member or by text (StrEnum members are
# equal to their text): what PoolKind(x).value gives, for a request validated already
_KIND_TEXT = {kind.value: kind.value for kind in PoolKind}
_METHOD_TEXT = {method.value: method.value for method in BreakageMethod}


def _row(req: GrantRequest, now: datetime) -> tuple[Any, ...]:
    """A validated request as a pools row, in the order of POOL_COLUMNS."""
    source = req.source
    return (
        req.account_id,
        _KIND_TEXT[req.kind],
        req.credits,
        req.credits,
        req.revenue_amount,
        req.currency.upper(),  # normalize_currency's result once validated
        req.effective_at,
        req.expires_at,
        req.priority,
        PoolStatus.ACTIVE.value,
        source.platform,
        source.object_id,
        source.line_id,
        req.part,
        req.item_id,
        req.mapping_version,
        req.entity,
        _METHOD_TEXT[req.breakage_method],
        _breakage_rate(req.breakage_rate),
        now,
    )


def get_pool(conn: Connection, pool_id: int, *, for_update: bool = False) -> Pool:
    query = select(pools).where(pools.c.id == pool_id)
    if for_update and lock_rows_clause(conn):
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"pool {pool_id} does not exist")
    return pool_from_row(row)


def pools_for_object(conn: Connection, platform: str, object_id: str) -> list[Pool]:
    """Every pool granted from one source object (all lines and parts of an invoice)."""
    rows = conn.execute(
        select(pools)
        .where(pools.c.source_platform == platform, pools.c.source_object == object_id)
        .order_by(pools.c.id)
    ).mappings()
    return [pool_from_row(row) for row in rows]


def pools_for_account(conn: Connection, account_id: str) -> list[Pool]:
    rows = conn.execute(
        select(pools).where(pools.c.account_id == account_id).order_by(pools.c.id)
    ).mappings()
    return [pool_from_row(row) for row in rows]


_SPENDABLE = select(pools).where(
    pools.c.account_id == bindparam("account"),
    pools.c.status == PoolStatus.ACTIVE.value,
    pools.c.credits_remaining > 0,
)


def spendable(conn: Connection, account_id: str) -> list[Pool]:
    """Active pools with credits left (callers filter by time: see ``usable_at``)."""
    rows = conn.execute(_SPENDABLE, {"account": account_id}).mappings()
    return [pool_from_row(row) for row in rows]


def take_back(
    conn: Connection,
    pool_id: int,
    credits: int,
    kind: EntryKind,
    reference: str,
    occurred_at: datetime,
) -> int:
    """Take up to ``credits`` unconsumed credits back from a pool (refund, dispute, void).

    Idempotent on (pool, kind, reference): a replay returns what the first call took. A pool left
    with nothing by a void or clawback is marked voided.
    """
    if kind not in (EntryKind.CLAWBACK, EntryKind.VOID, EntryKind.ADJUST):
        raise InvalidInput("kind", f"{kind} is not a take-back", "use clawback, void or adjust")
    if require_minor_units(credits, "credits") < 0:
        raise InvalidInput("credits", "is negative")
    require_aware(occurred_at, "occurred_at")
    pool = get_pool(conn, pool_id, for_update=True)
    previous = conn.execute(
        select(ledger_entries.c.credits).where(
            ledger_entries.c.pool_id == pool_id,
            ledger_entries.c.kind == kind.value,
            ledger_entries.c.reference == reference,
        )
    ).scalar()
    if previous is not None:
        return -int(previous)
    taken = min(credits, pool.credits_remaining)
    conn.execute(
        ledger_entries.insert().values(
            pool_id=pool_id,
            account_id=pool.account_id,
            kind=kind.value,
            credits=-taken,
            reference=reference,
            occurred_at=occurred_at,
            recorded_at=utcnow(),
        )
    )
    remaining = pool.credits_remaining - taken
    status = pool.status
    if remaining == 0 and status is PoolStatus.ACTIVE:
        status = PoolStatus.VOIDED
    conn.execute(
        update(pools)
        .where(pools.c.id == pool_id)
        .values(credits_remaining=remaining, status=status.value)
    )
    return taken


def give_back(
    conn: Connection, pool_id: int, credits: int, reference: str, occurred_at: datetime
) -> int:
    """Return up to ``credits`` that a clawback took, because its refund failed after the fact:
    a positive clawback entry under the failure's ``reference``.

    Idempotent on (pool, clawback, reference): a replay returns what the first call gave. A pool
    that has expired or was voided gets nothing back (0 is recorded): those credits can no longer
    be spent. A pool that regains credits is active again.
    """
    if require_minor_units(credits, "credits") < 0:
        raise InvalidInput("credits", "is negative")
    require_aware(occurred_at, "occurred_at")
    pool = get_pool(conn, pool_id, for_update=True)
    entries = ledger_entries.c
    previous = conn.execute(
        select(entries.credits).where(
            entries.pool_id == pool_id,
            entries.kind == EntryKind.CLAWBACK.value,
            entries.reference == reference,
        )
    ).scalar()
    if previous is not None:
        return int(previous)
    voided = conn.execute(
        select(exists().where(entries.pool_id == pool_id, entries.kind == EntryKind.VOID.value))
    ).scalar()
    closed = voided or pool.status is PoolStatus.EXPIRED
    given = 0 if closed else min(credits, pool.credits_granted - pool.credits_remaining)
    conn.execute(
        ledger_entries.insert().values(
            pool_id=pool_id,
            account_id=pool.account_id,
            kind=EntryKind.CLAWBACK.value,
            credits=given,
            reference=reference,
            occurred_at=occurred_at,
            recorded_at=utcnow(),
        )
    )
    if given:
        conn.execute(
            update(pools)
            .where(pools.c.id == pool_id)
            .values(
                credits_remaining=pool.credits_remaining + given,
                status=PoolStatus.ACTIVE.value,
            )
        )
    return given


def last_entry_id(conn: Connection, pool_id: int) -> int:
    """The pool's latest ledger entry id: where an event recorded now stands in its order."""
    found = conn.execute(
        select(func.max(ledger_entries.c.id)).where(ledger_entries.c.pool_id == pool_id)
    ).scalar()
    return int(found or 0)
