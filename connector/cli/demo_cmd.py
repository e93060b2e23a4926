"""``creditsync demo``: the main job end to end on embedded defaults, no credentials."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connector.cli.common import console, fails_cleanly

if TYPE_CHECKING:  # the demo, its reports and their chart library load when the demo runs
    from connector.demo.run import DemoResult

DEFAULT_FOLDER = Path(".creditsync/demo")


def finish(result: DemoResult) -> Path:
    """Print the rollforward and what happened; write the waterfall chart; return its path."""
    from connector.reports.render import tables as report_tables
    from connector.reports.rollforward import compact, rollforward
    from connector.reports.waterfall import chart, waterfall

    runtime = result.runtime
    with runtime.engine.connect() as conn:
        roll = rollforward(conn, runtime.settings.timezone)
        png = chart(waterfall(conn), result.folder / "waterfall.png")
    for part in report_tables(compact(roll)):
        console.print(part)
    summary = Table(title="what happened", show_header=False)
    for key, count in sorted(result.counts.items()):
        summary.add_row(key, f"{count:,}")
    console.print(summary)
    violations = runtime.ledger.verify()
    console.print(
        "ledger verified: every pool and burn adds up"
        if not violations
        else f"[red]{len(violations)} ledger violations[/red]"
    )
    return png


@fails_cleanly
def demo_command(
    folder: Annotated[
        Path, typer.Option(help="where the demo's database, imports and outputs go")
    ] = DEFAULT_FOLDER,
    customers: Annotated[int, typer.Option(min=1, help="customers in the story")] = 24,
    burns_per_customer: Annotated[
        int, typer.Option(min=0, help="AI actions per customer and month")
    ] = 40,
) -> None:
    """A generated year of a small AI product's credit sales (and three more months of use), end
    to end on a fresh SQLite database:
    imports through the files adapter, burns at changing rates, refunds, a lost dispute,
    expiry, recognition with both breakage methods, period close, the journal posted to the
    files sink; ends with the rollforward and the waterfall chart."""
    from connector.demo.run import run_demo, steps_for

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=steps_for(customers, burns_per_customer))

        def step(what: str, n: int) -> None:
            progress.update(task, description=what, advance=n)

        result = run_demo(folder, customers, burns_per_customer, step)
    png = finish(result)
    journal = result.runtime.settings.output_dir / "journal"
    console.print(
        f"\ndatabase      {result.runtime.settings.database_url}\n"
        f"imports       {result.folder / 'imports'} ({len(result.imports)} JSONL files)\n"
        f"journal       {journal} (the files sink)\n"
        f"waterfall     {png}\n"
        f"explore       export CREDITSYNC_DATABASE_URL={result.runtime.settings.database_url}\n"
        f"              export CREDITSYNC_OUTPUT_DIR={result.runtime.settings.output_dir}\n"
        "              creditsync report rollforward"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
