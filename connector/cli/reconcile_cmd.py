"""Finance's checks: ``reconcile`` a period against each journal sink (and repair it), and
``rebuild --verify`` everything derived from the stored inputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.cli.common import console, fails_cleanly, get_settings, open_runtime
from connector.errors import InvalidInput
from connector.timeutil import utcnow

if TYPE_CHECKING:  # loaded by the commands that use them (output writes XLSX: openpyxl)
    from connector.rebuild.diff import Mismatch
    from connector.rebuild.verify import RebuildResult
    from connector.reconcile import output
    from connector.reconcile.plan import RepairAction
    from connector.reconcile.run import Reconciliation

SHOWN = 200


def _progress(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _advance(progress: Progress) -> Callable[[int, int], None]:
    task = progress.add_task("work", total=None)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return advance


def _emit(
    result: Reconciliation,
    fmt: output.Format,
    path: Path | None,
    actions: Sequence[RepairAction] = (),
) -> None:
    from connector.reconcile import output

    if fmt is output.Format.XLSX:
        assert path is not None
        written = output.write_xlsx(result, path, actions)
    elif fmt is output.Format.CSV and path is not None:
        written = output.write_csv(result, path)
    elif fmt is output.Format.CSV:
        console.file.write(output.differences_csv(result) + "\n" + output.tie_out_csv(result))
        return
    else:
        if result.differences:
            console.print(output.differences_table(result))
        else:
            sinks = ", ".join(s.sink for s in result.sinks) or "no sink"
            console.print(f"{result.period}: {sinks} hold exactly what creditsync produced")
        console.print(output.tie_out_table(result))
        return
    for each in written:
        console.print(f"wrote {each}", style="dim")


@fails_cleanly
def reconcile_command(
    period: Annotated[str, typer.Option("--period", help="the period to check, YYYY-MM")],
    sink: Annotated[
        list[str] | None,
        typer.Option("--sink", help="a journal sink (repeatable); default: every configured one"),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or xlsx")] = "table",
    path: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write here (CSV also writes <name>-tieout.csv)"),
    ] = None,
    do_repair: Annotated[
        bool, typer.Option("--repair", help="print the plan that repairs the differences")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="carry out the repair plan")] = False,
    keep_unknown: Annotated[
        bool,
        typer.Option("--keep-unknown", help="leave postings creditsync did not make unreversed"),
    ] = False,
) -> None:
    """Compare what each sink holds for a period with creditsync's entries, and tie out the
    deferred revenue. Exit status 1 when anything differs."""
    from connector.reconcile import output
    from connector.reconcile.run import plan_repairs, reconcile, repair

    chosen = output.parse_format(fmt)
    if chosen is output.Format.XLSX and path is None:
        raise InvalidInput("output", "XLSX needs a file", "add --output reconcile.xlsx")
    if yes and not do_repair:
        raise InvalidInput("yes", "confirms a repair, and none was asked for", "add --repair")
    settings = get_settings()
    runtime = open_runtime(settings)
    sinks = [runtime.sink(name) for name in (sink or settings.journal_sinks)]
    if not sinks:
        raise InvalidInput("sink", "no journal sink configured", "pass --sink files")
    result = reconcile(runtime.engine, sinks, period, runtime.gl_accounts, settings.timezone)
    if not do_repair:
        _emit(result, chosen, path)
        raise typer.Exit(0 if result.clean else 1)
    today = utcnow().astimezone(settings.tz).date()
    actions = plan_repairs(runtime.engine, result, sinks, today, keep_unknown=keep_unknown)
    _emit(result, chosen, path, actions)
    if not actions:
        console.print("nothing to repair")
        raise typer.Exit(0 if result.clean else 1)
    console.print(output.plan_table(actions))
    if not yes:
        console.print("plan only: nothing was posted. Run again with --yes to carry it out.")
        raise typer.Exit(1)
    with _progress("repairing") as progress:
        outcome = repair(runtime.engine, sinks, actions, progress=_advance(progress))
    console.print(
        f"repair: {len(outcome.posted)} entries posted, {len(outcome.failed)} failed, "
        f"{len(outcome.left)} left for review"
    )
    for action, error in outcome.failed:
        entry_id = action.entry.id if action.entry else ""
        console.print(f"  [red]{entry_id}[/red]: {error}")
    after = reconcile(
        runtime.engine,
        [runtime.sink(name) for name in (sink or settings.journal_sinks)],
        period,
        runtime.gl_accounts,
        settings.timezone,
    )
    console.print("after the repair:")
    _emit(after, output.Format.TABLE, None)
    raise typer.Exit(0 if after.clean else 1)


def _mismatch_table(mismatches: Sequence[Mismatch]) -> Table:
    table = Table(title="live database vs rebuild")
    for column in ("what", "key", "field", "live", "rebuilt"):
        table.add_column(column)
    for m in mismatches[:SHOWN]:
        table.add_row(m.what, m.key, m.field or "(row)", m.live, m.rebuilt)
    return table


def _report(result: RebuildResult) -> None:
    counted = ", ".join(f"{n} {what}" for what, n in result.compared.items())
    if result.skipped:
        console.print(f"{result.skipped} purchases left out: open exceptions in the live database")
    for error in result.errors[:SHOWN]:
        console.print(f"[red]replay:[/red] {error}")
    if result.mismatches:
        console.print(_mismatch_table(result.mismatches))
        if len(result.mismatches) > SHOWN:
            console.print(f"... and {len(result.mismatches) - SHOWN} more")
    if result.verified:
        console.print(f"rebuild verified: {counted} match ({result.steps} steps replayed)")
    else:
        console.print(
            f"[red]rebuild differs[/red]: {len(result.mismatches)} differences, "
            f"{len(result.errors)} steps not replayed (compared {counted})"
        )


@fails_cleanly
def rebuild_command(
    verify: Annotated[
        bool, typer.Option("--verify", help="diff the rebuild against the live database")
    ] = False,
    scratch: Annotated[
        Path | None,
        typer.Option("--scratch", help="keep the scratch SQLite database at this path"),
    ] = None,
) -> None:
    """Recompute every pool, burn allocation and journal entry from the stored events and burns
    into a scratch database; with --verify, any difference from the live one is printed (and
    the exit status is 1). The live database is only read."""
    from connector.rebuild.verify import rebuild

    if not verify and scratch is None:
        raise InvalidInput(
            "verify",
            "a rebuild only writes a scratch database",
            "add --verify to compare it with the live one, or --scratch PATH to keep it",
        )
    settings = get_settings()
    runtime = open_runtime(settings)
    with _progress("replaying") as progress:
        result = rebuild(
            runtime.engine,
            current=runtime.mappings.current,
            gl=runtime.gl_accounts,
            plans=runtime.plan_policy,
            timezone=settings.timezone,
            keep=scratch,
            progress=_advance(progress),
        )
    if scratch is not None:
        console.print(f"scratch database: {scratch}", style="dim")
    if not verify:
        console.print(f"rebuilt {result.steps} steps")
        return
    _report(result)
    if not result.verified:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``reconcile`` and ``rebuild`` to ``app``."""
    app.command("reconcile")(reconcile_command)
    app.command("rebuild")(rebuild_command)
