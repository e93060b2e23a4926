"""Accounts (one per customer) and their links to ids on each billing platform."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from connector.errors import InvalidInput, NotFound
from connector.ledger.order import policy
from connector.store.batch import Batch, Sent
from connector.store.bulk import among, in_list, json_list, param
from connector.store.sql import insert_ignoring_duplicates, lock_rows_clause
from connector.store.tables import account_links, accounts
from connector.timeutil import utcnow


def _require_id(account_id: str) -> str:
    if not isinstance(account_id, str) or not account_id.strip():
        raise InvalidInput("account_id", "is empty", "give the customer's account id")
    if len(account_id) > 200:
        raise InvalidInput("account_id", "is longer than 200 characters")
    return account_id


def ensure_account(
    conn: Connection,
    account_id: str,
    *,
    name: str | None = None,
    email: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Create the account if it does not exist; return whether it was created."""
    _require_id(account_id)
    created = conn.execute(
        insert_ignoring_duplicates(conn, accounts, ["id"])
        .values(id=account_id, name=name, email=email, created_at=now or utcnow())
        .returning(accounts.c.id)
    ).first()
    return created is not None


def exists(conn: Connection, account_id: str) -> bool:
    return (
        conn.execute(select(accounts.c.id).where(accounts.c.id == account_id)).first() is not None
    )


_LOCK = select(accounts.c.consumption_order).where(accounts.c.id == bindparam("account"))
_LOCK_FOR_UPDATE = _LOCK.with_for_update()


def lock(conn: Connection, account_id: str) -> str | None:
    """Serialize writers of one account (PostgreSQL row lock; SQLite holds the file lock).

    Returns the account's consumption order, read under the lock, to save a round trip.
    """
    query = _LOCK_FOR_UPDATE if lock_rows_clause(conn) else _LOCK
    row = conn.execute(query, {"account": account_id}).first()
    if row is None:
        raise NotFound(f"account {account_id!r} does not exist; grant it credits first")
    order: str | None = row.consumption_order
    return order


def consumption_order(conn: Connection, account_id: str) -> str | None:
    return conn.execute(
        select(accounts.c.consumption_order).where(accounts.c.id == account_id)
    ).scalar_one_or_none()


def set_consumption_order(conn: Connection, account_id: str, name: str | None) -> None:
    if name is not None:
        policy(name)  # refuses unknown names with the list of valid ones
    lock(conn, account_id)
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(consumption_order=name))


def set_plan(conn: Connection, account_id: str, plan: str | None) -> None:
    conn.execute(update(accounts).where(accounts.c.id == account_id).values(plan=plan))


def link(conn: Connection, platform: str, external_id: str, account_id: str) -> str:
    """Link a platform's customer id to an account; an existing link wins and is returned."""
    conn.execute(
        insert_ignoring_duplicates(conn, account_links, ["platform", "external_id"]).values(
            platform=platform, external_id=external_id, account_id=account_id
        )
    )
    linked = resolve(conn, platform, external_id)
    assert linked is not None
    return linked


def find_links(batch: Batch, platform: str, external_ids: Iterable[str]) -> Sent:
    """The links of these platform customers, as one statement of ``batch``: its rows are
    (external id, account id) pairs (``link_many`` takes them as ``found``)."""
    dialect = batch.dialect
    among_ids = in_list(dialect, "external_id", "ids")
    sql = _LINKS.format(platform=param(dialect, "platform"), among_ids=among_ids)
    return batch.execute(sql, {"platform": platform, "ids": json_list(external_ids)})


_LINKS = (
    "SELECT external_id, account_id FROM account_links WHERE platform = {platform} AND {among_ids}"
)


def link_many(
    conn: Connection,
    platform: str,
    customers: dict[str, tuple[str | None, str | None]],
    found: dict[str, str] | None = None,
) -> dict[str, str]:
    """Accounts for many platform customers at once: {external id: account id}.

    A customer seen for the first time gets an account named by its external id, with its name
    and email, linked to it; existing links are kept as they are. ``found``: the links read
    already (``find_links``), so that most pages, whose customers are all linked, read nothing.
    """
    if not customers:
        return {}
    if found is None:
        found = _linked(conn, platform, customers)
    missing = [external for external in customers if external not in found]
    if missing:
        now = utcnow()
        conn.execute(
            insert_ignoring_duplicates(conn, accounts, ["id"]),
            [
                {
                    "id": _require_id(external),
                    "name": customers[external][0],
                    "email": customers[external][1],
                    "created_at": now,
                }
                for external in missing
            ],
        )
        conn.execute(
            insert_ignoring_duplicates(conn, account_links, ["platform", "external_id"]),
            [
                {"platform": platform, "external_id": external, "account_id": external}
                for external in missing
            ],
        )
        found = _linked(conn, platform, customers)
    return found


def _linked(conn: Connection, platform: str, external_ids: Iterable[str]) -> dict[str, str]:
    query = select(account_links.c.external_id, account_links.c.account_id).where(
        account_links.c.platform == platform,
        among(conn, account_links.c.external_id, external_ids),
    )
    return {row[0]: row[1] for row in conn.execute(query)}


def resolve(conn: Connection, platform: str, external_id: str) -> str | None:
    return conn.execute(
        select(account_links.c.account_id).where(
            account_links.c.platform == platform, account_links.c.external_id == external_id
        )
    ).scalar_one_or_none()


def external_id(conn: Connection, account_id: str, platform: str) -> str | None:
    """The account's customer id on ``platform`` (for refills and overage billing)."""
    return conn.execute(
        select(account_links.c.external_id).where(
            account_links.c.account_id == account_id, account_links.c.platform == platform
        )
    ).scalar()
