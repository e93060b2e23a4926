"""Incremental recognition: a first run over all history against a run after a few new burns.

    python -m bench.recognition [--pools N] [--burns N] [--new-burns N] [--database-url URL]

Setup bulk-inserts pools and their burn ledger entries directly (executemany on SQLite, COPY on
PostgreSQL), which is not what is measured. Then, in one process: the first recognition run
(every pool, all history: the baseline), 1,000 new burns, and a second run through the next
month. The figure that matters is the ratio (goal: second run < 5 % of the first), because the
cost of a run must follow what happened since the last one, not all of history.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, select

from bench.databases import fresh_engine
from connector.recognition.gl import fixed
from connector.recognition.run import recognize
from connector.store.tables import accounts, ledger_entries, pools
from mappings.gl import GLAccounts

T0 = datetime(2026, 1, 1, tzinfo=UTC)
FIRST_CUTOFF = datetime(2026, 4, 1, tzinfo=UTC)
SECOND_CUTOFF = datetime(2026, 5, 1, tzinfo=UTC)
POOLS_PER_ACCOUNT = 10
CREDITS = 1_000
GL = fixed(
    GLAccounts(
        deferred_revenue="2400",
        revenue="4000",
        breakage_revenue="4050",
        refunds="4090",
        clearing="1200",
    )
)


def batches(
    rows: Sequence[dict[str, Any]], size: int = 50_000
) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk_insert(
    engine: Engine, table: Table, rows: list[dict[str, Any]], explicit_ids: bool = False
) -> None:
    """``explicit_ids``: the rows carry their own serial ids (PostgreSQL's sequence must follow)."""
    if not rows:
        return
    if engine.dialect.name != "postgresql":
        for part in batches(rows):
            with engine.begin() as conn:
                conn.execute(table.insert(), list(part))
        return
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        names = ", ".join(columns)
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        raw.commit()
        if explicit_ids:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name}))"
            )
            raw.commit()
    finally:
        raw.close()


def seed(engine: Engine, n_pools: int, n_burns: int, rng: random.Random) -> None:
    n_accounts = max(1, n_pools // POOLS_PER_ACCOUNT)
    bulk_insert(
        engine,
        accounts,
        [{"id": f"acct{a}", "created_at": T0} for a in range(n_accounts)],
    )
    remaining = [CREDITS] * n_pools
    burn_rows: list[dict[str, Any]] = []
    burn_id = 0
    for _ in range(n_burns):
        pool = rng.randrange(n_pools)
        take = min(remaining[pool], rng.randint(1, 20))
        if take == 0:
            continue
        remaining[pool] -= take
        burn_id += 1
        burn_rows.append(
            {
                "pool_id": pool + 1,
                "account_id": f"acct{pool % n_accounts}",
                "kind": "burn",
                "credits": -take,
                "reference": str(burn_id),
                "occurred_at": T0 + timedelta(seconds=rng.randrange(89 * 86_400)),
                "recorded_at": T0,
            }
        )
    pool_rows = [
        {
            "id": p + 1,
            "account_id": f"acct{p % n_accounts}",
            "kind": "paid",
            "credits_granted": CREDITS,
            "credits_remaining": remaining[p],
            "revenue_amount": 10_000 + p % 997,
            "currency": "USD" if p % 5 else "EUR",
            "effective_at": T0 + timedelta(minutes=p % 40_000),
            "expires_at": None,
            "priority": 100,
            "status": "active",
            "source_platform": "bench",
            "source_object": f"inv{p}",
            "source_line": "1",
            "source_part": "paid",
            "breakage_method": "proportional" if p % 5 == 0 else "remote",
            "breakage_rate": "0.1" if p % 5 == 0 else "0",
            "created_at": T0,
        }
        for p in range(n_pools)
    ]
    bulk_insert(engine, pools, pool_rows, explicit_ids=True)
    grants = [
        {
            "pool_id": p + 1,
            "account_id": f"acct{p % n_accounts}",
            "kind": "grant",
            "credits": CREDITS,
            "reference": "grant",
            "occurred_at": pool_rows[p]["effective_at"],
            "recorded_at": T0,
        }
        for p in range(n_pools)
    ]
    bulk_insert(engine, ledger_entries, grants + burn_rows)


def add_burns(engine: Engine, n_pools: int, count: int, rng: random.Random) -> None:
    n_accounts = max(1, n_pools // POOLS_PER_ACCOUNT)
    with engine.begin() as conn:
        rows = []
        for i in range(count):
            pool = rng.randrange(n_pools) + 1
            rows.append(
                {
                    "pool_id": pool,
                    "account_id": f"acct{(pool - 1) % n_accounts}",
                    "kind": "burn",
                    "credits": -1,
                    "reference": f"late-{i}",
                    "occurred_at": FIRST_CUTOFF + timedelta(seconds=rng.randrange(29 * 86_400)),
                    "recorded_at": FIRST_CUTOFF,
                }
            )
        conn.execute(ledger_entries.insert(), rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pools", type=int, default=100_000)
    parser.add_argument("--burns", type=int, default=1_000_000)
    parser.add_argument("--new-burns", type=int, default=1_000)
    parser.add_argument("--mode", default="summarized", choices=["summarized", "detailed"])
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (a database of its own is made there); default SQLite",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        engine = fresh_engine(args.database_url, Path(folder), "recognition")
        started = time.perf_counter()
        seed(engine, args.pools, args.burns, rng)
        with engine.connect() as conn:
            entries = conn.execute(select(func.count()).select_from(ledger_entries)).scalar_one()
        print(
            f"{engine.dialect.name}: {args.pools:,} pools, {entries:,} ledger entries "
            f"(setup {time.perf_counter() - started:.1f}s)"
        )
        first = recognize(engine, FIRST_CUTOFF, GL, args.mode)
        print(
            f"first run : {first.seconds:8.3f}s  {first.pools_recomputed:>9,} pools  "
            f"{len(first.entries):>7,} entries"
        )
        add_burns(engine, args.pools, args.new_burns, rng)
        second = recognize(engine, SECOND_CUTOFF, GL, args.mode)
        print(
            f"second run: {second.seconds:8.3f}s  {second.pools_recomputed:>9,} pools  "
            f"{len(second.entries):>7,} entries  (after {args.new_burns:,} new burns)"
        )
        ratio = second.seconds / first.seconds if first.seconds else float("inf")
        verdict = "meets" if ratio < 0.05 else "misses"
        print(f"ratio     : {ratio:.2%} of the first run ({verdict} the < 5 % goal)")
        engine.dispose()


if __name__ == "__main__":
    main()
