"""Burns: one consumption, allocated across pools by the consumption-order policy.

A burn is all or nothing. It runs under the account's lock, so concurrent burns on one account
queue instead of overdrawing a pool, and the idempotency key is checked under the same lock, so a
retried request can never burn twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from connector.errors import Conflict, InsufficientCredits, InvalidInput, NotFound
from connector.ledger import accounts
from connector.ledger import pools as pool_store
from connector.ledger.models import (
    Allocation,
    BurnRequest,
    BurnResult,
    EntryKind,
    Pool,
    PoolStatus,
)
from connector.ledger.order import in_order
from connector.ledger.rates import credits_for, rate_row_at
from connector.store.tables import burn_rates, burns, ledger_entries, pools
from connector.timeutil import require_aware, utcnow

MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class BurnPolicy:
    """How an account's burns behave when credits run out."""

    consumption_order: str | None = None
    allow_overage: bool = False  # True: burn what is left, bill the rest as usage


def validate(req: BurnRequest) -> None:
    if not isinstance(req.idempotency_key, str) or not req.idempotency_key.strip():
        raise InvalidInput("idempotency_key", "is required", "send a unique key per burn")
    if len(req.idempotency_key) > MAX_KEY_LENGTH:
        raise InvalidInput("idempotency_key", f"is longer than {MAX_KEY_LENGTH} characters")
    if not isinstance(req.account_id, str) or not req.account_id:
        raise InvalidInput("account_id", "is required")
    if not isinstance(req.action, str) or not req.action.strip():
        raise InvalidInput("action", "is required", "name the AI action, e.g. 'query'")
    if isinstance(req.units, bool) or not isinstance(req.units, int):
        raise InvalidInput("units", f"{req.units!r} is not a whole number")
    if req.units <= 0:
        raise InvalidInput("units", f"{req.units} is not positive", "burn at least 1 unit")
    require_aware(req.occurred_at, "occurred_at")


def request_hash(req: BurnRequest) -> str:
    text = f"{req.account_id}\x1f{req.action}\x1f{req.units}\x1f{req.occurred_at.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def allocate(available: Sequence[Pool], credits: int, order: str | None) -> list[Allocation]:
    """Take ``credits`` from pools in policy order; the caller checked that enough exist."""
    allocations = []
    left = credits
    for pool in in_order(list(available), order):
        if left == 0:
            break
        take = min(left, pool.credits_remaining)
        allocations.append(Allocation(pool_id=pool.id, credits=take))
        left -= take
    return allocations


def balance_now(candidates: Sequence[Pool], taken: dict[int, int], now: datetime) -> int:
    return sum(
        pool.credits_remaining - taken.get(pool.id, 0)
        for pool in candidates
        if pool_store.usable_at(pool, now)
    )


def burn(
    conn: Connection,
    req: BurnRequest,
    policy: BurnPolicy | None = None,
    *,
    locked: bool = False,
) -> BurnResult:
    """Apply one burn inside the caller's transaction (see module docstring)."""
    validate(req)
    occurred_at = require_aware(req.occurred_at, "occurred_at")
    policy = policy or BurnPolicy(accounts.consumption_order(conn, req.account_id))
    if not locked:
        accounts.lock(conn, req.account_id)
    digest = request_hash(req)
    replay = _replay(conn, req, digest)
    if replay is not None:
        return replay
    rate = rate_row_at(conn, req.action, occurred_at)
    credits = credits_for(req.units, rate["credits_per_unit"])
    candidates = pool_store.spendable(conn, [req.account_id])
    usable = [pool for pool in candidates if pool_store.usable_at(pool, occurred_at)]
    available = sum(pool.credits_remaining for pool in usable)
    overage = 0
    if credits > available:
        if not policy.allow_overage:
            raise InsufficientCredits(req.account_id, credits, available)
        overage = credits - available
    allocations = allocate(usable, credits - overage, policy.consumption_order)
    now = utcnow()
    burn_id = conn.execute(
        burns.insert()
        .values(
            account_id=req.account_id,
            idempotency_key=req.idempotency_key,
            action=req.action,
            units=req.units,
            credits=credits,
            overage_credits=overage,
            rate_id=rate["id"],
            occurred_at=occurred_at,
            recorded_at=now,
            request_hash=digest,
        )
        .returning(burns.c.id)
    ).scalar_one()
    _write_allocations(conn, req.account_id, burn_id, allocations, usable, occurred_at, now)
    taken = {a.pool_id: a.credits for a in allocations}
    return BurnResult(
        burn_id=burn_id,
        account_id=req.account_id,
        idempotency_key=req.idempotency_key,
        action=req.action,
        units=req.units,
        credits=credits,
        rate_version=rate["version"],
        occurred_at=occurred_at,
        allocations=tuple(allocations),
        balance=balance_now(candidates, taken, now),
        overage_credits=overage,
    )


def _write_allocations(
    conn: Connection,
    account_id: str,
    burn_id: int,
    allocations: Sequence[Allocation],
    usable: Sequence[Pool],
    occurred_at: datetime,
    now: datetime,
) -> None:
    if not allocations:
        return
    remaining = {pool.id: pool.credits_remaining for pool in usable}
    conn.execute(
        ledger_entries.insert(),
        [
            {
                "pool_id": a.pool_id,
                "account_id": account_id,
                "kind": EntryKind.BURN.value,
                "credits": -a.credits,
                "burn_id": burn_id,
                "reference": str(burn_id),
                "occurred_at": occurred_at,
                "recorded_at": now,
            }
            for a in allocations
        ],
    )
    conn.execute(
        update(pools)
        .where(pools.c.id == bindparam("pool"))
        .values(credits_remaining=bindparam("left"), status=bindparam("new_status")),
        [
            {
                "pool": a.pool_id,
                "left": remaining[a.pool_id] - a.credits,
                "new_status": (
                    PoolStatus.EXHAUSTED.value
                    if remaining[a.pool_id] == a.credits
                    else PoolStatus.ACTIVE.value
                ),
            }
            for a in allocations
        ],
    )


def _replay(conn: Connection, req: BurnRequest, digest: str) -> BurnResult | None:
    """The stored result of an earlier burn with the same key, or None for a new key."""
    row = (
        conn.execute(
            select(burns, burn_rates.c.version)
            .join(burn_rates, burn_rates.c.id == burns.c.rate_id)
            .where(burns.c.account_id == req.account_id)
            .where(burns.c.idempotency_key == req.idempotency_key)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    if row["request_hash"] != digest:
        raise Conflict(
            f"idempotency key {req.idempotency_key!r} was used for a different burn "
            f"({row['action']} x {row['units']} at {row['occurred_at']:%Y-%m-%dT%H:%M:%SZ}); "
            "use a new key for a new burn"
        )
    allocations = conn.execute(
        select(ledger_entries.c.pool_id, ledger_entries.c.credits)
        .where(ledger_entries.c.burn_id == row["id"], ledger_entries.c.kind == EntryKind.BURN.value)
        .order_by(ledger_entries.c.id)
    ).all()
    now = utcnow()
    return BurnResult(
        burn_id=row["id"],
        account_id=row["account_id"],
        idempotency_key=row["idempotency_key"],
        action=row["action"],
        units=row["units"],
        credits=row["credits"],
        rate_version=row["version"],
        occurred_at=row["occurred_at"],
        allocations=tuple(Allocation(pool_id=p, credits=-c) for p, c in allocations),
        balance=balance_now(pool_store.spendable(conn, [req.account_id]), {}, now),
        replayed=True,
        overage_credits=row["overage_credits"],
    )


@dataclass(frozen=True)
class BatchOutcome:
    """One burn of a batch: its result or the error that refused it (others are unaffected)."""

    request: BurnRequest
    result: BurnResult | None = None
    error: Exception | None = None


def burn_batch(
    conn: Connection,
    requests: Sequence[BurnRequest],
    policy_for: dict[str, BurnPolicy] | None = None,
) -> list[BatchOutcome]:
    """Many burns in one transaction, each in its own savepoint: one refusal spoils no other."""
    account_ids = sorted({r.account_id for r in requests if isinstance(r.account_id, str)})
    missing: set[str] = set()
    for account_id in account_ids:  # lock in a fixed order so two batches cannot deadlock
        try:
            accounts.lock(conn, account_id)
        except NotFound:
            missing.add(account_id)
    outcomes = []
    for req in requests:
        policy = (policy_for or {}).get(req.account_id)
        try:
            if req.account_id in missing:
                raise NotFound(f"account {req.account_id!r} does not exist")
            with conn.begin_nested():
                result = burn(conn, req, policy, locked=True)
            outcomes.append(BatchOutcome(request=req, result=result))
        except (InvalidInput, InsufficientCredits, Conflict, NotFound) as exc:
            outcomes.append(BatchOutcome(request=req, error=exc))
    return outcomes
