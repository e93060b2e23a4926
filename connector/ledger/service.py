"""One call, one transaction: the ledger as the CLI, the API and the sync engine use it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import Engine, select

from connector.errors import Conflict, NotFound
from connector.ledger import accounts, burns, expiry, pools, rates, verify
from connector.ledger import balance as balances
from connector.ledger.burns import BatchOutcome, BurnPolicy, PlanPolicies
from connector.ledger.models import Balance, BurnRate, BurnRequest, BurnResult, GrantRequest, Pool
from connector.store.tables import burns as burns_table
from connector.timeutil import require_aware

PolicyResolver = Callable[[str], BurnPolicy | None]


class Ledger:
    """Facade over the ledger functions.

    A burn's policy (consumption order, overage) comes from ``policy_for(account)`` when that
    gives one; otherwise from the account's own order and ``plans(account's plan)``; by default
    the soonest-expiry order and a hard limit.
    """

    def __init__(
        self,
        engine: Engine,
        policy_for: PolicyResolver | None = None,
        plans: PlanPolicies | None = None,
    ) -> None:
        self.engine = engine
        self.policy_for = policy_for or (lambda _account: None)
        self.plans = plans

    def grant(self, req: GrantRequest) -> tuple[Pool, bool]:
        with self.engine.begin() as conn:
            return pools.grant(conn, req)

    def burn(self, req: BurnRequest) -> BurnResult:
        with self.engine.begin() as conn:
            return burns.burn(conn, req, self.policy_for(req.account_id), self.plans)

    def burn_undated(self, req: BurnRequest) -> BurnResult:
        """A burn whose sender gave no time, dated ``req.occurred_at`` (its arrival).

        A retry of it arrives later and so carries another date; when its key is already taken
        the stored burn's date stands in for the missing one, and a retry with the same account,
        action and units returns the first result instead of a conflict."""
        try:
            return self.burn(req)
        except Conflict:
            return self.replay_undated(req)

    def replay_undated(self, req: BurnRequest) -> BurnResult:
        """The burn already stored under ``req``'s key, compared at the date it was given."""
        with self.engine.connect() as conn:
            first = conn.execute(
                select(burns_table.c.occurred_at).where(
                    burns_table.c.account_id == req.account_id,
                    burns_table.c.idempotency_key == req.idempotency_key,
                )
            ).scalar()
        if first is None:
            raise Conflict(f"idempotency key {req.idempotency_key!r} conflicts with another burn")
        return self.burn(dataclasses.replace(req, occurred_at=first))

    def burn_batch(self, requests: Sequence[BurnRequest]) -> list[BatchOutcome]:
        policies = {}
        for account_id in {r.account_id for r in requests}:
            policy = self.policy_for(account_id)
            if policy is not None:
                policies[account_id] = policy
        with self.engine.begin() as conn:
            return burns.burn_batch(conn, requests, policies, self.plans)

    def set_rate(
        self,
        action: str,
        credits_per_unit: str,
        effective_from: datetime | None = None,
        note: str | None = None,
    ) -> BurnRate:
        with self.engine.begin() as conn:
            return rates.set_rate(conn, action, credits_per_unit, effective_from, note)

    def rates(self, at: datetime | None = None) -> list[BurnRate]:
        with self.engine.connect() as conn:
            return rates.current_rates(conn, at)

    def rate_history(self, action: str) -> list[BurnRate]:
        with self.engine.connect() as conn:
            return rates.history(conn, action)

    def expire(
        self, at: datetime, on_chunk: Callable[[int], None] | None = None
    ) -> list[expiry.Expired]:
        """Expire everything due by ``at``, one chunk per transaction."""
        require_aware(at, "at")
        lost: list[expiry.Expired] = []
        while True:
            with self.engine.begin() as conn:
                closed, chunk = expiry.expire(conn, at)
            lost.extend(chunk)
            if on_chunk and closed:
                on_chunk(closed)
            if closed == 0:
                return lost

    def balance(self, account_id: str, at: datetime | None = None) -> Balance:
        with self.engine.connect() as conn:
            return balances.balance(conn, account_id, at)

    def account_pools(self, account_id: str) -> list[Pool]:
        with self.engine.connect() as conn:
            if not accounts.exists(conn, account_id):
                raise NotFound(f"account {account_id!r} does not exist")
            return pools.pools_for_account(conn, account_id)

    def verify(self) -> list[verify.Violation]:
        with self.engine.connect() as conn:
            return verify.verify(conn)
