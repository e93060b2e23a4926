"""The ``creditsync`` command line: one Typer app, each group of commands in its own module."""

from __future__ import annotations

import typer

from connector.cli import (
    accounts_cmd,
    demo_cmd,
    ledger_cmd,
    mappings_cmd,
    policy_cmd,
    recognition_cmd,
    reconcile_cmd,
    server_cmd,
    sync_cmd,
)

app = typer.Typer(
    name="creditsync",
    help="Prepaid AI credits: billing platforms in, a credit ledger, revenue recognition out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # click wraps docstring paragraphs to the terminal
)

for module in (
    accounts_cmd,
    demo_cmd,
    ledger_cmd,
    mappings_cmd,
    policy_cmd,
    recognition_cmd,
    reconcile_cmd,
    server_cmd,
    sync_cmd,
):
    module.register(app)


def main() -> None:
    app()
