"""Manual operations: grants, voids and adjustments a person makes outside any platform.

Support gives goodwill credits, marketing runs a promotion, finance records credits sold by
invoice outside any billing platform, or voids a pool granted by mistake. Each operation names
who did it and why, carries an idempotency key (a retried request changes nothing; the same key
for a different request is refused), and writes one ledger entry like any platform fact, so
recognition posts its journal entries where money moves (a paid grant is billed and deferred;
a void returns the deferred balance to clearing) and the audit trail shows it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, RowMapping, select

from connector.errors import Conflict, InvalidInput, NotFound
from connector.events import SourceKey
from connector.ledger import accounts
from connector.ledger import pools as pool_store
from connector.ledger.models import EntryKind, GrantRequest, PoolKind
from connector.recognition.refunds import apply_void
from connector.store.tables import ledger_entries, manual_operations, pools
from connector.timeutil import require_aware, utcnow

SOURCE = "manual"  # the source platform of manually granted pools
MAX_TEXT = 200


class Operation(StrEnum):
    GRANT = "grant"
    VOID = "void"
    ADJUST = "adjust"


@dataclass(frozen=True)
class Author:
    """Who made an operation, why, and the key that makes retrying it safe."""

    idempotency_key: str
    actor: str
    reason: str

    def __post_init__(self) -> None:
        for name in ("idempotency_key", "actor", "reason"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(name, "is empty", f"give the operation's {name}")
        for name in ("idempotency_key", "actor"):
            if len(getattr(self, name)) > MAX_TEXT:
                raise InvalidInput(name, f"is longer than {MAX_TEXT} characters")


@dataclass(frozen=True)
class ManualGrant:
    """Credits granted by hand. ``amount`` (minor units) is what the customer paid outside any
    platform: 0 for goodwill and promotions (promotional credits carry no revenue)."""

    account_id: str
    credits: int
    kind: PoolKind = PoolKind.PROMOTIONAL
    amount: int = 0
    currency: str = "USD"
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    entity: str | None = None


@dataclass(frozen=True)
class ManualOperation:
    id: int
    idempotency_key: str
    operation: Operation
    account_id: str
    pool_id: int
    credits: int  # signed, as written to the ledger
    actor: str
    reason: str
    occurred_at: datetime
    recorded_at: datetime
    replayed: bool = False


def _hash(operation: Operation, fields: dict[str, Any]) -> str:
    text = json.dumps({"operation": operation.value, **fields}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _from_row(row: RowMapping, replayed: bool = False) -> ManualOperation:
    return ManualOperation(
        id=row["id"],
        idempotency_key=row["idempotency_key"],
        operation=Operation(row["operation"]),
        account_id=row["account_id"],
        pool_id=row["pool_id"],
        credits=row["credits"],
        actor=row["actor"],
        reason=row["reason"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        replayed=replayed,
    )


def _replay(conn: Connection, key: str, digest: str) -> ManualOperation | None:
    row = (
        conn.execute(select(manual_operations).where(manual_operations.c.idempotency_key == key))
        .mappings()
        .first()
    )
    if row is None:
        return None
    if row["request_hash"] != digest:
        raise Conflict(
            f"idempotency key {key!r} was used for a different {row['operation']} "
            f"(by {row['actor']}); use a new key for a new operation"
        )
    return _from_row(row, replayed=True)


def _record(
    conn: Connection,
    operation: Operation,
    author: Author,
    digest: str,
    pool_id: int,
    entry: tuple[EntryKind, str],
    occurred_at: datetime,
) -> ManualOperation:
    kind, reference = entry
    written = conn.execute(
        select(ledger_entries.c.account_id, ledger_entries.c.credits).where(
            ledger_entries.c.pool_id == pool_id,
            ledger_entries.c.kind == kind.value,
            ledger_entries.c.reference == reference,
        )
    ).one()
    values = {
        "idempotency_key": author.idempotency_key,
        "operation": operation.value,
        "account_id": written.account_id,
        "pool_id": pool_id,
        "entry_kind": kind.value,
        "entry_reference": reference,
        "credits": written.credits,
        "reason": author.reason,
        "actor": author.actor,
        "request_hash": digest,
        "occurred_at": occurred_at,
        "recorded_at": utcnow(),
    }
    new_id = conn.execute(
        manual_operations.insert().values(**values).returning(manual_operations.c.id)
    ).scalar_one()
    row = conn.execute(select(manual_operations).where(manual_operations.c.id == new_id))
    return _from_row(row.mappings().one())


def grant(conn: Connection, request: ManualGrant, author: Author) -> ManualOperation:
    """Create a pool by hand (its source: ``manual`` / the idempotency key)."""
    effective_at = require_aware(request.effective_at or utcnow(), "effective_at")
    fields = {
        "account_id": request.account_id,
        "credits": request.credits,
        "kind": str(request.kind),
        "amount": request.amount,
        "currency": request.currency,
        "effective_at": request.effective_at,
        "expires_at": request.expires_at,
        "entity": request.entity,
    }
    digest = _hash(Operation.GRANT, fields)
    done = _replay(conn, author.idempotency_key, digest)
    if done is not None:
        return done
    pool, _created = pool_store.grant(
        conn,
        GrantRequest(
            account_id=request.account_id,
            kind=request.kind,
            credits=request.credits,
            revenue_amount=request.amount,
            currency=request.currency,
            effective_at=effective_at,
            source=SourceKey(platform=SOURCE, object_id=author.idempotency_key, line_id="1"),
            part=str(request.kind),
            expires_at=request.expires_at,
            entity=request.entity,
        ),
    )
    entry = (EntryKind.GRANT, pool_store.GRANT_REFERENCE)
    return _record(conn, Operation.GRANT, author, digest, pool.id, entry, effective_at)


def _reference(author: Author) -> str:
    return f"{SOURCE}:{author.idempotency_key}"


def void(
    conn: Connection, pool_id: int, author: Author, occurred_at: datetime | None = None
) -> ManualOperation:
    """Take back every credit a pool has left; its deferred revenue goes back to clearing."""
    moment = require_aware(occurred_at or utcnow(), "occurred_at")
    digest = _hash(Operation.VOID, {"pool_id": pool_id, "occurred_at": occurred_at})
    done = _replay(conn, author.idempotency_key, digest)
    if done is not None:
        return done
    apply_void(conn, pool_id, _reference(author), moment)
    entry = (EntryKind.VOID, _reference(author))
    return _record(conn, Operation.VOID, author, digest, pool_id, entry, moment)


def adjust(
    conn: Connection,
    pool_id: int,
    credits: int,
    author: Author,
    occurred_at: datetime | None = None,
) -> ManualOperation:
    """Remove ``credits`` from a pool (a correction; to give credits, grant them)."""
    if isinstance(credits, bool) or not isinstance(credits, int) or credits <= 0:
        raise InvalidInput(
            "credits", f"{credits!r} is not a positive number of credits to remove", "to add, grant"
        )
    moment = require_aware(occurred_at or utcnow(), "occurred_at")
    fields = {"pool_id": pool_id, "credits": credits, "occurred_at": occurred_at}
    digest = _hash(Operation.ADJUST, fields)
    done = _replay(conn, author.idempotency_key, digest)
    if done is not None:
        return done
    pool = pool_store.get_pool(conn, pool_id, for_update=True)
    if credits > pool.credits_remaining:
        raise InvalidInput(
            "credits",
            f"pool {pool_id} has {pool.credits_remaining} credits left, not {credits}",
            "remove at most what is left, or void the pool",
        )
    pool_store.take_back(conn, pool_id, credits, EntryKind.ADJUST, _reference(author), moment)
    entry = (EntryKind.ADJUST, _reference(author))
    return _record(conn, Operation.ADJUST, author, digest, pool_id, entry, moment)


@dataclass(frozen=True)
class AuditEntry:
    """One ledger entry of an account with who made it and why."""

    id: int
    occurred_at: datetime
    recorded_at: datetime
    kind: str
    pool_id: int
    credits: int
    who: str
    why: str


def _origin(kind: str, reference: str, platform: str, source: str) -> tuple[str, str]:
    """Who and why for an entry no person made: the platform or job it came from."""
    if kind == EntryKind.GRANT.value:
        return platform, f"purchase {source}"
    if kind == EntryKind.BURN.value:
        return "usage", f"burn {reference}"
    if kind == EntryKind.EXPIRE.value:
        return "expiry", "credits left at the pool's expiry"
    return platform, f"{kind} {reference}"


def audit_trail(conn: Connection, account_id: str) -> list[AuditEntry]:
    """Every ledger entry of an account, oldest first, with who and why."""
    if not accounts.exists(conn, account_id):
        raise NotFound(f"account {account_id!r} does not exist")
    le, mo = ledger_entries.c, manual_operations.c
    query = (
        select(
            le.id,
            le.occurred_at,
            le.recorded_at,
            le.kind,
            le.pool_id,
            le.credits,
            le.reference,
            pools.c.source_platform,
            pools.c.source_object,
            pools.c.source_line,
            mo.actor,
            mo.reason,
        )
        .join(pools, pools.c.id == le.pool_id)
        .outerjoin(
            manual_operations,
            (mo.pool_id == le.pool_id)
            & (mo.entry_kind == le.kind)
            & (mo.entry_reference == le.reference),
        )
        .where(le.account_id == account_id)
        .order_by(le.id)
    )
    out = []
    for row in conn.execute(query):
        if row.actor is not None:
            who, why = row.actor, row.reason
        else:
            source = f"{row.source_object}/{row.source_line}"
            who, why = _origin(row.kind, row.reference, row.source_platform, source)
        out.append(
            AuditEntry(
                row.id,
                row.occurred_at,
                row.recorded_at,
                row.kind,
                row.pool_id,
                row.credits,
                who,
                why,
            )
        )
    return out
