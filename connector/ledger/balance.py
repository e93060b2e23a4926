"""Balances: what an account can spend now, in total and pool by pool."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from connector.errors import NotFound
from connector.ledger import accounts
from connector.ledger import pools as pool_store
from connector.ledger.models import Balance, PoolBalance
from connector.ledger.order import in_order
from connector.timeutil import require_aware, utcnow


def balance(conn: Connection, account_id: str, at: datetime | None = None) -> Balance:
    """Spendable credits at ``at`` (default now), pools listed in the order burns take them."""
    at = require_aware(at or utcnow(), "at")
    if not accounts.exists(conn, account_id):
        raise NotFound(f"account {account_id!r} does not exist")
    usable = [p for p in pool_store.spendable(conn, account_id) if pool_store.usable_at(p, at)]
    ordered = in_order(usable, accounts.consumption_order(conn, account_id))
    return Balance(
        account_id=account_id,
        total=sum(p.credits_remaining for p in ordered),
        pools=tuple(
            PoolBalance(
                pool_id=p.id,
                kind=p.kind,
                credits_remaining=p.credits_remaining,
                credits_granted=p.credits_granted,
                expires_at=p.expires_at,
                priority=p.priority,
            )
            for p in ordered
        ),
    )
