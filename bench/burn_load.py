"""Concurrent burns as production sends them, beside a raw-SQL baseline at the same concurrency.

    python -m bench.burn_load [--callers 16] [--burns 4000] [--rounds 3] [--database-url URL]
                              [--http]

C callers burn over 1,000 accounts (and, as the hot-account case, all over 10 accounts):
in process through the group-commit writer the burn API uses, and (``--http``) over HTTP against
``creditsync serve --workers 2``. The baseline writes the same rows (burn, ledger entry, pool
counter) with plain DB-API calls, one transaction per burn, from C threads. The two sides take
turns, round after round, so that a machine whose speed drifts weighs on both alike. Reported:
burns/s over all rounds, p50/p99/max latency (of the slowest round), and the ratio to the
baseline: the median of the rounds' own ratios, each of which is printed too. Beside them, the
CPU a burn cost this process and the rest of the machine (the database, chiefly), and how busy
the cores were: which side is bound by CPU, and which by waiting.

Over HTTP the load comes from ``wrk`` (C keep-alive connections, each sending its next burn when
the last is answered) when it is installed, so that the client costs the two cores next to
nothing; without it, from C Python threads with httpx, which cost about as much as the server.
The maximum rate is followed by a paced run at half of it, where the p99 is what a caller sees
in normal operation (each latency counted from the moment the burn was due, so a stall delays
every burn queued behind it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from bench.burns import baseline_sql, burn, seed
from bench.databases import fresh_engine, raw_connection
from bench.webhooks import HOST, free_port, send_paced, stop_server, wait_ready
from connector.ledger.group_commit import GroupCommitSettings, GroupCommitter
from connector.ledger.models import BurnRequest
from connector.ledger.service import Ledger
from connector.store.engine import make_engine

TOKEN = "bench-token-0123456789abcdefghij"


WRK_SCRIPT = Path(__file__).with_name("wrk_burns.lua")
HTTP_SECONDS = 10


@dataclass(frozen=True)
class Cpu:
    """CPU seconds spent while a run ran: by this process (the callers, and creditsync's writer
    or the baseline's connections), and by everything else on the machine (the database,
    chiefly). Linux only: elsewhere the report leaves the columns empty."""

    process: float
    others: float

    @staticmethod
    def now() -> tuple[float, float] | None:
        """(this process's CPU seconds, the whole machine's busy CPU seconds)."""
        try:
            with open("/proc/stat") as stat:
                jiffies = [int(part) for part in stat.readline().split()[1:]]
        except OSError:
            return None
        idle = jiffies[3] + jiffies[4]  # idle, iowait
        used = os.times()
        return used.user + used.system, (sum(jiffies) - idle) / os.sysconf("SC_CLK_TCK")

    @classmethod
    def since(cls, start: tuple[float, float] | None) -> Cpu | None:
        end = cls.now()
        if start is None or end is None:
            return None
        process = end[0] - start[0]
        return cls(process, max(0.0, end[1] - start[1] - process))


@dataclass(frozen=True)
class Run:
    label: str
    burns: int
    seconds: float
    p50: float  # milliseconds
    p99: float
    worst: float
    cpu: Cpu | None = None

    @classmethod
    def timed(
        cls, label: str, burns: int, seconds: float, latencies: list[float], cpu: Cpu | None = None
    ) -> Run:
        cuts = statistics.quantiles(latencies, n=100)
        worst = max(latencies) * 1000
        return cls(label, burns, seconds, cuts[49] * 1000, cuts[98] * 1000, worst, cpu)

    @classmethod
    def pooled(cls, runs: list[Run]) -> Run:
        """Several runs as one: burns, seconds and CPU summed; latencies those of the slowest
        round (each run keeps its quantiles, not its samples)."""
        cpus = [r.cpu for r in runs if r.cpu is not None]
        return cls(
            runs[0].label,
            sum(r.burns for r in runs),
            sum(r.seconds for r in runs),
            max(r.p50 for r in runs),
            max(r.p99 for r in runs),
            max(r.worst for r in runs),
            Cpu(sum(c.process for c in cpus), sum(c.others for c in cpus))
            if len(cpus) == len(runs)
            else None,
        )

    @property
    def rate(self) -> float:
        return self.burns / self.seconds

    def cpu_columns(self) -> str:
        """Microseconds of CPU a burn, this process's and the rest's, and how busy the machine
        was (100 % per core): a side that leaves the cores idle waits on round trips and
        locks, not on CPU."""
        if self.cpu is None:
            return ""
        per_burn = 1e6 / self.burns
        busy = (self.cpu.process + self.cpu.others) / self.seconds * 100
        return (
            f"{self.cpu.process * per_burn:>18.0f}{self.cpu.others * per_burn:>6.0f}{busy:>6.0f}%"
        )


def work(callers: int, per_caller: int, n_accounts: int, tag: str) -> list[list[BurnRequest]]:
    """Each caller's burns, on accounts drawn at random (the same for the same ``tag``), so that
    the burns in flight at one moment fall on accounts as production's do: mostly different
    ones over 1,000 accounts, a few callers sharing each of 10 hot ones."""
    draw = random.Random(tag)
    return [
        [burn(draw.randrange(n_accounts), f"{tag}-{c}-{i}", i) for i in range(per_caller)]
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

    cpu = Cpu.now()
    start = time.perf_counter()
    with ThreadPoolExecutor(len(batches)) as pool:
        list(pool.map(caller, batches))
    elapsed = time.perf_counter() - start
    return Run.timed(label, sum(len(b) for b in batches), elapsed, latencies, Cpu.since(cpu))


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
    opened: list[Any] = []
    pool = make_engine(  # SQLite's connections come from it, one per caller
        engine.url.render_as_string(hide_password=False), pool_size=len(batches) + 2
    )

    def one(req: BurnRequest) -> None:
        raw = getattr(local, "raw", None)
        if raw is None:
            raw = local.raw = raw_connection(pool)
            opened.append(raw)
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
        for raw in opened:
            raw.close()
        pool.dispose()


@contextmanager
def serving(url: str, workers: int) -> Iterator[str]:
    """``creditsync serve --workers N`` on a free port, burn token set; yields its base URL."""
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
            "--host",
            HOST,
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
    base = f"http://{HOST}:{port}"
    try:
        wait_ready(server, base, seconds=60)  # two workers on a loaded host take a while
        yield base
    finally:
        stop_server(server)


def _burn_json(req: BurnRequest) -> dict[str, object]:
    return {
        "account_id": req.account_id,
        "action": req.action,
        "units": req.units,
        "occurred_at": req.occurred_at.isoformat(),
    }


def http_most(base: str, callers: int, n_accounts: int, tag: str, label: str) -> Run:
    """The most burns/s C connections get, each sending its next burn when the last is
    answered: from wrk when installed, else from Python threads."""
    wrk = shutil.which("wrk")
    if wrk is None:
        batches = work(callers, HTTP_SECONDS * 100, n_accounts, tag)
        local = threading.local()

        def one(req: BurnRequest) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}
                )
            headers = {"Idempotency-Key": req.idempotency_key}
            client.post("/v1/burns", json=_burn_json(req), headers=headers).raise_for_status()

        return drive(f"{label} (Python clients)", batches, one)
    threads = str(min(callers, 2))
    argv = [wrk, "-t", threads, "-c", str(callers), "-d", f"{HTTP_SECONDS}s", "--latency"]
    argv += ["-s", str(WRK_SCRIPT), base, "--", tag, TOKEN, str(n_accounts)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    line = next(row for row in done.stdout.splitlines() if row.startswith("RESULT "))
    burns, refused, micros, p50, p99, worst = (float(part) for part in line.split()[1:])
    if refused:
        raise SystemExit(f"{int(refused)} of {int(burns)} burns were not answered 200")
    return Run(f"{label} (wrk)", int(burns), micros / 1e6, p50 / 1000, p99 / 1000, worst / 1000)


def http_paced(base: str, rate: float, n_accounts: int, tag: str, label: str) -> Run:
    """Burns sent at ``rate`` per second whatever the answers do, from a loopback client that
    costs next to nothing; each latency counted from the moment its burn was due."""
    count = max(int(rate * HTTP_SECONDS), 100)
    items = []
    for i in range(count):
        req = burn(i % n_accounts, f"{tag}-{i}", i % 86_400)
        headers = {
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/json",
            "Idempotency-Key": req.idempotency_key,
        }
        items.append((json.dumps(_burn_json(req)).encode(), headers))
    latencies, statuses, elapsed = asyncio.run(send_paced(base, items, rate, path="/v1/burns"))
    if set(statuses) != {200}:
        raise SystemExit(f"burns not answered 200: {dict(statuses)}")
    return Run.timed(label, count, elapsed, latencies)


def line(run: Run, ratio: str = "") -> None:
    print(
        f"{run.label:34}{run.rate:>9.0f}{run.p50:>9.2f}{run.p99:>9.2f}{run.worst:>9.1f}"
        f"{ratio:>9}{run.cpu_columns()}"
    )


def report(title: str, ours: list[Run], theirs: list[Run]) -> None:
    """Both sides over all rounds, and the ratio: the median of the rounds' own ratios. Then
    the CPU each burn cost this process and the rest of the machine, and how busy the cores
    were (see ``Run.cpu_columns``)."""
    ratios = [mine.rate / raw.rate for mine, raw in zip(ours, theirs, strict=True)]
    print(f"\n{title}")
    print(
        f"{'':34}{'burns/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'ratio':>9}"
        f"{'CPU us/burn: here':>18}{'else':>6}{'busy':>7}"
    )
    line(Run.pooled(ours), f"{statistics.median(ratios):.2f}x")
    line(Run.pooled(theirs))
    print(f"{'ratio in each round':34}{'  '.join(f'{r:.2f}x' for r in ratios)}")


def bench(
    url: str | None, callers: int, burns: int, http: bool, writers: int, rounds: int, folder: Path
) -> None:
    """Each case in ``rounds`` rounds, creditsync then the baseline, on databases seeded once."""
    label = "SQLite" if url is None else "PostgreSQL"
    per_caller = burns // callers
    for case, n_accounts in (("1,000 accounts", 1000), ("hot: 10 accounts", 10)):
        engines = {}
        for name in ("creditsync", "baseline"):
            engines[name] = fresh_engine(url, folder, f"load_{name}")
            seed(engines[name], n_accounts, credits=burns * rounds)
        ours: list[Run] = []
        theirs: list[Run] = []
        for n in range(rounds):
            mine = work(callers, per_caller, n_accounts, f"creditsync-{n}")
            ours.append(in_process(engines["creditsync"], mine, "creditsync, in process", writers))
            raw = work(callers, per_caller, n_accounts, f"baseline-{n}")
            theirs.append(raw_baseline(engines["baseline"], raw, "raw SQL, 1 txn per burn"))
        for engine in engines.values():
            engine.dispose()
        title = f"{label}, {callers} concurrent callers, {case}, {callers * per_caller} burns"
        report(f"{title} x {rounds} rounds", ours, theirs)
        if http and url is not None:
            over_http(url, callers, n_accounts, Run.pooled(ours), folder)


def over_http(url: str, callers: int, n_accounts: int, local: Run, folder: Path) -> None:
    """The most burns/s over HTTP against two workers, then p99 at half that rate."""
    engine = fresh_engine(url, folder, "load_http")
    seed(engine, n_accounts, credits=10**12)
    served = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    with serving(served, workers=2) as base:
        most = http_most(base, callers, n_accounts, "most", f"HTTP, 2 workers, {callers} conns")
        line(most, f"{most.rate / local.rate:>8.2f}x of in process")
        half = http_paced(base, most.rate / 2, n_accounts, "half", "HTTP at half that rate")
        line(half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--burns", type=int, default=4000)
    parser.add_argument("--writers", type=int, default=GroupCommitSettings().writers)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both sides, alternating")
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
            bench(url, args.callers, args.burns, args.http, args.writers, args.rounds, Path(folder))


if __name__ == "__main__":
    main()
