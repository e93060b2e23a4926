"""Concurrent burns as production sends them, beside a raw-SQL baseline at the same concurrency.

    python -m bench.burn_load [--callers 16] [--burns 4000] [--database-url URL] [--http]

C callers burn over 1,000 accounts (and, as the hot-account case, all over 10 accounts):
in process through the group-commit writer the burn API uses, and (``--http``) over HTTP against
``creditsync serve --workers 2`` with keep-alive clients. The baseline writes the same rows (burn,
ledger entry, pool counter) with plain DB-API calls, one transaction per burn, from C threads.
Reported: burns/s, p50/p99/max latency, and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine

from bench.burns import baseline_sql, burn, seed
from bench.databases import fresh_engine
from bench.webhooks import free_port
from connector.ledger.group_commit import GroupCommitSettings, GroupCommitter
from connector.ledger.models import BurnRequest
from connector.ledger.service import Ledger
from connector.store.engine import make_engine

TOKEN = "bench-token-0123456789abcdefghij"


@dataclass(frozen=True)
class Run:
    label: str
    burns: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.burns / self.seconds

    def ms(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000

    @property
    def worst(self) -> float:
        return max(self.latencies) * 1000


def work(callers: int, per_caller: int, n_accounts: int, tag: str) -> list[list[BurnRequest]]:
    return [
        [burn((c * per_caller + i) % n_accounts, f"{tag}-{c}-{i}", i) for i in range(per_caller)]
        for c in range(callers)
    ]


def drive(
    label: str, batches: list[list[BurnRequest]], one: Callable[[BurnRequest], object]
) -> Run:
    """Each caller sends its burns one after another; all callers at once."""
    latencies: list[float] = []
    lock = threading.Lock()

    def caller(reqs: list[BurnRequest]) -> None:
        mine = []
        for req in reqs:
            t = time.perf_counter()
            one(req)
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)

    start = time.perf_counter()
    with ThreadPoolExecutor(len(batches)) as pool:
        list(pool.map(caller, batches))
    elapsed = time.perf_counter() - start
    return Run(label, sum(len(b) for b in batches), elapsed, latencies)


def in_process(engine: Engine, batches: list[list[BurnRequest]], label: str, writers: int) -> Run:
    writer = GroupCommitter(Ledger(engine), GroupCommitSettings(writers=writers))
    try:
        return drive(label, batches, writer.burn)
    finally:
        writer.close()


def raw_baseline(engine: Engine, batches: list[list[BurnRequest]], label: str) -> Run:
    """One transaction per burn through the DB-API driver, one connection per caller."""
    dialect = engine.dialect.name
    sql = baseline_sql(engine)
    local = threading.local()
    connections = make_engine(
        engine.url.render_as_string(hide_password=False), pool_size=len(batches) + 2
    )

    def one(req: BurnRequest) -> None:
        raw = getattr(local, "raw", None)
        if raw is None:
            raw = local.raw = connections.raw_connection()
        cursor = raw.cursor()
        now = datetime.now(UTC)
        stamp: object = req.occurred_at.isoformat() if dialect == "sqlite" else req.occurred_at
        recorded: object = now.isoformat() if dialect == "sqlite" else now
        if dialect == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(
            sql.insert_burn,
            (
                req.account_id,
                req.idempotency_key,
                "query",
                1,
                1,
                0,
                sql.rate_id,
                stamp,
                recorded,
                "x",
            ),
        )
        row = cursor.fetchone()
        assert row is not None
        burn_id = row[0]
        pool_id = sql.pool_of[req.account_id]
        cursor.execute(
            sql.insert_entry,
            (pool_id, req.account_id, "burn", -1, burn_id, str(burn_id), stamp, recorded),
        )
        cursor.execute(sql.update_pool, (pool_id,))
        raw.commit()

    try:
        return drive(label, batches, one)
    finally:
        connections.dispose()


def over_http(url: str, batches: list[list[BurnRequest]], label: str, workers: int) -> Run:
    port = free_port()
    env = {
        **os.environ,
        "CREDITSYNC_DATABASE_URL": url,
        "CREDITSYNC_API_TOKENS": f'[{{"name": "bench", "token": "{TOKEN}", "scopes": ["burn"]}}]',
        "CREDITSYNC_SCHEDULE__ENABLED": "false",
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("creditsync")),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-scheduler",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start within 60 s")
        local = threading.local()

        def one(req: BurnRequest) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}
                )
            answer = client.post(
                "/v1/burns",
                json={
                    "account_id": req.account_id,
                    "action": req.action,
                    "units": req.units,
                    "occurred_at": req.occurred_at.isoformat(),
                },
                headers={"Idempotency-Key": req.idempotency_key},
            )
            answer.raise_for_status()

        return drive(label, batches, one)
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(title: str, ours: Run, base: Run) -> None:
    print(f"\n{title}")
    print(f"{'':26}{'burns/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'ratio':>8}")
    for run in (ours, base):
        ratio = f"{run.rate / base.rate:>8.2f}x" if run is ours else ""
        print(
            f"{run.label:26}{run.rate:>9.0f}{run.ms(50):>9.2f}{run.ms(99):>9.2f}"
            f"{run.worst:>9.1f}{ratio}"
        )


def bench(
    url: str | None, callers: int, burns: int, http: bool, writers: int, folder: Path
) -> None:
    label = "SQLite" if url is None else "PostgreSQL"
    per_caller = burns // callers
    for case, n_accounts in (("1,000 accounts", 1000), ("hot: 10 accounts", 10)):
        runs: dict[str, Run] = {}
        for name in ("creditsync", "baseline", "http"):
            if name == "http" and (not http or url is None):
                continue
            engine = fresh_engine(url, folder, f"load_{name}")
            seed(engine, n_accounts, credits=burns)
            batches = work(callers, per_caller, n_accounts, name)
            if name == "creditsync":
                runs[name] = in_process(engine, batches, "creditsync, in process", writers)
            elif name == "baseline":
                runs[name] = raw_baseline(engine, batches, "raw SQL, 1 txn per burn")
            else:
                served = engine.url.render_as_string(hide_password=False)
                runs[name] = over_http(served, batches, "creditsync, HTTP 2 workers", 2)
            engine.dispose()
        title = f"{label}, {callers} concurrent callers, {case}, {callers * per_caller} burns"
        report(title, runs["creditsync"], runs["baseline"])
        if "http" in runs:
            http_run = runs["http"]
            print(
                f"{http_run.label:26}{http_run.rate:>9.0f}{http_run.ms(50):>9.2f}"
                f"{http_run.ms(99):>9.2f}{http_run.worst:>9.1f}"
                f"{http_run.rate / runs['creditsync'].rate:>8.2f}x of in process"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--burns", type=int, default=4000)
    parser.add_argument("--writers", type=int, default=GroupCommitSettings().writers)
    parser.add_argument("--http", action="store_true", help="also over HTTP (PostgreSQL only)")
    parser.add_argument(
        "--database-url",
        action="append",
        default=None,
        help="PostgreSQL URL to bench beside SQLite (repeatable)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for url in [None, *(args.database_url or [])]:
            bench(url, args.callers, args.burns, args.http, args.writers, Path(folder))


if __name__ == "__main__":
    main()
