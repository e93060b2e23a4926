"""Recognition commands: recognize, accounting periods, posting the outbox, finance reports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.cli.common import console, fails_cleanly, instant_option, open_engine
from connector.outbox.drain import drain
from connector.recognition import control
from connector.recognition.closing import close_period, first_open, list_periods
from connector.recognition.periods import end_of, parse_period, parse_through, start_of, zone
from connector.recognition.run import recognize
from connector.reports.deferred import deferred_by_customer
from connector.reports.liability import liability
from connector.reports.model import Report
from connector.reports.render import write
from connector.reports.rollforward import Filters, compact, rollforward
from connector.reports.units import shown
from connector.reports.waterfall import chart, waterfall
from connector.runtime import Runtime
from connector.settings import get_settings
from connector.text import counted
from connector.timeutil import utcnow

periods_app = typer.Typer(
    help="Accounting periods: list them, close one (closing is final).", no_args_is_help=True
)
report_app = typer.Typer(
    help="Finance reports: rollforward, waterfall, liability, deferred.", no_args_is_help=True
)

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="table, csv, json or xlsx (xlsx needs --output)")
]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="write to this file")]


@fails_cleanly
def recognize_cmd(
    through: Annotated[
        str,
        typer.Option(
            "--through",
            help="cutoff: a date (its whole day, in the configured timezone) or an ISO instant",
        ),
    ],
    mode: Annotated[
        str, typer.Option(help="summarized (one entry per period, currency, accounts) or detailed")
    ] = "summarized",
) -> None:
    """Recognize revenue and breakage through a cutoff and queue the journal entries."""
    runtime = Runtime.from_settings()
    settings = runtime.settings
    cutoff = parse_through(through, zone(settings.timezone))
    done = _already_done(runtime, cutoff)
    if done:
        console.print(f"nothing to do: {done}")
        return
    expired = runtime.ledger.expire(min(cutoff, utcnow()))
    if expired:
        console.print(
            f"expired {counted(len(expired), 'pool')} due by the cutoff first "
            f"({sum(e.credits for e in expired)} credits lost)"
        )
    with Progress(
        TextColumn("recognizing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pools"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("recognize", total=None)
        run = recognize(
            runtime.engine,
            cutoff,
            runtime.gl_accounts,
            mode,
            timezone=settings.timezone,
            sinks=settings.journal_sinks,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        f"recognized through {run.through.isoformat()} ({run.mode}): "
        f"{len(run.entries)} new entries ({run.late_entries} late), "
        f"{counted(run.pools_recomputed, 'pool')} recomputed in {run.seconds:.2f}s"
    )
    if run.entries:
        table = Table(title="new journal entries")
        for column in ("period", "kind", "late", "amount", "id"):
            table.add_column(column, justify="right" if column == "amount" else "left")
        for entry in run.entries[:50]:
            table.add_row(
                entry.period,
                entry.kind.value,
                "late" if entry.late else "",
                shown(entry.total, entry.currency),
                entry.id,
            )
        console.print(table)
        if len(run.entries) > 50:
            console.print(f"... and {len(run.entries) - 50} more")


def _already_done(runtime: Runtime, cutoff: datetime) -> str | None:
    """Why a run through ``cutoff`` has nothing left to do (a month-end script run twice)."""
    tz = zone(runtime.settings.timezone)
    with runtime.engine.connect() as conn:
        opening = first_open(conn)
        last = control.load(conn, runtime.settings.timezone).last_through
    if opening is not None and cutoff <= start_of(opening, tz):
        return f"everything through {cutoff.isoformat()} is in closed periods (open: {opening})"
    if last is not None and cutoff < last:
        return f"recognition has already run through {last.isoformat()}"
    return None


@periods_app.command("close")
@fails_cleanly
def periods_close(
    period: Annotated[str, typer.Argument(help="YYYY-MM, e.g. 2026-10")],
) -> None:
    """Close a period for good: nothing is posted into it again (late facts post later)."""
    settings = get_settings()
    with open_engine().begin() as conn:
        closed = close_period(conn, period, settings.timezone)
    console.print(
        f"{closed.period} is closed ({closed.starts_at.isoformat()} to "
        f"{closed.ends_at.isoformat()}, {closed.timezone}), "
        f"closed at {closed.closed_at.isoformat()}"
    )


@periods_app.command("list")
@fails_cleanly
def periods_list() -> None:
    """Periods with entries or closed, and their status."""
    with open_engine().connect() as conn:
        found = list_periods(conn)
    table = Table(title="accounting periods")
    for column in ("period", "status", "entries", "closed at"):
        table.add_column(column)
    for status in found:
        table.add_row(
            status.period,
            "closed" if status.closed else "open",
            str(status.entries),
            status.closed_at.isoformat() if status.closed_at else "",
        )
    console.print(table)


@fails_cleanly
def post_cmd(
    sink: Annotated[
        str | None,
        typer.Option(help="a journal sink (adapter or connection name); default: every configured"),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="also retry entries that failed before")
    ] = False,
) -> None:
    """Post pending journal entries (idempotent on the entry id: safe to run again any time)."""
    runtime = Runtime.from_settings()
    names = [sink] if sink else list(runtime.settings.journal_sinks)
    failed = 0
    for name in names:
        target = runtime.sink(name)
        with Progress(
            TextColumn(f"posting to {name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task(name, total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)  # noqa: B023

            result = drain(runtime.engine, target, advance, retry_failed=retry_failed)
        console.print(f"{name}: {result.posted} posted, {result.failed} failed")
        for entry_id, error in list(result.errors.items())[:20]:
            console.print(f"  [red]{entry_id}[/red]: {error}")
        failed += result.failed
    if failed:
        raise typer.Exit(1)


def _emit(report: Report, fmt: str, output: Path | None) -> None:
    write(report, fmt, output, console)
    if output is not None:
        console.print(f"wrote {output}", style="dim")


SinceOption = Annotated[str | None, typer.Option("--since", help="first period, YYYY-MM")]
UntilOption = Annotated[str | None, typer.Option("--until", help="last period, YYYY-MM")]
CurrencyOption = Annotated[str | None, typer.Option("--currency", help="one currency, e.g. USD")]
EntityOption = Annotated[str | None, typer.Option("--entity", help="one entity of the mappings")]


@report_app.command("rollforward")
@fails_cleanly
def report_rollforward(
    fmt: FormatOption = "table",
    output: OutputOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    currency: CurrencyOption = None,
    entity: EntityOption = None,
    short: Annotated[
        bool, typer.Option("--compact", help="six columns, one table per currency")
    ] = False,
) -> None:
    """Deferred revenue rollforward per period and currency, reconciled to the pools."""
    filters = Filters(since=since, until=until, currency=currency, entity=entity)
    with open_engine().connect() as conn:
        report = rollforward(conn, get_settings().timezone, filters)
    _emit(compact(report) if short else report, fmt, output)


@report_app.command("waterfall")
@fails_cleanly
def report_waterfall(
    fmt: FormatOption = "table",
    output: OutputOption = None,
    png: Annotated[
        Path | None, typer.Option("--chart", help="PNG chart path (default: output dir)")
    ] = None,
    currency: CurrencyOption = None,
) -> None:
    """Revenue by month for each purchase month (cohort), with a PNG chart."""
    with open_engine().connect() as conn:
        report = waterfall(conn, currency)
    _emit(report, fmt, output)
    if report.rows:
        path = chart(report, png or get_settings().output_dir / "waterfall.png")
        console.print(f"chart: {path}", style="dim")


@report_app.command("liability")
@fails_cleanly
def report_liability(
    fmt: FormatOption = "table",
    output: OutputOption = None,
    at: Annotated[str | None, typer.Option(help="ISO instant; default now")] = None,
    currency: CurrencyOption = None,
    entity: EntityOption = None,
) -> None:
    """Outstanding credits and deferred revenue by pool kind and expiry, with expected breakage."""
    moment: datetime = instant_option(at, "--at") or utcnow()
    with open_engine().connect() as conn:
        report = liability(conn, moment, currency=currency, entity=entity)
    _emit(report, fmt, output)


@report_app.command("deferred")
@fails_cleanly
def report_deferred(
    fmt: FormatOption = "table",
    output: OutputOption = None,
    period: Annotated[
        str | None, typer.Option(help="as of the end of this period, YYYY-MM")
    ] = None,
    at: Annotated[str | None, typer.Option(help="as of this ISO instant; default now")] = None,
    currency: CurrencyOption = None,
    entity: EntityOption = None,
) -> None:
    """Deferred revenue by customer, as of a moment (ties to the rollforward's closing)."""
    runtime = Runtime.from_settings()
    moment = (
        end_of(parse_period(period), zone(runtime.settings.timezone))
        if period
        else instant_option(at, "--at") or utcnow()
    )

    def gl_account(version: str | None, code: str, owner: str | None) -> str:
        return runtime.gl_accounts(version, code, owner).deferred_revenue

    with runtime.engine.connect() as conn:
        report = deferred_by_customer(conn, moment, gl_account, currency=currency, entity=entity)
    _emit(report, fmt, output)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("recognize")(recognize_cmd)
    app.command("post")(post_cmd)
    app.add_typer(periods_app, name="periods")
    app.add_typer(report_app, name="report")
