"""Account commands for support and finance: find accounts, read one, its audit trail, and
grant, void or adjust credits by hand (each with who, why and an idempotency key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from connector.cli.common import console, fails_cleanly, instant_option, open_engine
from connector.errors import InvalidInput
from connector.kinds import PoolKind
from connector.money import normalize_currency, parse_major

if TYPE_CHECKING:  # the ledger and its database load when a command runs, not for --help
    from connector.ledger import manual

MAX_PAGE = 1000  # accounts listed at most (the directory caps a page there too)

ReasonOption = Annotated[str, typer.Option("--reason", help="why (kept in the audit trail)")]
ActorOption = Annotated[str, typer.Option("--actor", help="who (a person's name or e-mail)")]
KeyOption = Annotated[
    str, typer.Option("--key", help="idempotency key: running it again changes nothing")
]
AtOption = Annotated[str | None, typer.Option("--at", help="when it takes effect; default now")]


def _stamp(moment: object) -> str:
    return f"{moment:%Y-%m-%d %H:%M}Z" if moment else "never"


def _list(search: str | None, limit: int) -> None:
    from connector.ledger import directory

    with open_engine().connect() as conn:
        found = directory.search(conn, search, limit=limit)
    table = Table(title=f"{len(found)} accounts" + (f" matching {search!r}" if search else ""))
    for column in ("account", "name", "email", "plan", "since"):
        table.add_column(column)
    for account in found:
        table.add_row(
            escape(account.id),
            escape(account.name or ""),
            escape(account.email or ""),
            escape(account.plan or ""),
            f"{account.created_at:%Y-%m-%d}",
        )
    console.print(table)


def _show(account_id: str) -> None:
    from connector.ledger import directory
    from connector.reports.units import shown

    with open_engine().connect() as conn:
        found = directory.view(conn, account_id)
    who = found.account
    links = ", ".join(f"{platform} {external}" for platform, external in found.links) or "none"
    console.print(
        escape(
            f"{who.id}: {who.name or 'no name'} <{who.email or 'no e-mail'}>\n"
            f"plan      {who.plan or 'none'}\n"
            f"platforms {links}\n"
            f"balance   {found.balance.total} credits"
        )
    )
    table = Table(title="pools")
    for column in ("pool", "kind", "status", "remaining", "granted", "amount", "expires", "from"):
        table.add_column(column, justify="right" if column in ("remaining", "granted") else "left")
    for pool in found.pools:
        table.add_row(
            str(pool.id),
            pool.kind.value,
            pool.status.value,
            str(pool.credits_remaining),
            str(pool.credits_granted),
            shown(pool.revenue_amount, pool.currency),
            _stamp(pool.expires_at),
            escape(str(pool.source)),
        )
    console.print(table)


@fails_cleanly
def accounts_command(
    account: Annotated[
        str | None, typer.Argument(help="one account to show; omit to list them")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", "-s", help="part of an id, name, e-mail or platform customer id"),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=MAX_PAGE)] = 100,
) -> None:
    """List and search accounts, or show one: plan, linked platforms, balance and pools."""
    if account is None:
        _list(search, limit)
    else:
        _show(account)


@fails_cleanly
def ledger_command(account: str) -> None:
    """Every ledger entry of an account, oldest first, with who made it and why."""
    from connector.ledger import manual

    with open_engine().connect() as conn:
        trail = manual.audit_trail(conn, account)
    table = Table(title=f"{account}: {len(trail)} ledger entries")
    for column in ("entry", "occurred", "kind", "pool", "credits", "who", "why"):
        table.add_column(column, justify="right" if column == "credits" else "left")
    for entry in trail:
        table.add_row(
            str(entry.id),
            _stamp(entry.occurred_at),
            entry.kind,
            str(entry.pool_id),
            f"{entry.credits:+d}",
            escape(entry.who),
            escape(entry.why),
        )
    console.print(table)


def _said(operation: manual.ManualOperation) -> None:
    again = " (already done: nothing changed)" if operation.replayed else ""
    change = f"{operation.credits:+d}" if operation.credits else "0"
    console.print(
        escape(
            f"{operation.operation.value} {change} credits on pool {operation.pool_id} of "
            f"{operation.account_id} by {operation.actor}{again}"
        )
    )


@fails_cleanly
def grant_command(
    account: str,
    credits: int,
    reason: ReasonOption,
    actor: ActorOption,
    key: KeyOption,
    kind: Annotated[
        str, typer.Option(help="promotional (goodwill, promotions) or paid (sold outside)")
    ] = PoolKind.PROMOTIONAL.value,
    amount: Annotated[
        str, typer.Option(help="what the customer paid, in major units, e.g. 49.00")
    ] = "0",
    currency: Annotated[str, typer.Option(help="ISO 4217 code of the amount")] = "USD",
    expires: Annotated[str | None, typer.Option(help="expiry (ISO instant); default never")] = None,
    at: AtOption = None,
) -> None:
    """Grant credits by hand: goodwill, a promotion, or credits sold outside any platform."""
    from connector.ledger import manual

    code = normalize_currency(currency)
    try:
        pool_kind = PoolKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in PoolKind)
        raise InvalidInput("kind", f"unknown pool kind {kind!r}", f"one of {kinds}") from None
    request = manual.ManualGrant(
        account_id=account,
        credits=credits,
        kind=pool_kind,
        amount=parse_major(amount, code),
        currency=code,
        effective_at=instant_option(at, "--at"),
        expires_at=instant_option(expires, "--expires"),
    )
    with open_engine().begin() as conn:
        done = manual.grant(conn, request, manual.Author(key, actor, reason))
    _said(done)


@fails_cleanly
def void_command(
    pool: int, reason: ReasonOption, actor: ActorOption, key: KeyOption, at: AtOption = None
) -> None:
    """Void a pool: every credit left is taken back and its deferred revenue goes to clearing."""
    from connector.ledger import manual

    with open_engine().begin() as conn:
        done = manual.void(
            conn, pool, manual.Author(key, actor, reason), instant_option(at, "--at")
        )
    _said(done)


@fails_cleanly
def adjust_command(
    pool: int,
    credits: Annotated[int, typer.Argument(help="credits to remove from the pool")],
    reason: ReasonOption,
    actor: ActorOption,
    key: KeyOption,
    at: AtOption = None,
) -> None:
    """Remove credits from a pool by hand (to give credits, grant them)."""
    from connector.ledger import manual

    with open_engine().begin() as conn:
        done = manual.adjust(
            conn, pool, credits, manual.Author(key, actor, reason), instant_option(at, "--at")
        )
    _said(done)


def register(app: typer.Typer) -> None:
    app.command("accounts")(accounts_command)
    app.command("ledger")(ledger_command)
    app.command("grant")(grant_command)
    app.command("void")(void_command)
    app.command("adjust")(adjust_command)
