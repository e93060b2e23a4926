"""Sync commands: run a sync now, list runs, list and retry exceptions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.cli.common import console, fails_cleanly, open_runtime
from connector.errors import InvalidInput

if TYPE_CHECKING:  # the sync engine and the adapters load when a command uses them
    from connector.ports import PurchaseSource
    from connector.runtime import Runtime
    from connector.sync.engine import RunSummary


def summary_table(summary: RunSummary) -> Table:
    table = Table(title=f"run {summary.run_id} of {summary.connection}: {summary.status}")
    table.add_column("event")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for key, count in sorted(summary.report.counts.items()):
        kind, outcome = key.split(".", 1)
        table.add_row(kind, outcome, str(count))
    table.add_row("pools", "created", str(summary.report.pools_created), style="bold")
    return table


def connection_source(runtime: Runtime, name: str) -> PurchaseSource:
    """The purchase source of a configured connection; settings its adapter refuses are a
    configuration mistake, named by their place in the settings."""
    from connector.settings import InvalidSetting

    try:
        return runtime.source(name)
    except InvalidInput as exc:
        place = "platform" if exc.field == "platform" else f"settings.{exc.field}"
        raise InvalidSetting(f"connections.{name}.{place}", exc.problem, exc.fix) from None


@fails_cleanly
def sync_command(
    connection: Annotated[
        str | None, typer.Argument(help="a configured connection; omit with --platform files")
    ] = None,
    platform: Annotated[
        str | None, typer.Option(help="ad hoc source without a configured connection: files")
    ] = None,
    path: Annotated[
        Path | None, typer.Option(help="the file to import, with --platform files")
    ] = None,
) -> None:
    """Run one sync now: pull what changed, apply it, and show what happened."""
    from connector.ports import adapter
    from connector.sync.engine import run_sync

    runtime = open_runtime()
    if platform is not None:
        if path is None:
            raise InvalidInput("--path", "is required with --platform", "name the file to import")
        spec = adapter(platform)
        if spec.source is None:
            raise InvalidInput("--platform", f"{platform} cannot be a purchase source")
        if not path.exists():
            raise InvalidInput("--path", f"{path} does not exist")
        source = spec.source({"path": str(path)})
        name = f"{platform}:{path.resolve()}"
    elif connection is not None:
        source, name = connection_source(runtime, connection), connection
    else:
        raise InvalidInput("connection", "is missing", "name a connection or use --platform/--path")
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} objects"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"syncing {name}", total=None)
        summary = run_sync(
            runtime, name, source=source, progress=lambda n: progress.advance(task, n)
        )
    console.print(summary_table(summary))
    if summary.report.exceptions:
        console.print(f"{summary.report.exceptions} events need attention: `creditsync exceptions`")


@fails_cleanly
def runs_command(
    limit: Annotated[int, typer.Option(min=1, help="how many, newest first")] = 20,
    connection: Annotated[str | None, typer.Option(help="only this connection")] = None,
) -> None:
    """Recorded sync runs with their counts and errors."""
    from connector.sync.engine import list_runs

    table = Table(title="sync runs")
    for column in ("run", "connection", "trigger", "status", "started", "took", "counts", "error"):
        table.add_column(column)
    for run in list_runs(open_runtime().engine, limit, connection):
        took = f"{(run.ended_at - run.started_at).total_seconds():.1f}s" if run.ended_at else ""
        counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()) if v)
        table.add_row(
            str(run.id),
            run.connection,
            run.trigger,
            run.status,
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            took,
            counts,
            escape(run.error or ""),
        )
    console.print(table)


@fails_cleanly
def exceptions_command(
    show_all: Annotated[bool, typer.Option("--all", help="resolved ones too")] = False,
    retry: Annotated[bool, typer.Option(help="apply the open ones again (after a fix)")] = False,
) -> None:
    """Events that could not be applied (unmapped item, unknown currency, orphan refund)."""
    from connector.sync.exceptions import list_exceptions, retry_exceptions

    runtime = open_runtime()
    if retry:
        report = retry_exceptions(runtime.engine, runtime.mappings.current)
        console.print(
            f"retried {report.tried}: {report.resolved} applied, {report.still_open} still open"
        )
    records = list_exceptions(runtime.engine, None if show_all else "open")
    table = Table(title=f"{len(records)} exceptions")
    for column in ("id", "connection", "event", "source", "reason", "status", "seen"):
        table.add_column(column)
    for r in records:
        table.add_row(
            str(r.id),
            r.connection,
            r.event_kind,
            r.source_key,
            escape(f"[{r.reason_code}] {r.reason}"),
            r.status,
            f"{r.attempts}x, last {r.last_seen:%Y-%m-%d %H:%M}",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)
    app.command("runs")(runs_command)
    app.command("exceptions")(exceptions_command)
