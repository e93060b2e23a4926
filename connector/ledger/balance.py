"""Balances: what an account can spend, now or at a past moment, in total and pool by pool.

Now, a pool's spendable credits are its ``credits_remaining``. At a past moment they are what its
ledger entries dated up to that moment add up to: burns, expiries and takings recorded later but
dated after the moment do not count, so "what did Bob have on 4 November" has one answer however
late it is asked.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.errors import NotFound
from connector.ledger import accounts
from connector.ledger import pools as pool_store
from connector.ledger.holdings import balance_of
from connector.ledger.models import Balance, Pool
from connector.store.tables import ledger_entries, pools
from connector.timeutil import require_aware, utcnow


def _current(conn: Connection, account_id: str) -> list[Pool]:
    return pool_store.spendable(conn, account_id)


def _as_of(conn: Connection, account_id: str, at: datetime) -> list[Pool]:
    """Every pool of the account with its credits as its ledger entries dated up to ``at`` sum."""
    entries = ledger_entries.c
    held: dict[int, int] = {
        pool_id: int(credits)
        for pool_id, credits in conn.execute(
            select(entries.pool_id, func.sum(entries.credits))
            .where(entries.account_id == account_id, entries.occurred_at <= at)
            .group_by(entries.pool_id)
        )
    }
    rows = conn.execute(
        select(pools).where(pools.c.account_id == account_id, pools.c.id.in_(list(held)))
    ).mappings()
    found = (pool_store.pool_from_row(row) for row in rows)
    return [replace(pool, credits_remaining=held[pool.id]) for pool in found if held[pool.id] > 0]


def balance(conn: Connection, account_id: str, at: datetime | None = None) -> Balance:
    """Spendable credits at ``at`` (default now), pools listed in the order burns take them.

    With ``at`` given the balance is computed from the ledger entries dated up to ``at``, so a
    burn recorded today for a later moment never lowers a past balance.
    """
    if not accounts.exists(conn, account_id):
        raise NotFound(f"account {account_id!r} does not exist")
    if at is None:
        moment, held = utcnow(), _current(conn, account_id)
    else:
        moment = require_aware(at, "at")
        held = _as_of(conn, account_id, moment)
    return balance_of(account_id, held, accounts.consumption_order(conn, account_id), moment)
