"""Ledger commands: database, burn rates, burns, balances, expiry and the ledger audit."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from connector.cli.common import (
    DryRunOption,
    InvalidOption,
    console,
    fails_cleanly,
    instant_option,
    open_engine,
    open_runtime,
    past_option,
    positive,
)
from connector.cli.dry_run import rehearse
from connector.errors import CreditsyncError
from connector.text import counted
from connector.timeutil import utcnow

if TYPE_CHECKING:
    from connector.ledger.models import BurnRate

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
rates_app = typer.Typer(
    help="Burn rates: credits per unit of each AI action.", no_args_is_help=True
)


@db_app.command("upgrade")
@fails_cleanly
def db_upgrade() -> None:
    """Apply every pending migration (safe to run again)."""
    from connector.store.migrate import current_revision, head_revision, upgrade

    engine = open_engine(migrate=False)
    before = current_revision(engine)
    upgrade(engine)
    console.print(f"database at revision {head_revision()} (was {before or 'empty'})")


def _rates_table(found: list[BurnRate], title: str) -> Table:
    table = Table(title=title)
    for column in ("action", "version", "credits / unit", "effective from", "note"):
        table.add_column(column)
    for rate in found:
        table.add_row(
            rate.action,
            str(rate.version),
            rate.credits_per_unit,
            f"{rate.effective_from:%Y-%m-%d %H:%M:%S}Z",
            rate.note or "",
        )
    return table


@rates_app.command("set")
@fails_cleanly
def rates_set(
    action: Annotated[str, typer.Argument(help="the AI action, e.g. query")],
    credits_per_unit: Annotated[str, typer.Argument(help="decimal, e.g. 10 or 0.5")],
    effective_from: Annotated[
        str | None, typer.Option("--from", help="ISO 8601 with offset; default now")
    ] = None,
    note: Annotated[str | None, typer.Option(help="why the rate changed")] = None,
) -> None:
    """Add a new version of an action's burn rate; burns before it keep their rate."""
    rate = open_runtime().ledger.set_rate(
        action, credits_per_unit, instant_option(effective_from, "--from"), note
    )
    console.print(
        f"{rate.action}: version {rate.version}, {rate.credits_per_unit} credits per unit "
        f"from {rate.effective_from:%Y-%m-%d %H:%M:%S}Z"
    )


@rates_app.command("list")
@fails_cleanly
def rates_list() -> None:
    """The rate in force now for every action."""
    console.print(_rates_table(open_runtime().ledger.rates(), "burn rates in force"))


@rates_app.command("history")
@fails_cleanly
def rates_history(action: str) -> None:
    """Every version of one action's rate."""
    console.print(_rates_table(open_runtime().ledger.rate_history(action), f"history of {action}"))


@fails_cleanly
def burn_command(
    account: Annotated[str | None, typer.Argument(help="the account; omit with --file")] = None,
    action: Annotated[str | None, typer.Argument(help="the AI action, e.g. query")] = None,
    units: Annotated[
        int | None, typer.Argument(help="how many units of the action, 1 or more")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="idempotency key; default a fresh one (no retry safety)")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option(help="when it happened, up to now; default now (a replay: the first time)"),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="backfill usage from JSONL or CSV (account_id, idempotency_key, action, units, "
            "occurred_at per line); a file with a bad line is refused whole",
        ),
    ] = None,
) -> None:
    """Burn credits for one action (the CLI twin of POST /v1/burns), or a file of them.

    Run again with the same --key and content, it returns the first result. Without --at the
    burn is dated now, and a replay of a key already used takes the stored burn's time, as the
    API does for a burn sent without occurred_at."""
    from connector.ledger.models import BurnRequest

    if file is not None:
        if account or action or units is not None or key or at:
            raise InvalidOption("--file", "comes alone", "put every burn's fields in the file")
        _burn_file(file)
        return
    if account is None or action is None or units is None:
        raise InvalidOption("ACCOUNT", "ACCOUNT ACTION UNITS are required", "or give --file")
    positive(units, "units")
    if key is not None and not key.strip():
        raise InvalidOption("--key", "is empty", "give a key unique to this burn, or leave it out")
    runtime = open_runtime()
    skew = timedelta(seconds=runtime.settings.burn_clock_skew_seconds)
    moment = past_option(at, "--at", skew)
    request = BurnRequest(
        account_id=account,
        idempotency_key=key or uuid.uuid4().hex,
        action=action,
        units=units,
        occurred_at=moment or utcnow(),
    )
    ledger = runtime.ledger
    result = ledger.burn(request) if moment else ledger.burn_undated(request)
    spread = ", ".join(f"pool {a.pool_id}: {a.credits}" for a in result.allocations)
    replay = " (replayed)" if result.replayed else ""
    console.print(
        escape(f"burned {result.credits} credits{replay} [{spread}]; balance {result.balance}")
    )


def _burn_file(path: Path) -> None:
    """Every line checked first, then burned in order; a rerun replays what was burned."""
    from connector.ledger.usage_file import read_usage

    requests = read_usage(path)
    ledger = open_runtime().ledger
    burned = replayed = credits = 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"burning {path.name}", total=len(requests))
        for number, request in enumerate(requests, start=1):
            try:
                result = ledger.burn(request)
            except CreditsyncError as error:
                console.print(
                    escape(
                        f"stopped at burn {number} of {len(requests)} "
                        f"({request.account_id} {request.idempotency_key}): {error.message}; "
                        f"{burned} burned before it (running the file again replays them)"
                    )
                )
                raise typer.Exit(1) from None
            replayed += result.replayed
            burned += not result.replayed
            credits += 0 if result.replayed else result.credits
            progress.advance(task)
    console.print(
        f"{path.name}: {counted(burned, 'burn')} ({credits} credits), "
        f"{replayed} already burned before"
    )


@fails_cleanly
def balance_command(
    account: str,
    at: Annotated[str | None, typer.Option(help="balance at this moment; default now")] = None,
) -> None:
    """Spendable credits, in total and per pool in the order burns take them."""
    from connector.config_file import database_url
    from connector.ledger.balance_read import balance_directly

    moment = instant_option(at, "--at")
    url = database_url()
    found = balance_directly(url, account, moment) if url else None
    if found is None:  # a database to create or migrate, or a setting the full settings report
        from connector.ledger.balance import balance

        with open_engine().connect() as conn:  # a read needs the database, not the runtime
            found = balance(conn, account, moment)
    table = Table(title=f"{account}: {found.total} credits")
    for column in ("pool", "kind", "remaining", "granted", "expires", "priority"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    for pool in found.pools:
        table.add_row(
            str(pool.pool_id),
            pool.kind.value,
            str(pool.credits_remaining),
            str(pool.credits_granted),
            f"{pool.expires_at:%Y-%m-%d %H:%M}Z" if pool.expires_at else "never",
            str(pool.priority),
        )
    console.print(table)


@fails_cleanly
def order_command(
    account: str,
    policy: Annotated[
        str | None,
        typer.Argument(
            help="soonest_expiry, priority_first, oldest_first or free_first; omit to show "
            "the account's order"
        ),
    ] = None,
    plan_default: Annotated[
        bool,
        typer.Option("--plan-default", help="drop the account's own order: its plan's applies"),
    ] = False,
) -> None:
    """Show or set the order in which an account's burns take its pools."""
    from connector.ledger import accounts
    from connector.ledger.order import DEFAULT_POLICY

    engine = open_engine()
    if policy is not None or plan_default:
        with engine.begin() as conn:
            accounts.set_consumption_order(conn, account, None if plan_default else policy)
    with engine.connect() as conn:
        accounts.lock(conn, account)  # a clear error for an unknown account
        chosen = accounts.consumption_order(conn, account)
    shown = chosen or f"its plan's order (without a plan: {DEFAULT_POLICY})"
    console.print(f"{account}: {shown}")


@fails_cleanly
def expire_command(
    at: Annotated[
        str | None, typer.Option(help="expire pools due by then, up to now; default now")
    ] = None,
    dry_run: DryRunOption = False,
) -> None:
    """Expire every pool past its expires_at, recording the credits lost."""
    from connector.ledger.service import Ledger

    moment = past_option(at, "--at") or utcnow()
    runtime = open_runtime()
    if dry_run:
        lost = rehearse(runtime.engine, lambda engine: Ledger(engine).expire(moment))
    else:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("expiring pools", total=None)
            lost = runtime.ledger.expire(moment, on_chunk=lambda n: progress.advance(task, n))
    verb = "would expire" if dry_run else "expired"
    console.print(
        f"{counted(len(lost), 'pool')} {verb} with credits left, "
        f"{sum(e.credits for e in lost)} credits {'would be ' if dry_run else ''}lost"
        + ("; dry run: nothing was written" if dry_run else "")
    )


@fails_cleanly
def verify_command() -> None:
    """Check every pool against its ledger entries; exit 1 on any violation."""
    violations = open_runtime().ledger.verify()
    if not violations:
        console.print("ledger verified: every pool and burn adds up")
        return
    table = Table(title=f"{len(violations)} violations")
    table.add_column("subject")
    table.add_column("problem")
    for v in violations:
        table.add_row(v.subject, v.problem)
    console.print(table)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
    app.add_typer(rates_app, name="rates")
    # a negative number is a value here, not an option: `burn acct query -1` says what is wrong
    app.command("burn", context_settings={"ignore_unknown_options": True})(burn_command)
    app.command("balance")(balance_command)
    app.command("order")(order_command)
    app.command("expire")(expire_command)
    app.command("verify")(verify_command)


__all__ = ["register"]
