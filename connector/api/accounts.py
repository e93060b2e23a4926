"""Reading accounts (read scope): a searchable list, one account's view (plan, linked platforms,
balance, pools), its balance, its pools and its ledger entries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from connector.api.auth import ReadCaller
from connector.api.deps import RuntimeDep
from connector.api.errors import errors
from connector.api.types import Instant, Text
from connector.errors import InvalidInput, NotFound
from connector.ledger import accounts, directory
from connector.ledger.models import Pool
from connector.ledger.rates import MAX_BIGINT
from connector.store.tables import ledger_entries
from connector.timeutil import utcnow

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
READ_ERRORS = errors(401, 403, 404, 422)


class PoolBalanceOut(BaseModel):
    pool_id: int
    kind: str
    credits_remaining: int
    credits_granted: int
    expires_at: datetime | None
    priority: int


class BalanceOut(BaseModel):
    account_id: str
    total: int = Field(description="spendable credits at `at`")
    at: datetime
    pools: list[PoolBalanceOut] = Field(description="usable pools, in the order burns take them")


class SourceOut(BaseModel):
    platform: str
    object_id: str
    line_id: str


class PoolOut(BaseModel):
    id: int
    kind: str
    status: str
    credits_granted: int
    credits_remaining: int
    revenue_amount: int = Field(description="minor units of `currency`")
    currency: str
    effective_at: datetime
    expires_at: datetime | None
    priority: int
    source: SourceOut
    part: str
    item_id: str | None
    created_at: datetime


class PoolsOut(BaseModel):
    account_id: str
    pools: list[PoolOut]


class EntryOut(BaseModel):
    id: int
    pool_id: int
    kind: str = Field(description="grant, burn, expire, void, clawback or adjust")
    credits: int = Field(description="signed: grants positive, takings negative")
    burn_id: int | None
    reference: str
    occurred_at: datetime
    recorded_at: datetime


class LedgerPageOut(BaseModel):
    account_id: str
    entries: list[EntryOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


def pool_out(pool: Pool) -> PoolOut:
    return PoolOut(
        id=pool.id,
        kind=pool.kind.value,
        status=pool.status.value,
        credits_granted=pool.credits_granted,
        credits_remaining=pool.credits_remaining,
        revenue_amount=pool.revenue_amount,
        currency=pool.currency,
        effective_at=pool.effective_at,
        expires_at=pool.expires_at,
        priority=pool.priority,
        source=SourceOut(
            platform=pool.source.platform,
            object_id=pool.source.object_id,
            line_id=pool.source.line_id,
        ),
        part=pool.part,
        item_id=pool.item_id,
        created_at=pool.created_at,
    )


class AccountOut(BaseModel):
    id: str
    name: str | None
    email: str | None
    plan: str | None
    created_at: datetime


class AccountsPageOut(BaseModel):
    accounts: list[AccountOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")


class LinkOut(BaseModel):
    platform: str
    external_id: str = Field(description="the platform's customer id")


class AccountViewOut(AccountOut):
    links: list[LinkOut]
    balance: int = Field(description="spendable credits now")
    pools: list[PoolOut]


@router.get("", response_model=AccountsPageOut, responses=READ_ERRORS)
def list_accounts(
    runtime: RuntimeDep,
    _caller: ReadCaller,
    search: Annotated[
        Text | None,
        Query(max_length=200, description="part of an id, name, e-mail or platform customer id"),
    ] = None,
    cursor: Annotated[Text | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=directory.MAX_PAGE, description="per page")] = 100,
) -> AccountsPageOut:
    """Accounts by id, a page at a time, optionally matching ``search`` (ignoring case)."""
    with runtime.engine.connect() as conn:
        found = directory.search(conn, search, after=cursor, limit=limit + 1)
    page = [AccountOut.model_validate(a, from_attributes=True) for a in found[:limit]]
    more = len(found) > limit
    return AccountsPageOut(accounts=page, next_cursor=page[-1].id if more and page else None)


@router.get("/{account_id}", response_model=AccountViewOut, responses=READ_ERRORS)
def get_account(account_id: Text, runtime: RuntimeDep, _caller: ReadCaller) -> AccountViewOut:
    """One account: its plan, the platforms it is linked to, its balance and every pool."""
    with runtime.engine.connect() as conn:
        found = directory.view(conn, account_id)
    return AccountViewOut(
        **AccountOut.model_validate(found.account, from_attributes=True).model_dump(),
        links=[LinkOut(platform=p, external_id=e) for p, e in found.links],
        balance=found.balance.total,
        pools=[pool_out(p) for p in found.pools],
    )


@router.get("/{account_id}/balance", response_model=BalanceOut, responses=READ_ERRORS)
def get_balance(
    account_id: Text,
    runtime: RuntimeDep,
    _caller: ReadCaller,
    at: Annotated[
        Instant | None, Query(description="ISO 8601 instant with offset; default now")
    ] = None,
) -> BalanceOut:
    """Spendable credits now (or at `at`), pool by pool."""
    when = at or utcnow()
    found = runtime.ledger.balance(account_id, None if at is None else when)
    return BalanceOut(
        account_id=found.account_id,
        total=found.total,
        at=when,
        pools=[
            PoolBalanceOut(
                pool_id=p.pool_id,
                kind=p.kind.value,
                credits_remaining=p.credits_remaining,
                credits_granted=p.credits_granted,
                expires_at=p.expires_at,
                priority=p.priority,
            )
            for p in found.pools
        ],
    )


@router.get("/{account_id}/pools", response_model=PoolsOut, responses=READ_ERRORS)
def get_pools(account_id: Text, runtime: RuntimeDep, _caller: ReadCaller) -> PoolsOut:
    """Every pool of the account, whatever its status."""
    found = runtime.ledger.account_pools(account_id)
    return PoolsOut(account_id=account_id, pools=[pool_out(p) for p in found])


def _cursor(text: str | None) -> int:
    if text is None:
        return 0
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_BIGINT:
        raise InvalidInput("cursor", f"{text!r} is not a cursor", "pass next_cursor as given")
    return int(text)


@router.get("/{account_id}/ledger", response_model=LedgerPageOut, responses=READ_ERRORS)
def get_ledger(
    account_id: Text,
    runtime: RuntimeDep,
    _caller: ReadCaller,
    cursor: Annotated[Text | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="entries per page")] = 100,
) -> LedgerPageOut:
    """The account's ledger entries, oldest first, a page at a time."""
    after = _cursor(cursor)
    with runtime.engine.connect() as conn:
        if not accounts.exists(conn, account_id):
            raise NotFound(f"account {account_id!r} does not exist")
        rows = (
            conn.execute(
                select(ledger_entries)
                .where(ledger_entries.c.account_id == account_id, ledger_entries.c.id > after)
                .order_by(ledger_entries.c.id)
                .limit(limit + 1)
            )
            .mappings()
            .all()
        )
    page = [EntryOut.model_validate(dict(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return LedgerPageOut(
        account_id=account_id,
        entries=page,
        next_cursor=str(page[-1].id) if more and page else None,
    )
