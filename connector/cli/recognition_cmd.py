"""Recognition commands: recognize, accounting periods, posting the outbox, finance reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.cli.common import (
    DryRunOption,
    console,
    fails_cleanly,
    get_settings,
    instant_option,
    open_engine,
    open_runtime,
)
from connector.cli.dry_run import rehearse
from connector.errors import InvalidInput
from connector.horizon import not_after_now, period_has_ended
from connector.recognition.periods import end_of, parse_period, parse_through, start_of, zone
from connector.text import counted
from connector.timeutil import utcnow

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from connector.ports import JournalSink
    from connector.recognition.closing import ClosedPeriod
    from connector.recognition.run import RecognitionRun
    from connector.reports.model import GLAccountOf, Report
    from connector.runtime import Runtime

periods_app = typer.Typer(
    help="Accounting periods: list them, close one (closing is final).", no_args_is_help=True
)
report_app = typer.Typer(
    help="Finance reports: rollforward, waterfall, liability, deferred.", no_args_is_help=True
)

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="table, csv, json or xlsx (xlsx needs --output)")
]
SHOWN = 50
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="write to this file")]


def _entries_table(run: RecognitionRun, title: str) -> None:
    from connector.reports.units import shown

    table = Table(title=title)
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


@fails_cleanly
def recognize_cmd(
    through: Annotated[
        str,
        typer.Option(
            "--through",
            help="cutoff, up to now: a date that has ended (its whole day, in the configured "
            "timezone) or an ISO instant",
        ),
    ],
    mode: Annotated[
        str, typer.Option(help="summarized (one entry per period, currency, accounts) or detailed")
    ] = "summarized",
    dry_run: DryRunOption = False,
) -> None:
    """Recognize revenue and breakage through a cutoff and queue the journal entries.

    A cutoff after now is refused: the next run could not go back to an earlier one, so
    daily recognition would stop until that date."""
    from connector.ledger.service import Ledger
    from connector.recognition.run import recognize

    runtime = open_runtime()
    settings = runtime.settings
    cutoff = not_after_now(
        parse_through(through, zone(settings.timezone), "--through"),
        "--through",
        "recognize through a day that has ended, or an instant up to now",
    )
    done = _already_done(runtime, cutoff)
    if done:
        console.print(f"nothing to do: {done}")
        return
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

        def run_on(engine: Engine) -> tuple[int, int, RecognitionRun]:
            """Expire what is due by the cutoff (or now, if earlier) first, then recognize."""
            expired = Ledger(engine).expire(min(cutoff, utcnow()))
            run = recognize(
                engine,
                cutoff,
                runtime.gl_accounts,
                mode,
                timezone=settings.timezone,
                sinks=settings.journal_sinks,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
            return len(expired), sum(e.credits for e in expired), run

        pools, lost, run = rehearse(runtime.engine, run_on) if dry_run else run_on(runtime.engine)
    if pools:
        console.print(
            f"{'would expire' if dry_run else 'expired'} {counted(pools, 'pool')} due by the "
            f"cutoff first ({lost} credits {'would be ' if dry_run else ''}lost)"
        )
    verb = "would recognize" if dry_run else "recognized"
    console.print(
        f"{verb} through {run.through.isoformat()} ({run.mode}): "
        f"{len(run.entries)} new entries ({run.late_entries} late), "
        f"{counted(run.pools_recomputed, 'pool')} recomputed in {run.seconds:.2f}s"
        + ("; dry run: nothing was written" if dry_run else "")
    )
    if run.entries:
        _entries_table(run, "journal entries it would post" if dry_run else "new journal entries")


def _already_done(runtime: Runtime, cutoff: datetime) -> str | None:
    """Why a run through ``cutoff`` has nothing left to do (a month-end script run twice)."""
    from connector.recognition import control
    from connector.recognition.closing import first_open

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
    period: Annotated[str, typer.Argument(help="YYYY-MM of a month that has ended, e.g. 2026-10")],
    dry_run: DryRunOption = False,
) -> None:
    """Close a period for good: nothing is posted into it again (late facts post later).

    A month that has not ended yet is refused: every burn still to come in it would be booked
    late, in the next period."""
    from connector.recognition.closing import close_period

    settings = get_settings()
    period = period_has_ended(period, zone(settings.timezone))

    def close_on(engine: Engine) -> ClosedPeriod:
        with engine.begin() as conn:
            return close_period(conn, period, settings.timezone)

    engine = open_engine(settings=settings)
    closed = rehearse(engine, close_on) if dry_run else close_on(engine)
    console.print(
        f"{closed.period} {'would be' if dry_run else 'is'} closed ({closed.starts_at.isoformat()}"
        f" to {closed.ends_at.isoformat()}, {closed.timezone}), "
        + (
            "dry run: nothing was written"
            if dry_run
            else f"closed at {closed.closed_at.isoformat()}"
        )
    )


@periods_app.command("list")
@fails_cleanly
def periods_list() -> None:
    """Periods with entries or closed, and their status."""
    from connector.recognition.closing import list_periods

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
        bool,
        typer.Option(
            "--retry-failed",
            help="also retry entries that failed, or were blocked by a period since reopened",
        ),
    ] = False,
    redate_to: Annotated[
        str | None,
        typer.Option(
            "--redate-to",
            help="re-post the entries a book refused (closed period) into this open YYYY-MM",
        ),
    ] = None,
    entry: Annotated[
        list[str] | None,
        typer.Option("--entry", help="with --redate-to: only this entry (repeatable)"),
    ] = None,
) -> None:
    """Post pending journal entries (idempotent on the entry id: safe to run again any time).
    Entries a book refuses (their period is closed there) are listed as blocked; --redate-to
    moves them, and only then."""
    from connector.outbox.drain import drain

    if entry and redate_to is None:
        raise InvalidInput("entry", "names an entry to re-date", "add --redate-to YYYY-MM")
    runtime = open_runtime()
    names = [sink] if sink else list(runtime.settings.journal_sinks)
    trouble = 0
    for name in names:
        target = runtime.sink(name)
        if redate_to is not None:
            trouble += _redate(runtime, target, redate_to, entry or ())
            continue
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
            console.print(f"  [red]{escape(entry_id)}[/red]: {escape(error)}")
        trouble += result.failed + _show_blocked(runtime, name)
    if trouble:
        raise typer.Exit(1)


def _show_blocked(runtime: Runtime, sink: str) -> int:
    """List what the book refused (now or before), with its message; how many."""
    from connector.reconcile.redate import blocked

    with runtime.engine.connect() as conn:
        found = blocked(conn, sink)
    if not found:
        return 0
    table = Table(title=f"{sink}: {len(found)} blocked (the book refused them)")
    for column in ("entry", "period", "message"):
        table.add_column(column)
    for waiting in found[:SHOWN]:
        table.add_row(waiting.entry_id, waiting.period, waiting.message)
    console.print(table)
    periods = sorted({w.period for w in found})
    console.print(
        f"re-date them into an open period with: creditsync post --sink {sink} "
        f"--redate-to YYYY-MM (blocked periods: {', '.join(periods)})"
    )
    return len(found)


def _redate(runtime: Runtime, target: JournalSink, period: str, only: Sequence[str]) -> int:
    from connector.reconcile.redate import redate

    today = utcnow().astimezone(runtime.settings.tz).date()
    moved = redate(runtime.engine, target, period, today, only=only)
    if not moved:
        console.print(f"{target.name}: nothing blocked to re-date")
        return 0
    table = Table(title=f"{target.name}: re-dated into {period}")
    for column in ("entry", "re-posted as", "date", "outcome"):
        table.add_column(column)
    for each in moved:
        outcome = (
            f"posted as {each.sink_id}"
            if each.sink_id
            else ("blocked: " if each.blocked else "failed: ") + (each.error or "")
        )
        table.add_row(each.original_id, each.entry.id, each.entry.entry_date.isoformat(), outcome)
    console.print(table)
    return sum(1 for each in moved if each.sink_id is None)


def _emit(report: Report, fmt: str, output: Path | None) -> None:
    from connector.reports.render import write  # openpyxl: only when a report is written

    write(report, fmt, output, console)
    if output is not None:
        console.print(f"wrote {output}", style="dim")


SinceOption = Annotated[str | None, typer.Option("--since", help="first period, YYYY-MM")]
UntilOption = Annotated[str | None, typer.Option("--until", help="last period, YYYY-MM")]
CurrencyOption = Annotated[str | None, typer.Option("--currency", help="one currency, e.g. USD")]
EntityOption = Annotated[str | None, typer.Option("--entity", help="one entity of the mappings")]


def _deferred_account(runtime: Runtime) -> GLAccountOf:
    """A pool's deferred-revenue GL account, code and name, from the mapping it was made under."""

    def gl_account(version: str | None, code: str, owner: str | None) -> tuple[str, str | None]:
        accounts = runtime.gl_accounts(version, code, owner)
        return accounts.deferred_revenue, accounts.name_of(accounts.deferred_revenue)

    return gl_account


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
    group_by: Annotated[
        str,
        typer.Option("--group-by", help="currency, or gl: one row per deferred-revenue account"),
    ] = "currency",
) -> None:
    """Deferred revenue rollforward per period and currency, reconciled to the pools."""
    from connector.reports.rollforward import Filters, compact, rollforward

    if group_by not in ("currency", "gl"):
        raise InvalidInput("--group-by", f"unknown grouping {group_by!r}", "currency or gl")
    filters = Filters(since=since, until=until, currency=currency, entity=entity)
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        report = rollforward(
            conn,
            runtime.settings.timezone,
            filters,
            _deferred_account(runtime),
            by_gl_account=group_by == "gl",
        )
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
    from connector.reports.waterfall import chart, waterfall  # matplotlib: only for this report

    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        report = waterfall(conn, currency, runtime.mappings.current.gl_accounts)
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
    from connector.reports.liability import liability

    moment: datetime = instant_option(at, "--at") or utcnow()
    runtime = open_runtime()
    with runtime.engine.connect() as conn:
        report = liability(
            conn, moment, _deferred_account(runtime), currency=currency, entity=entity
        )
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
    from connector.reports.deferred import deferred_by_customer

    runtime = open_runtime()
    moment = (
        end_of(parse_period(period), zone(runtime.settings.timezone))
        if period
        else instant_option(at, "--at") or utcnow()
    )
    with runtime.engine.connect() as conn:
        report = deferred_by_customer(
            conn, moment, _deferred_account(runtime), currency=currency, entity=entity
        )
    _emit(report, fmt, output)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("recognize")(recognize_cmd)
    app.command("post")(post_cmd)
    app.add_typer(periods_app, name="periods")
    app.add_typer(report_app, name="report")
