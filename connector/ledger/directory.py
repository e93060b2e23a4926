"""Accounts as support and finance look them up: a searchable list, and one account's view
(its plan, the platforms it is linked to, its balance and its pools)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, or_, select

from connector.errors import NotFound
from connector.ledger import balance as balances
from connector.ledger import pools as pool_store
from connector.ledger.models import Balance, Pool
from connector.store.tables import account_links, accounts

MAX_PAGE = 1000


@dataclass(frozen=True)
class AccountSummary:
    id: str
    name: str | None
    email: str | None
    plan: str | None
    created_at: datetime


@dataclass(frozen=True)
class AccountView:
    account: AccountSummary
    links: tuple[tuple[str, str], ...]  # (platform, the platform's customer id)
    balance: Balance
    pools: tuple[Pool, ...]  # every pool, whatever its status


_COLUMNS = (
    accounts.c.id,
    accounts.c.name,
    accounts.c.email,
    accounts.c.plan,
    accounts.c.created_at,
)


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    conn: Connection, text: str | None = None, after: str | None = None, limit: int = 100
) -> list[AccountSummary]:
    """Accounts by id, a page at a time (``after``: the last id of the previous page); ``text``
    matches the id, name, email or a linked platform's customer id, ignoring case."""
    query = select(*_COLUMNS).order_by(accounts.c.id).limit(max(1, min(limit, MAX_PAGE)))
    if after is not None:
        query = query.where(accounts.c.id > after)
    if text:
        pattern = _like(text.strip())
        linked = select(account_links.c.account_id).where(
            func.lower(account_links.c.external_id).like(pattern, escape="\\")
        )
        query = query.where(
            or_(
                func.lower(accounts.c.id).like(pattern, escape="\\"),
                func.lower(accounts.c.name).like(pattern, escape="\\"),
                func.lower(accounts.c.email).like(pattern, escape="\\"),
                accounts.c.id.in_(linked),
            )
        )
    return [AccountSummary(*row) for row in conn.execute(query)]


def view(conn: Connection, account_id: str, at: datetime | None = None) -> AccountView:
    row = conn.execute(select(*_COLUMNS).where(accounts.c.id == account_id)).first()
    if row is None:
        raise NotFound(f"account {account_id!r} does not exist")
    links = conn.execute(
        select(account_links.c.platform, account_links.c.external_id)
        .where(account_links.c.account_id == account_id)
        .order_by(account_links.c.platform, account_links.c.external_id)
    ).all()
    return AccountView(
        account=AccountSummary(*row),
        links=tuple((platform, external) for platform, external in links),
        balance=balances.balance(conn, account_id, at),
        pools=tuple(pool_store.pools_for_account(conn, account_id)),
    )
