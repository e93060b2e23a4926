"""Burn throughput and latency beside a raw-SQL baseline that writes the same rows.

    python -m bench.ledger [--burns N] [--batch N] [--database-url URL ...]

For each database: burns per second one burn per transaction, burns per second in batches, and
p50/p99 latency of single burns; the baseline inserts the same burn and ledger-entry rows and
updates the same pool counters with plain DB-API calls in the same process. The ratio is the
figure that matters (goal: creditsync >= 50 % of the baseline's rows per second).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench.burns import baseline_sql, burn, seed
from bench.databases import fresh_engine, raw_connection
from connector.ledger.models import BurnRequest
from connector.ledger.service import Ledger

ACCOUNTS = 50


def requests(n: int, tag: str) -> list[BurnRequest]:
    return [burn(i % ACCOUNTS, f"{tag}-{i}", i) for i in range(n)]


def timed(work: Callable[[], None]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def creditsync_single(ledger: Ledger, reqs: list[BurnRequest]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for req in reqs:
        t = time.perf_counter()
        ledger.burn(req)
        latencies.append(time.perf_counter() - t)
    return time.perf_counter() - start, latencies


def creditsync_batched(ledger: Ledger, reqs: list[BurnRequest], size: int) -> float:
    def run() -> None:
        for i in range(0, len(reqs), size):
            outcomes = ledger.burn_batch(reqs[i : i + size])
            assert all(o.result is not None for o in outcomes)

    return timed(run)


def baseline(engine: Engine, reqs: list[BurnRequest], size: int) -> tuple[float, list[float]]:
    """The same rows (burn, ledger entry, pool counter) through the raw DB-API driver."""
    raw = raw_connection(engine)
    dialect = engine.dialect.name
    sql = baseline_sql(engine)
    cursor = raw.cursor()
    latencies = []
    start = time.perf_counter()
    for i in range(0, len(reqs), size):
        t = time.perf_counter()
        if dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        for req in reqs[i : i + size]:
            now = datetime.now(UTC)
            stamp: object = (
                req.occurred_at.replace(tzinfo=None) if dialect == "sqlite" else req.occurred_at
            )
            recorded: object = now.replace(tzinfo=None) if dialect == "sqlite" else now
            cursor.execute(
                sql.insert_burn,
                (
                    req.account_id,
                    req.idempotency_key,
                    req.action,
                    1,
                    1,
                    0,
                    sql.rate_id,
                    stamp,
                    recorded,
                    "x",
                ),
            )
            burn_id = _fetch_one(cursor)
            pool_id = sql.pool_of[req.account_id]
            cursor.execute(
                sql.insert_entry,
                (pool_id, req.account_id, "burn", -1, burn_id, str(burn_id), stamp, recorded),
            )
            cursor.execute(sql.update_pool, (pool_id,))
        raw.commit()
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - start
    raw.close()
    return elapsed, latencies


def _fetch_one(cursor: Any) -> object:
    row = cursor.fetchone()
    return row[0]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def bench(url: str | None, n: int, size: int, folder: Path) -> None:
    label = "SQLite" if url is None else "PostgreSQL"
    results = {}
    for name in ("creditsync", "baseline"):
        engine = fresh_engine(url, folder, name)
        ledger = Ledger(engine)
        seed(engine, ACCOUNTS, credits=10 * n)
        if name == "creditsync":
            single, lat = creditsync_single(ledger, requests(n, "s"))
            batched = creditsync_batched(ledger, requests(n, "b"), size)
        else:
            single, lat = baseline(engine, requests(n, "s"), 1)
            batched, _ = baseline(engine, requests(n, "b"), size)
        assert ledger.verify() == [] or name == "baseline"
        results[name] = (n / single, n / batched, pct(lat, 50), pct(lat, 99))
        engine.dispose()
    ours, base = results["creditsync"], results["baseline"]
    print(f"\n{label}: {n} burns, batches of {size}")
    print(f"{'':28}{'creditsync':>12}{'baseline':>12}{'ratio':>8}")
    for i, what in enumerate(("burns/s, 1 per transaction", f"burns/s, batches of {size}")):
        print(f"{what:28}{ours[i]:>12.0f}{base[i]:>12.0f}{ours[i] / base[i]:>8.0%}")
    for i, what in ((2, "p50 latency ms"), (3, "p99 latency ms")):
        print(f"{what:28}{ours[i]:>12.2f}{base[i]:>12.2f}{base[i] / ours[i]:>8.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burns", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument(
        "--database-url",
        action="append",
        help="PostgreSQL URL to bench beside SQLite (repeatable)",
        default=None,
    )
    args = parser.parse_args()
    urls: list[str | None] = [None, *(args.database_url or [])]
    with tempfile.TemporaryDirectory() as folder:
        for url in urls:
            bench(url, args.burns, args.batch, Path(folder))


if __name__ == "__main__":
    main()
