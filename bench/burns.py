"""What the burn benches burn against, and the rows a burn writes when written by hand.

``bench.ledger`` and ``bench.burn_load`` measure creditsync's burns beside a baseline that writes
the same rows (burn, ledger entry, pool counter) with plain DB-API calls; both seed the same
accounts and rate, and both baselines run the same three statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, insert

from connector.events import SourceKey
from connector.ledger import pools as pool_store
from connector.ledger.models import BurnRequest, GrantRequest, PoolKind
from connector.ledger.service import Ledger
from connector.store.tables import accounts

T0 = datetime(2026, 1, 1, tzinfo=UTC)


HISTORY = 20_000  # burns already on the books when a bench starts


def seed(engine: Engine, n_accounts: int, credits: int, history: int = HISTORY) -> None:
    """Accounts ``acct0``.. with one large pool each, a rate, and ``history`` burns already
    written over them (seeding is not timed).

    The history is there because production's tables are never empty. On a ``burns`` table
    analyzed while empty, PostgreSQL plans the foreign-key check of every new ledger entry as a
    scan of the whole table and keeps that plan on each connection until the table is analyzed
    again; a bench of a few seconds on empty tables measures that scan (it took half of a
    batch's time), which production runs only in its first minute, until autovacuum analyzes."""
    ledger = Ledger(engine)
    ledger.set_rate("query", "1", T0 - timedelta(days=1))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(accounts), [{"id": f"acct{a}", "created_at": now} for a in range(n_accounts)]
        )
        pool_store.grant_many(
            conn,
            [
                GrantRequest(
                    account_id=f"acct{a}",
                    kind=PoolKind.PAID,
                    credits=credits + history,
                    revenue_amount=credits + history,
                    currency="USD",
                    effective_at=T0,
                    source=SourceKey(platform="bench", object_id=f"inv{a}", line_id="1"),
                )
                for a in range(n_accounts)
            ],
        )
    write_history(engine, [f"acct{a}" for a in range(n_accounts)], history)


def write_history(engine: Engine, accounts: list[str], history: int = HISTORY) -> None:
    """``history`` burns of one credit spread over ``accounts`` (which hold the credits), then
    the tables vacuumed and analyzed, as autovacuum keeps them in production (see ``seed``), so
    that autovacuum does not start on them while a bench is timed."""
    ledger = Ledger(engine)
    past = [
        BurnRequest(
            account_id=accounts[i % len(accounts)],
            idempotency_key=f"history-{i}",
            action="query",
            units=1,
            occurred_at=T0 + timedelta(seconds=i % 86_400),
        )
        for i in range(history)
    ]
    for start in range(0, history, 1000):
        assert all(o.result for o in ledger.burn_batch(past[start : start + 1000]))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def burn(account: int, key: str, second: int) -> BurnRequest:
    """One credit of ``query`` burned by ``acct{account}``, ``second`` seconds after T0."""
    return BurnRequest(
        account_id=f"acct{account}",
        idempotency_key=key,
        action="query",
        units=1,
        occurred_at=T0 + timedelta(seconds=second),
    )


@dataclass(frozen=True)
class BaselineSql:
    """The baseline's statements in the driver's parameter style, and what they write to."""

    insert_burn: str  # returns the burn's id
    insert_entry: str
    update_pool: str  # takes one credit off a pool
    pool_of: dict[str, int]  # each seeded account's pool
    rate_id: int


def baseline_sql(engine: Engine) -> BaselineSql:
    """The statements for ``engine``'s driver, and the seeded pools and rate they refer to."""
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    with engine.connect() as conn:
        pool_of: dict[str, int] = {
            account: pool
            for account, pool in conn.exec_driver_sql("SELECT account_id, id FROM pools")
        }
        rate_id = conn.exec_driver_sql("SELECT id FROM burn_rates").scalar_one()
    return BaselineSql(
        insert_burn=(
            "INSERT INTO burns (account_id, idempotency_key, action, units, credits, "
            "overage_credits, rate_id, occurred_at, recorded_at, request_hash) VALUES "
            f"({', '.join([mark] * 10)}) RETURNING id"
        ),
        insert_entry=(
            "INSERT INTO ledger_entries (pool_id, account_id, kind, credits, burn_id, reference, "
            f"occurred_at, recorded_at) VALUES ({', '.join([mark] * 8)})"
        ),
        update_pool=(
            f"UPDATE pools SET credits_remaining = credits_remaining - 1 WHERE id = {mark}"
        ),
        pool_of=pool_of,
        rate_id=rate_id,
    )
