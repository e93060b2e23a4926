"""The low-balance policy on the burn path: record what must happen next, in the burn's own
transaction, so that a burn and its consequences commit (or roll back) together.

Nothing here talks to a platform. A burn that crosses no threshold and has no overage costs two
integer comparisons; one that does costs one query for the account's platform links and one
insert per record. Every record has a unique key derived from the burn, and a replayed burn
never reaches this code, so nothing is recorded twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from connector.ledger.models import BurnResult
from connector.policy.model import (
    AlertKind,
    AlertStatus,
    OverageStatus,
    RefillStatus,
    alert_key,
    refill_failed_key,
    refill_key,
)
from connector.policy.routes import PlatformRoutes
from connector.policy.rules import crossed, refill_route, usage_route
from connector.policy.tables import balance_alerts, overage_reports, refill_requests
from connector.store.sql import insert_ignoring_duplicates
from connector.store.tables import account_links
from connector.timeutil import utcnow
from mappings.model import LowBalance

_LINKED = (
    select(account_links.c.platform)
    .where(account_links.c.account_id == bindparam("account"))
    .distinct()
)


def linked_platforms(conn: Connection, account_id: str) -> set[str]:
    return set(conn.execute(_LINKED, {"account": account_id}).scalars())


def record_alert(
    conn: Connection,
    *,
    account_id: str,
    kind: AlertKind,
    threshold: int,
    balance: int,
    key: str,
    burn_id: int | None,
    now: datetime,
) -> None:
    conn.execute(
        insert_ignoring_duplicates(conn, balance_alerts, ["key"]).values(
            account_id=account_id,
            kind=kind.value,
            threshold=threshold,
            balance=balance,
            burn_id=burn_id,
            key=key,
            status=AlertStatus.PENDING.value,
            created_at=now,
        )
    )


@dataclass(frozen=True)
class LowBalanceHook:
    """One plan's low-balance rule, called after each new burn of an account on that plan.

    ``routes`` is asked only when something must be routed, so a process whose burns never
    cross a threshold never loads an adapter.
    """

    rule: LowBalance
    routes: Callable[[], PlatformRoutes]

    def __call__(self, conn: Connection, result: BurnResult, before: int) -> None:
        after = result.balance
        notify = self.rule.notify_below
        refill = self.rule.auto_refill
        alert_now = notify is not None and crossed(before, after, notify)
        refill_now = refill is not None and crossed(before, after, refill.below)
        overage = result.overage_credits > 0
        if not (alert_now or refill_now or overage):
            return
        now = utcnow()
        account = result.account_id
        linked: set[str] = set()
        routes = PlatformRoutes()
        if refill_now or overage:
            linked, routes = linked_platforms(conn, account), self.routes()
        if alert_now:
            assert notify is not None
            record_alert(
                conn,
                account_id=account,
                kind=AlertKind.LOW_BALANCE,
                threshold=notify,
                balance=after,
                key=alert_key(account, result.burn_id),
                burn_id=result.burn_id,
                now=now,
            )
        if refill_now:
            assert refill is not None
            route = refill_route(account, refill.items, linked, routes.chargers)
            key = refill_key(account, result.burn_id)
            conn.execute(
                insert_ignoring_duplicates(conn, refill_requests, ["key"]).values(
                    account_id=account,
                    key=key,
                    platform=route.platform,
                    item_id=route.item_id,
                    quantity=refill.quantity,
                    balance=after,
                    status=(RefillStatus.FAILED if route.problem else RefillStatus.PENDING).value,
                    error=route.problem,
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            if route.problem:
                record_alert(
                    conn,
                    account_id=account,
                    kind=AlertKind.REFILL_FAILED,
                    threshold=refill.below,
                    balance=after,
                    key=refill_failed_key(key),
                    burn_id=result.burn_id,
                    now=now,
                )
        if overage:
            usage = usage_route(account, linked, routes.usage)
            conn.execute(
                insert_ignoring_duplicates(conn, overage_reports, ["burn_id"]).values(
                    burn_id=result.burn_id,
                    account_id=account,
                    credits=result.overage_credits,
                    occurred_at=result.occurred_at,
                    platform=usage.platform,
                    status=(
                        OverageStatus.UNBILLABLE if usage.problem else OverageStatus.PENDING
                    ).value,
                    error=usage.problem,
                    attempts=0,
                    created_at=now,
                )
            )


def hook_for(rule: LowBalance, routes: Callable[[], PlatformRoutes]) -> LowBalanceHook | None:
    """None when the plan has nothing to act on after a burn (no threshold, hard limit)."""
    if rule.notify_below is None and rule.auto_refill is None and rule.limit == "hard":
        return None
    return LowBalanceHook(rule, routes)
