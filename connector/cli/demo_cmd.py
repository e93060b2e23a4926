"""``creditsync demo``: the main job end to end on embedded defaults, no credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from connector.cli.common import console, fails_cleanly
from connector.events import SourceKey
from connector.ledger.models import BurnRequest, GrantRequest, PoolKind
from connector.ledger.service import Ledger
from connector.store.engine import make_engine
from connector.store.migrate import upgrade


@fails_cleanly
def demo_command(
    folder: Annotated[Path, typer.Option(help="where the demo database goes")] = Path(
        ".creditsync/demo"
    ),
) -> None:
    """Run a short ledger story on a fresh SQLite database and print the balances."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "demo.db"
    database.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    ledger = Ledger(engine)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ledger.set_rate("query", "1", start)
    ledger.set_rate("image", "10", start)
    ledger.set_rate("analysis", "50", start)
    for n, (kind, credits, revenue, days) in enumerate(
        [(PoolKind.PAID, 10_000, 10_000, 365), (PoolKind.PROMOTIONAL, 500, 0, 30)]
    ):
        ledger.grant(
            GrantRequest(
                account_id="acme",
                kind=kind,
                credits=credits,
                revenue_amount=revenue,
                currency="USD",
                effective_at=start,
                expires_at=start + timedelta(days=days),
                source=SourceKey(platform="demo", object_id=f"order_{n}", line_id="1"),
            )
        )
    for i, action in enumerate(["query"] * 40 + ["image"] * 20 + ["analysis"] * 5):
        ledger.burn(BurnRequest("acme", f"demo-{i}", action, 3, start + timedelta(days=i % 60)))
    ledger.set_rate("image", "12", start + timedelta(days=60), note="model cost up")
    ledger.burn(BurnRequest("acme", "demo-late", "image", 5, start + timedelta(days=61)))
    lost = ledger.expire(start + timedelta(days=90))
    balance = ledger.balance("acme", start + timedelta(days=90))
    table = Table(title=f"acme: {balance.total} credits left")
    for column in ("pool", "kind", "remaining", "granted", "expires"):
        table.add_column(column)
    for pool in balance.pools:
        table.add_row(
            str(pool.pool_id),
            pool.kind.value,
            str(pool.credits_remaining),
            str(pool.credits_granted),
            f"{pool.expires_at:%Y-%m-%d}" if pool.expires_at else "never",
        )
    console.print(table)
    console.print(f"expired: {sum(e.credits for e in lost)} credits; database: {database}")
    violations = ledger.verify()
    console.print("ledger verified" if not violations else f"{len(violations)} violations")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
