"""Low-balance policy commands: what the policy recorded, and running its jobs once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from connector.cli.common import console, fails_cleanly, open_engine, open_runtime

if TYPE_CHECKING:  # the jobs' HTTP client loads when they run
    from connector.policy.jobs import PassSummary

policy_app = typer.Typer(
    help="Low-balance policy: alerts, auto-refills and overage billed as usage.",
    no_args_is_help=True,
)

StatusOption = Annotated[str | None, typer.Option("--status", help="only records in this status")]
AccountOption = Annotated[str | None, typer.Option("--account", help="only this account")]
LimitOption = Annotated[int, typer.Option(min=1, help="how many, newest first")]


def _when(value: datetime | None) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}Z"


@policy_app.command("alerts")
@fails_cleanly
def alerts_command(
    status: StatusOption = None, account: AccountOption = None, limit: LimitOption = 50
) -> None:
    """Balance alerts (low balance crossings, failed refills) and whether they went out."""
    from connector.policy import store

    found = store.list_alerts(open_engine(), status, account, limit)
    table = Table(title=f"{len(found)} alerts")
    for column in ("id", "account", "kind", "balance", "threshold", "burn", "status", "raised"):
        table.add_column(column, justify="right" if column in ("balance", "threshold") else "left")
    for a in found:
        table.add_row(
            str(a.id),
            escape(a.account_id),
            a.kind,
            f"{a.balance:,}",
            f"{a.threshold:,}",
            "" if a.burn_id is None else str(a.burn_id),
            a.status,
            _when(a.created_at),
        )
    console.print(table)


@policy_app.command("refills")
@fails_cleanly
def refills_command(
    status: StatusOption = None, account: AccountOption = None, limit: LimitOption = 50
) -> None:
    """Auto-refill requests: pending, charged (with the platform's id) or failed (with why)."""
    from connector.policy import store

    found = store.list_refills(open_engine(), status, account, limit)
    table = Table(title=f"{len(found)} refill requests")
    for column in ("key", "platform", "item", "qty", "balance", "status", "id / error", "tries"):
        table.add_column(column)
    for r in found:
        table.add_row(
            escape(r.key),
            r.platform,
            escape(r.item_id),
            str(r.quantity),
            f"{r.balance:,}",
            r.status,
            escape(r.external_id or r.error or ""),
            str(r.attempts),
        )
    console.print(table)


@policy_app.command("overage")
@fails_cleanly
def overage_command(
    status: StatusOption = None, account: AccountOption = None, limit: LimitOption = 50
) -> None:
    """Overage burned past zero and its report to usage billing."""
    from connector.policy import store

    found = store.list_overage(open_engine(), status, account, limit)
    table = Table(title=f"{len(found)} overage reports")
    for column in ("burn", "account", "credits", "occurred", "platform", "status", "id / error"):
        table.add_column(column, justify="right" if column == "credits" else "left")
    for o in found:
        table.add_row(
            str(o.burn_id),
            escape(o.account_id),
            f"{o.credits:,}",
            _when(o.occurred_at),
            o.platform or "",
            o.status,
            escape(o.external_id or o.error or ""),
        )
    console.print(table)


def summary_table(results: dict[str, PassSummary | None]) -> Table:
    table = Table(title="policy jobs")
    for column in ("job", "done", "retry later", "failed"):
        table.add_column(column, justify="left" if column == "job" else "right")
    for job, summary in results.items():
        if summary is None:
            table.add_row(job, "skipped: running elsewhere", "", "")
        else:
            table.add_row(job, str(summary.done), str(summary.retry), str(summary.failed))
    return table


@policy_app.command("run")
@fails_cleanly
def run_command(
    notify_url: Annotated[
        str | None,
        typer.Option(help="POST alerts as JSON here; default: the notify_url setting, else log"),
    ] = None,
) -> None:
    """Charge pending refills, report pending overage and deliver pending alerts, once."""
    from connector.policy.jobs import run_policy

    runtime = open_runtime()
    url = notify_url or runtime.settings.notify_url
    results = run_policy(runtime, url if isinstance(url, str) and url else None)
    console.print(summary_table(results))
    failed = sum(s.failed for s in results.values() if s is not None)
    if failed:
        console.print(f"{failed} failed: see `creditsync policy refills --status failed` etc.")


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
