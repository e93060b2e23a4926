"""Mapping commands: check mapping files before they go live, and show the effective catalog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector.cli.common import console, fails_cleanly, get_settings

if TYPE_CHECKING:  # the mapping model loads when a command reads mapping files
    from mappings.loader import CheckResult
    from mappings.model import MappingSet

mappings_app = typer.Typer(
    help="Mapping files: catalog items to credit pools, pools to GL accounts.",
    no_args_is_help=True,
)

PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="mapping TOML files or folders of them; default: the configured mapping paths",
        show_default=False,
    ),
]


def _checked(files: list[Path] | None) -> CheckResult:
    """Check the files, printing every problem (plain text: messages quote TOML [tables])."""
    from mappings.loader import check

    result = check(files or get_settings().mapping_paths)
    for error in result.errors:
        console.print(str(error), markup=False, highlight=False, soft_wrap=True)
    if result.errors:
        console.print(
            f"{len(result.errors)} problem(s) in {len(result.files)} file(s)",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1)
    return result


def summary(result: CheckResult) -> str:
    mappings = result.mappings
    assert mappings is not None
    platforms = Counter(entry.platform for entry in mappings.catalog)
    by_platform = ", ".join(f"{name} {count}" for name, count in sorted(platforms.items()))
    default = " + default" if mappings.gl_default else ""
    return (
        f"ok: {len(result.files)} file(s), {len(mappings.catalog)} catalog entries"
        f" ({by_platform or 'none'}), {len(mappings.gl)} GL rule(s){default},"
        f" {len(mappings.plans)} plan(s); version {mappings.version[:12]}"
    )


@mappings_app.command("check")
@fails_cleanly
def check_command(files: PathsArgument = None) -> None:
    """Validate mapping files; print every problem with its file, entry and field."""
    console.print(summary(_checked(files)), markup=False, highlight=False, soft_wrap=True)


def catalog_table(mappings: MappingSet) -> Table:
    table = Table(title=f"catalog (mapping version {mappings.version[:12]})")
    for column in ("platform", "item", "name", "credits / unit", "kind", "expiry", "priority"):
        table.add_column(
            column,
            justify="right" if column in ("credits / unit", "priority") else "left",
            no_wrap=column != "name",
            min_width=16 if column == "name" else None,
        )
    for column in ("bonus revenue", "breakage", "currencies", "entity", "plan"):
        table.add_column(column, no_wrap=True)
    for entry in sorted(mappings.catalog, key=lambda e: e.key):
        breakage = mappings.breakage_for(entry)
        credits = f"{entry.credits:,}"
        if entry.bonus_credits:
            credits += f" + {entry.bonus_credits:,} bonus"
        cells = (
            entry.platform,
            entry.item_id,
            entry.name,
            credits,
            entry.kind.value,
            entry.expiry,
            str(entry.priority),
            entry.bonus_revenue.value if entry.bonus_credits else "",
            breakage.method.value + (f" {breakage.rate}" if breakage.rate != "0" else ""),
            " ".join(entry.currencies),
            entry.entity or "",
            entry.plan or mappings.defaults.plan or "",
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: names are data, not markup
    return table


@mappings_app.command("show")
@fails_cleanly
def show_command(files: PathsArgument = None) -> None:
    """Print the effective catalog: every item, what it grants and how its revenue is treated."""
    result = _checked(files)
    assert result.mappings is not None
    # piped output (a file, grep) gets whole rows rather than the 80 columns of no terminal
    out = console if console.is_terminal else Console(width=max(console.width, 240))
    out.print(catalog_table(result.mappings))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(mappings_app, name="mappings")
