"""A runtime with catalog entries for the refund rules' scenarios, and the checks every
scenario ends with: the ledger verifies, recognition adds up per pool, a rebuild matches."""

from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

from sqlalchemy import func, select

from connector.events import CanonicalEvent, RefundFailed, SourceKey
from connector.ledger.models import BurnRequest
from connector.rebuild.verify import rebuild
from connector.recognition import subledger
from connector.recognition.run import recognize
from connector.recognition.state import FIGURE_NAMES
from connector.recognition.tables import recognition_deltas, recognition_money
from connector.runtime import Runtime
from connector.settings import EXAMPLE_MAPPINGS, Settings
from connector.store.tables import pools
from connector.sync.engine import run_sync
from tests.sync_helpers import ListSource
from tests.test_recognition_properties import check_pools_at

EXTRA_CATALOG = """
[[catalog]]
platform = "files"
item_id = "credits-1200-proportional"
credits = 1_200
kind = "paid"
expiry = "P12M"
breakage = { method = "proportional", rate = "0.25" }
currencies = ["USD"]

[[catalog]]
platform = "files"
item_id = "bundle-free-bonus"
credits = 10_000
bonus_credits = 2_000
bonus_revenue = "no_revenue"
kind = "paid"
expiry = "P12M"
currencies = ["USD"]

[[catalog]]
platform = "files"
item_id = "credits-10"
credits = 10
kind = "paid"
currencies = ["USD"]
"""


_runs = count(1)


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def refund_rules_runtime(db_url: str, tmp_path: Path) -> Runtime:
    folder = tmp_path / "mappings"
    shutil.copytree(EXAMPLE_MAPPINGS, folder)
    (folder / "refund_rules.toml").write_text(EXTRA_CATALOG)
    runtime = Runtime.from_settings(
        Settings(database_url=db_url, mapping_paths=[folder], output_dir=tmp_path / "out")
    )
    runtime.ledger.set_rate("query", "1", at(1, 1, 0))
    return runtime


def sync(runtime: Runtime, *events: CanonicalEvent) -> None:
    """One sync run of ``events`` (each run its own connection: a fresh cursor)."""
    run_sync(runtime, f"files-{next(_runs)}", source=ListSource([list(events)]))


def burn(runtime: Runtime, key: str, credits: int, moment: datetime) -> None:
    runtime.ledger.burn(BurnRequest("acme", key, "query", credits, moment))


def refund_failed(key: str, refund_key: str, target: str, moment: datetime) -> RefundFailed:
    return RefundFailed(
        source=SourceKey(platform="files", object_id=key),
        occurred_at=moment,
        currency="USD",
        refund=SourceKey(platform="files", object_id=refund_key),
        target_object=target,
    )


def credits_left(runtime: Runtime, target: str) -> dict[str, int]:
    """Part (paid / bonus) -> credits remaining, for the pools of one purchase."""
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(pools.c.source_part, pools.c.credits_remaining).where(
                pools.c.source_object == target
            )
        ).all()
    return {part: int(left) for part, left in rows}


def money_events(runtime: Runtime, kind: str) -> list[tuple[int, int, int, int]]:
    """(amount, credits, to_deferred, contra) of each recorded money event of ``kind``."""
    m = recognition_money.c
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(m.amount, m.credits, m.to_deferred, m.contra)
            .where(m.kind == kind)
            .order_by(m.id)
        ).all()
    return [(r.amount, r.credits, r.to_deferred, r.contra) for r in rows]


def assert_consistent(runtime: Runtime, through: datetime) -> None:
    """`creditsync verify`, the per-pool invariant and `rebuild --verify`, after a scenario."""
    recognize(runtime.engine, through, runtime.gl_accounts)
    assert runtime.ledger.verify() == []
    check_pools_at(runtime.engine, through)
    with runtime.engine.connect() as conn:
        d = recognition_deltas.c
        posted: dict[int, dict[str, int]] = defaultdict(dict)
        for pool_id, figure, amount in conn.execute(
            select(d.pool_id, d.figure, func.sum(d.amount)).group_by(d.pool_id, d.figure)
        ):
            posted[pool_id][figure] = int(amount)
        for info, (position,) in subledger.positions(conn, [through]):
            journal_side = {name: posted[info.id].get(name, 0) for name in FIGURE_NAMES}
            assert journal_side == position.figures._asdict(), f"pool {info.id}"
    result = rebuild(
        runtime.engine,
        current=runtime.mappings.current,
        gl=runtime.gl_accounts,
        plans=runtime.plan_policy,
    )
    assert result.errors == []
    assert result.mismatches == []
    assert result.verified


def figures_at(runtime: Runtime, target: str, moment: datetime) -> dict[str, int]:
    """The paid pool of ``target``: its money figures and deferred balance at ``moment``."""
    with runtime.engine.connect() as conn:
        for info, (position,) in subledger.positions(conn, [moment]):
            if info.source_key.split(":")[1] == target and info.kind.value != "bonus":
                return {**position.figures._asdict(), "deferred": position.deferred}
    raise AssertionError(f"no pool with revenue for {target}")
