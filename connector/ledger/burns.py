"""Burns: one consumption, allocated across pools by the consumption-order policy.

A burn is all or nothing. It runs under the account's lock, so concurrent burns on one account
queue instead of overdrawing a pool, and the idempotency key is checked under the same lock, so a
retried request can never burn twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from connector.errors import Conflict, InsufficientCredits, InvalidInput, NotFound
from connector.ledger import burn_store
from connector.ledger import pools as pool_store
from connector.ledger.burn_store import BatchContext
from connector.ledger.holdings import Held
from connector.ledger.models import (
    Allocation,
    BurnRequest,
    BurnResult,
    EntryKind,
)
from connector.ledger.order import in_order
from connector.ledger.rates import credits_for
from connector.store.tables import burn_rates, burns, ledger_entries
from connector.text import TEXT_FIX, text_problem
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
    for field in ("account_id", "idempotency_key", "action"):
        problem = text_problem(getattr(req, field))
        if problem is not None:  # what neither database stores alike
            raise InvalidInput(field, problem, TEXT_FIX)
    require_aware(req.occurred_at, "occurred_at")


def request_hash(req: BurnRequest) -> str:
    text = f"{req.account_id}\x1f{req.action}\x1f{req.units}\x1f{req.occurred_at.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()


def allocate(
    available: Sequence[Held],
    credits: int,
    order: str | None,
    taken: Mapping[int, int] | None = None,
) -> list[Allocation]:
    """Take ``credits`` from pools in policy order; the caller checked that enough exist.

    ``taken`` is what earlier burns of the same batch already took from each pool.
    """
    taken = taken or {}
    allocations = []
    left = credits
    for pool in in_order(list(available), order):
        if left == 0:
            break
        take = min(left, pool.credits_remaining - taken.get(pool.id, 0))
        allocations.append(Allocation(pool_id=pool.id, credits=take))
        left -= take
    return allocations


def balance_now(candidates: Sequence[Held], taken: dict[int, int], now: datetime) -> int:
    return sum(
        pool.credits_remaining - taken.get(pool.id, 0)
        for pool in candidates
        if pool_store.usable_at(pool, now)
    )


def _rate_in_force(versions: Sequence[Any], action: str, at: datetime) -> Any:
    """The rate row of ``action`` in force at ``at``; ``versions`` newest first."""
    for row in versions:
        if row.effective_from <= at:
            return row
    if not versions:
        raise InvalidInput("action", f"unknown action {action!r}", "set a rate for it first")
    raise InvalidInput(
        "occurred_at", f"no rate for {action!r} was in force at {at:%Y-%m-%dT%H:%M:%SZ}"
    )


@dataclass
class _Planned:
    """A burn decided under the batch's locks, waiting for its row ids."""

    index: int
    request: BurnRequest
    row: dict[str, Any]
    allocations: list[Allocation]
    rate_version: int
    balance_before: int
    balance_after: int
    policy: BurnPolicy
    burn_id: int = 0


def _read(requests: Sequence[BurnRequest], conn: Connection) -> BatchContext:
    return burn_store.read(
        conn,
        sorted({r.account_id for r in requests}),
        sorted({r.action for r in requests}),
        sorted({(r.account_id, r.idempotency_key) for r in requests}),
    )


PlanPolicies = Callable[[str | None], BurnPolicy]


def _policy_of(account: Any, given: BurnPolicy | None, plans: PlanPolicies | None) -> BurnPolicy:
    if given is not None:
        return given
    by_plan = plans(account.plan) if plans else BurnPolicy()
    return BurnPolicy(
        account.consumption_order or by_plan.consumption_order,
        by_plan.allow_overage,
        by_plan.after_burn,
    )


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
    policies = {req.account_id: policy} if policy is not None else None
    (outcome,) = burn_batch(conn, [req], policies, plans)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.result is not None
    return outcome.result


def burn_batch(
    conn: Connection,
    requests: Sequence[BurnRequest],
    policy_for: dict[str, BurnPolicy] | None = None,
    plans: PlanPolicies | None = None,
) -> list[BatchOutcome]:
    """Many burns in the caller's transaction, set-based: the reads and writes of ``burn_store``.

    Each burn is decided in order under the locks of all the batch's accounts, as if applied
    one after another: a refused burn writes nothing and spoils no other, a key repeated inside
    the batch replays the first, and every burn sees the pools its predecessors left.
    """
    outcomes: list[BatchOutcome | None] = [None] * len(requests)
    valid: list[int] = []
    for index, req in enumerate(requests):
        try:
            validate(req)
            valid.append(index)
        except InvalidInput as exc:
            outcomes[index] = BatchOutcome(request=req, error=exc)
    context = _read([requests[i] for i in valid], conn) if valid else None
    now = utcnow()
    taken: dict[int, int] = {}
    planned: list[_Planned] = []
    in_batch: dict[tuple[str, str], _Planned] = {}
    replays: list[tuple[int, _Planned | None]] = []
    for index in valid:
        req = requests[index]
        assert context is not None
        try:
            key = (req.account_id, req.idempotency_key)
            account = context.accounts.get(req.account_id)
            if account is None:
                raise NotFound(f"account {req.account_id!r} does not exist; grant it credits first")
            digest = request_hash(req)
            first = in_batch.get(key)
            if first is not None and first.row["request_hash"] != digest:
                raise _conflict(req, first.row)
            if first is not None or key in context.earlier:
                replays.append((index, first))  # the stored burn answers (or refuses) it
                continue
            policy = _policy_of(account, (policy_for or {}).get(req.account_id), plans)
            step = _plan(req, digest, account, policy, context, taken, now)
            step.index = index
            planned.append(step)
            in_batch[key] = step
        except (InvalidInput, InsufficientCredits, Conflict, NotFound) as exc:
            outcomes[index] = BatchOutcome(request=req, error=exc)
    if planned:
        for step, burn_id in zip(planned, burn_store.write(conn, planned, now), strict=True):
            step.burn_id = burn_id
    for step in planned:
        result = _result(step)
        outcomes[step.index] = BatchOutcome(request=step.request, result=result)
        if step.policy.after_burn is not None:
            step.policy.after_burn(conn, result, step.balance_before)
    for index, first in replays:
        req = requests[index]
        try:
            if first is not None:
                replayed = dataclasses.replace(_result(first), replayed=True)
                outcomes[index] = BatchOutcome(request=req, result=replayed)
            else:
                outcomes[index] = BatchOutcome(
                    request=req, result=_replay(conn, req, request_hash(req))
                )
        except Conflict as exc:
            outcomes[index] = BatchOutcome(request=req, error=exc)
    return [o for o in outcomes if o is not None]


def _plan(
    req: BurnRequest,
    digest: str,
    account: Any,
    policy: BurnPolicy,
    context: BatchContext,
    taken: dict[int, int],
    now: datetime,
) -> _Planned:
    """Decide one burn against the pools as the burns before it in the batch left them."""
    rate = _rate_in_force(context.rates.get(req.action, []), req.action, req.occurred_at)
    credits = credits_for(req.units, rate.credits_per_unit)  # refuses what 64 bits cannot hold
    candidates = context.pools[req.account_id]
    usable = [
        pool
        for pool in candidates
        if pool.credits_remaining > taken.get(pool.id, 0)
        and pool_store.usable_at(pool, req.occurred_at)
    ]
    available = sum(pool.credits_remaining - taken.get(pool.id, 0) for pool in usable)
    overage = 0
    if credits > available:
        if not policy.allow_overage:
            raise InsufficientCredits(req.account_id, credits, available)
        overage = credits - available
    before = balance_now(candidates, taken, now)
    allocations = allocate(usable, credits - overage, policy.consumption_order, taken)
    for a in allocations:
        taken[a.pool_id] = taken.get(a.pool_id, 0) + a.credits
    row = {
        "account_id": req.account_id,
        "idempotency_key": req.idempotency_key,
        "action": req.action,
        "units": req.units,
        "credits": credits,
        "overage_credits": overage,
        "rate_id": rate.id,
        "occurred_at": req.occurred_at,
        "recorded_at": now,
        "request_hash": digest,
    }
    after = balance_now(candidates, taken, now)
    return _Planned(0, req, row, allocations, rate.version, before, after, policy)


def _result(step: _Planned) -> BurnResult:
    req = step.request
    return BurnResult(
        burn_id=step.burn_id,
        account_id=req.account_id,
        idempotency_key=req.idempotency_key,
        action=req.action,
        units=req.units,
        credits=step.row["credits"],
        rate_version=step.rate_version,
        occurred_at=req.occurred_at,
        allocations=tuple(step.allocations),
        balance=step.balance_after,
        overage_credits=step.row["overage_credits"],
    )


def _conflict(req: BurnRequest, first: dict[str, Any]) -> Conflict:
    return Conflict(
        f"idempotency key {req.idempotency_key!r} was used for a different burn "
        f"({first['action']} x {first['units']} at {first['occurred_at']:%Y-%m-%dT%H:%M:%SZ}); "
        "use a new key for a new burn"
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
        raise _conflict(req, dict(row))
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
