"""Burns: one consumption, allocated across pools by the consumption-order policy.

A burn is all or nothing. It runs under the account's lock, so concurrent burns on one account
queue instead of overdrawing a pool, and the idempotency key is checked under the same lock, so a
retried request can never burn twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, text, update

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
from connector.store.tables import accounts as accounts_table
from connector.store.tables import burn_rates, burns, ledger_entries, pools
from connector.timeutil import require_aware, utcnow

MAX_KEY_LENGTH = 200


# (connection, the new burn, the spendable balance just before it) -> None
BurnHook = Callable[[Connection, BurnResult, int], None]


@dataclass(frozen=True)
class BurnPolicy:
    """How an account's burns behave when credits run out.

    ``after_burn`` (the plan's low-balance policy) runs inside the burn's transaction once a new
    burn is written, never for a replay, so what it records commits or rolls back with the burn.
    """

    consumption_order: str | None = None
    allow_overage: bool = False  # True: burn what is left, bill the rest as usage
    after_burn: BurnHook | None = None


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


def _context_query() -> Select[Any]:
    """Account (locked), rate in force and any earlier burn with the key: one round trip."""
    at = bindparam("at", type_=burn_rates.c.effective_from.type)
    rate = (
        select(burn_rates)
        .where(burn_rates.c.action == bindparam("action"), burn_rates.c.effective_from <= at)
        .order_by(burn_rates.c.effective_from.desc(), burn_rates.c.version.desc())
        .limit(1)
        .subquery()
    )
    earlier = (
        select(burns.c.id, burns.c.request_hash)
        .where(burns.c.account_id == bindparam("account"))
        .where(burns.c.idempotency_key == bindparam("key"))
        .subquery()
    )
    return (
        select(
            accounts_table.c.consumption_order,
            accounts_table.c.plan,
            select(rate.c.id).scalar_subquery().label("rate_id"),
            select(rate.c.version).scalar_subquery().label("rate_version"),
            select(rate.c.credits_per_unit).scalar_subquery().label("credits_per_unit"),
            select(earlier.c.id).scalar_subquery().label("earlier_id"),
        )
        .where(accounts_table.c.id == bindparam("account"))
        .with_for_update(of=accounts_table)
    )


_CONTEXT = _context_query()
_INSERT_BURN = burns.insert().returning(burns.c.id)
_INSERT_ENTRY = ledger_entries.insert()
_UPDATE_POOL = (
    update(pools)
    .where(pools.c.id == bindparam("pool"))
    .values(credits_remaining=bindparam("left"), status=bindparam("new_status"))
)


PlanPolicies = Callable[[str | None], BurnPolicy]


def burn(
    conn: Connection,
    req: BurnRequest,
    policy: BurnPolicy | None = None,
    plans: PlanPolicies | None = None,
) -> BurnResult:
    """Apply one burn inside the caller's transaction (see module docstring).

    Every refusal is raised before the first write, so a refused burn leaves nothing behind
    even inside a larger transaction.
    """
    validate(req)
    occurred_at = require_aware(req.occurred_at, "occurred_at")
    context = conn.execute(
        _CONTEXT,
        {
            "account": req.account_id,
            "action": req.action,
            "at": occurred_at,
            "key": req.idempotency_key,
        },
    ).first()
    if context is None:
        raise NotFound(f"account {req.account_id!r} does not exist; grant it credits first")
    if policy is None:
        by_plan = plans(context.plan) if plans else BurnPolicy()
        policy = BurnPolicy(
            context.consumption_order or by_plan.consumption_order,
            by_plan.allow_overage,
            by_plan.after_burn,
        )
    digest = request_hash(req)
    if context.earlier_id is not None:
        return _replay(conn, req, digest)
    if context.rate_id is None:
        rate_row_at(conn, req.action, occurred_at)  # raises the precise error
    rate = context
    credits = credits_for(req.units, rate.credits_per_unit)
    candidates = pool_store.spendable(conn, req.account_id)
    usable = [pool for pool in candidates if pool_store.usable_at(pool, occurred_at)]
    available = sum(pool.credits_remaining for pool in usable)
    overage = 0
    if credits > available:
        if not policy.allow_overage:
            raise InsufficientCredits(req.account_id, credits, available)
        overage = credits - available
    allocations = allocate(usable, credits - overage, policy.consumption_order)
    now = utcnow()
    row = {
        "account_id": req.account_id,
        "idempotency_key": req.idempotency_key,
        "action": req.action,
        "units": req.units,
        "credits": credits,
        "overage_credits": overage,
        "rate_id": rate.rate_id,
        "occurred_at": occurred_at,
        "recorded_at": now,
        "request_hash": digest,
    }
    if conn.dialect.name == "postgresql":
        burn_id = _write_burn_in_one_statement(conn, row, allocations)
    else:
        burn_id = conn.execute(_INSERT_BURN, row).scalar_one()
        _write_allocations(conn, req.account_id, burn_id, allocations, usable, occurred_at, now)
    taken = {a.pool_id: a.credits for a in allocations}
    result = BurnResult(
        burn_id=burn_id,
        account_id=req.account_id,
        idempotency_key=req.idempotency_key,
        action=req.action,
        units=req.units,
        credits=credits,
        rate_version=rate.rate_version,
        occurred_at=occurred_at,
        allocations=tuple(allocations),
        balance=balance_now(candidates, taken, now),
        overage_credits=overage,
    )
    if policy.after_burn is not None:
        policy.after_burn(conn, result, balance_now(candidates, {}, now))
    return result


_WRITE_BURN_PG = text(
    """
    WITH new_burn AS (
        INSERT INTO burns (account_id, idempotency_key, action, units, credits, overage_credits,
                           rate_id, occurred_at, recorded_at, request_hash)
        VALUES (:account_id, :idempotency_key, :action, :units, :credits, :overage_credits,
                :rate_id, :occurred_at, :recorded_at, :request_hash)
        RETURNING id
    ), taken AS (
        SELECT * FROM unnest(CAST(:pool_ids AS bigint[]), CAST(:pool_credits AS bigint[]))
            AS t(pool_id, credits)
    ), entries AS (
        INSERT INTO ledger_entries (pool_id, account_id, kind, credits, burn_id, reference,
                                    occurred_at, recorded_at)
        SELECT taken.pool_id, :account_id, 'burn', -taken.credits, new_burn.id,
               CAST(new_burn.id AS text), :occurred_at, :recorded_at
        FROM new_burn, taken
    ), moved AS (
        UPDATE pools
        SET credits_remaining = pools.credits_remaining - taken.credits,
            status = CASE WHEN pools.credits_remaining = taken.credits
                          THEN 'exhausted' ELSE pools.status END
        FROM taken WHERE pools.id = taken.pool_id
    )
    SELECT id FROM new_burn
    """
)


def _write_burn_in_one_statement(
    conn: Connection, row: dict[str, Any], allocations: Sequence[Allocation]
) -> int:
    """PostgreSQL: the burn, its ledger entries and the pool counters in one round trip."""
    burn_id: int = conn.execute(
        _WRITE_BURN_PG,
        {
            **row,
            "pool_ids": [a.pool_id for a in allocations],
            "pool_credits": [a.credits for a in allocations],
        },
    ).scalar_one()
    return burn_id


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
        _INSERT_ENTRY,
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
        _UPDATE_POOL,
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


_FIND_BURN = (
    select(burns, burn_rates.c.version)
    .join(burn_rates, burn_rates.c.id == burns.c.rate_id)
    .where(burns.c.account_id == bindparam("account"))
    .where(burns.c.idempotency_key == bindparam("key"))
)


def _replay(conn: Connection, req: BurnRequest, digest: str) -> BurnResult:
    """The stored result of an earlier burn with the same key (or a conflict)."""
    row = (
        conn.execute(_FIND_BURN, {"account": req.account_id, "key": req.idempotency_key})
        .mappings()
        .first()
    )
    assert row is not None
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
        balance=balance_now(pool_store.spendable(conn, req.account_id), {}, now),
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
    plans: PlanPolicies | None = None,
) -> list[BatchOutcome]:
    """Many burns in one transaction; a refused burn writes nothing, so it spoils no other."""
    for account_id in sorted({r.account_id for r in requests if isinstance(r.account_id, str)}):
        try:  # lock in a fixed order so that two batches cannot deadlock
            accounts.lock(conn, account_id)
        except NotFound:
            continue  # reported per burn below
    outcomes = []
    for req in requests:
        try:
            result = burn(conn, req, (policy_for or {}).get(req.account_id), plans)
            outcomes.append(BatchOutcome(request=req, result=result))
        except (InvalidInput, InsufficientCredits, Conflict, NotFound) as exc:
            outcomes.append(BatchOutcome(request=req, error=exc))
    return outcomes
