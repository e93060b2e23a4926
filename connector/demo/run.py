"""Run the demo story through the real paths: files-adapter syncs, the burn path, expiry,
recognition, period close, the files journal sink, and the reports finance reads."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from connector.demo.story import MONTHS, RATE_CHANGES, Month, month_bounds, period_name, story
from connector.outbox.drain import drain
from connector.ports import adapter
from connector.recognition.closing import close_period
from connector.recognition.run import recognize
from connector.reconcile.run import reconcile
from connector.runtime import Runtime
from connector.settings import EXAMPLE_MAPPINGS, Settings
from connector.sync.engine import run_sync

Step = Callable[[str, int], None]  # (what is happening, how many steps it took)


@dataclass
class DemoResult:
    folder: Path
    runtime: Runtime
    counts: Counter[str] = field(default_factory=Counter)
    periods: list[str] = field(default_factory=list)
    imports: list[Path] = field(default_factory=list)


def steps_for(customers: int, burns_per_customer: int) -> int:
    """How many progress steps a run takes (each month: import, burns, close; then posting)."""
    return MONTHS * 3 + 2


def run_demo(
    folder: Path,
    customers: int = 24,
    burns_per_customer: int = 40,
    step: Step | None = None,
) -> DemoResult:
    """A fresh database in ``folder``, then a year of business month by month.

    Paths are made absolute, so that the settings the demo prints work from any directory."""
    folder = folder.resolve()
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "imports").mkdir(parents=True)
    settings = Settings(
        database_url=f"sqlite:///{folder / 'creditsync.db'}",
        mapping_paths=[EXAMPLE_MAPPINGS],
        output_dir=folder / "out",
        journal_sinks=["files"],
    )
    runtime = Runtime.from_settings(settings)
    result = DemoResult(folder=folder, runtime=runtime)
    advance = step or (lambda _what, _n: None)
    for month_number, action, rate in RATE_CHANGES:
        runtime.ledger.set_rate(action, rate, month_bounds(month_number)[0])
    for month in story(customers, burns_per_customer):
        period = period_name(month.number)
        _import(runtime, month, folder / "imports" / f"{period}.jsonl", result)
        advance(f"{period}: purchases, refunds and disputes imported", 1)
        _burn(runtime, month, result)
        advance(f"{period}: {len(month.burns)} burns", 1)
        result.counts["expired pools"] += len(runtime.ledger.expire(month.end))
        recognize(
            runtime.engine,
            month.end,
            runtime.gl_accounts,
            timezone=settings.timezone,
            sinks=settings.journal_sinks,
        )
        with runtime.engine.begin() as conn:
            close_period(conn, period, settings.timezone)
        result.periods.append(period)
        advance(f"{period}: recognized and closed", 1)
    sinks = [runtime.sink(name) for name in settings.journal_sinks]
    for sink in sinks:
        result.counts["journal entries posted"] += drain(runtime.engine, sink).posted
    advance("journal posted to the files sink", 1)
    for period in result.periods:
        check = reconcile(runtime.engine, sinks, period, runtime.gl_accounts, settings.timezone)
        result.counts["periods reconciled"] += 1
        result.counts["reconciliation differences"] += len(check.differences)
        result.counts["tie-out differences"] += sum(not row.ties for row in check.tie_out)
    advance("every period reconciled against the sink", 1)
    return result


def _import(runtime: Runtime, month: Month, path: Path, result: DemoResult) -> None:
    """Write the month's events as a JSONL export and sync it through the files adapter."""
    path.write_text("".join(json.dumps(e.model_dump(mode="json")) + "\n" for e in month.events))
    result.imports.append(path)
    spec = adapter("files")
    assert spec.source is not None
    summary = run_sync(runtime, f"files:{path.name}", source=spec.source({"path": str(path)}))
    result.counts.update(summary.report.counts)


def _burn(runtime: Runtime, month: Month, result: DemoResult) -> None:
    for start in range(0, len(month.burns), 200):
        for outcome in runtime.ledger.burn_batch(month.burns[start : start + 200]):
            if outcome.result is not None:
                result.counts["burns"] += 1
                result.counts["credits burned"] += outcome.result.credits
            else:
                result.counts["burns refused"] += 1
