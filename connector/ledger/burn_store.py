"""What a batch of burns reads and writes, straight through the database driver.

A batch is a handful of small statements; through SQLAlchemy each costs more Python than the
database spends on it, and on PostgreSQL each waits for its own round trip. Here they go to the
transaction's own driver connection (see ``connector.store.batch``): on PostgreSQL the reads in
one pipeline and the writes in one statement of arrays; on SQLite plain DB-API calls. What is
decided from the rows (``connector.ledger.burns``) knows neither.

The reads lock the batch's accounts first, in id order, so that batches of several processes
never deadlock; the pools are read after the lock, so they are what the previous holder left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection

from connector.ledger.holdings import SPENDABLE_POOLS, HeldPool
from connector.ledger.models import Allocation, EntryKind, PoolStatus
from connector.store import wire
from connector.timeutil import sqlite_text, stored_instant


class Account(NamedTuple):
    id: str
    consumption_order: str | None
    plan: str | None


class Rate(NamedTuple):
    id: int
    action: str
    version: int
    credits_per_unit: str
    effective_from: datetime


@dataclass(frozen=True)
class BatchContext:
    """Everything a batch reads before it decides anything."""

    accounts: dict[str, Account]  # locked
    pools: dict[str, list[HeldPool]]  # account -> spendable pools
    rates: dict[str, list[Rate]]  # action -> versions, newest first
    earlier: set[tuple[str, str]]  # (account, key) of burns already written


class NewBurn(Protocol):
    """A burn decided and ready to write: its row and the credits it takes from each pool."""

    @property
    def row(self) -> dict[str, Any]: ...
    @property
    def allocations(self) -> list[Allocation]: ...


_ACCOUNTS = "SELECT id, consumption_order, plan FROM accounts WHERE id {accounts} ORDER BY id"
_RATES = (
    "SELECT id, action, version, credits_per_unit, effective_from FROM burn_rates "
    "WHERE action {actions} ORDER BY effective_from DESC, version DESC"
)
# PostgreSQL: one array parameter, one plan whatever the batch
_ANY = "= ANY($1::text[])"
# every statement below takes arrays, so one generic plan fits it whatever the batch, and planning
# it again each time costs more than running it (left to choose, PostgreSQL kept re-planning the
# account and pool reads); the session default forces custom plans, which IN-lists elsewhere need
_GENERIC_PLANS = wire.Prepared("SET LOCAL plan_cache_mode = force_generic_plan")
# the accounts joined from the array: with ``id = ANY(...)`` the generic plan scanned a small
# table and compared each row with every element (a thousand accounts: a third of the batch's
# reads); joined, a small table is hashed against the array and a large one probed on the primary
# key (measured over 100,000 accounts: about 20 microseconds slower than ``= ANY`` there)
_ACCOUNTS_POSTGRESQL = wire.Prepared(
    "SELECT a.id, a.consumption_order, a.plan FROM unnest($1::text[]) AS k(id) "
    "JOIN accounts a ON a.id = k.id ORDER BY a.id FOR UPDATE OF a"
)
_POOLS_POSTGRESQL = wire.Prepared(SPENDABLE_POOLS.format(accounts=_ANY))
_RATES_POSTGRESQL = wire.Prepared(_RATES.format(actions=_ANY))
# (account, key) pairs probed one by one on the unique index, not the cross product of two lists
_EARLIER_POSTGRESQL = wire.Prepared(
    "SELECT b.account_id, b.idempotency_key FROM burns b "
    "JOIN unnest($1::text[], $2::text[]) AS k(account_id, idempotency_key) "
    "ON b.account_id = k.account_id AND b.idempotency_key = k.idempotency_key"
)
_EARLIER_SQLITE = (
    "SELECT b.account_id, b.idempotency_key FROM (VALUES {pairs}) AS k "
    "JOIN burns b ON b.account_id = k.column1 AND b.idempotency_key = k.column2"
)


def read(
    conn: Connection, account_ids: list[str], actions: list[str], keys: list[tuple[str, str]]
) -> BatchContext:
    """The batch's accounts (locked), their spendable pools, the actions' rates and which of the
    (account, idempotency key) pairs ``keys`` were used already."""
    if conn.dialect.name == "postgresql":
        _, locked, held, rates, earlier = wire.run(  # one round trip for all
            conn,
            [
                (_GENERIC_PLANS, ()),
                (_ACCOUNTS_POSTGRESQL, (wire.texts(account_ids),)),
                (_POOLS_POSTGRESQL, (wire.texts(account_ids),)),
                (_RATES_POSTGRESQL, (wire.texts(actions),)),
                (
                    _EARLIER_POSTGRESQL,
                    (wire.texts(a for a, _ in keys), wire.texts(k for _, k in keys)),
                ),
            ],
        )
        return _context(locked, held, rates, actions, earlier)
    cursor = _sqlite(conn)  # SQLite: the transaction's write lock is already held
    locked = cursor.execute(_ACCOUNTS.format(accounts=_in(account_ids)), account_ids).fetchall()
    found = [row[0] for row in locked]
    if not found:
        return _context(locked, [], [], actions, [])
    rates = cursor.execute(_RATES.format(actions=_in(actions)), actions).fetchall()
    held = cursor.execute(SPENDABLE_POOLS.format(accounts=_in(found)), found).fetchall()
    query = _EARLIER_SQLITE.format(pairs=", ".join(["(?, ?)"] * len(keys)))
    earlier = cursor.execute(query, [part for pair in keys for part in pair]).fetchall()
    return _context(locked, held, rates, actions, earlier)


def _in(values: Sequence[object]) -> str:
    return f"IN ({', '.join('?' * len(values))})"


def _sqlite(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _context(
    accounts: Iterable[Sequence[Any]],
    pools: Iterable[Sequence[Any]],
    rates: Iterable[Sequence[Any]],
    actions: Iterable[str],
    earlier: Iterable[Sequence[Any]],
) -> BatchContext:
    found = {row[0]: Account(*row) for row in accounts}
    by_account: dict[str, list[HeldPool]] = {a: [] for a in found}
    for account_id, *held in pools:
        by_account[account_id].append(HeldPool.of(held))
    versions: dict[str, list[Rate]] = {a: [] for a in actions}
    for rate_id, action, version, per_unit, effective_from in rates:
        versions[action].append(
            Rate(rate_id, action, version, per_unit, stored_instant(effective_from))
        )
    return BatchContext(found, by_account, versions, {(a, k) for a, k in earlier})


def write(conn: Connection, new: Sequence[NewBurn], now: datetime) -> list[int]:
    """The burns, their ledger entries and the pools' counters; the new burn ids in order."""
    if conn.dialect.name == "postgresql":
        return _write_postgresql(conn, new, now)
    cursor = _sqlite(conn)
    recorded = sqlite_text(now)
    ids = [
        cursor.execute(_INSERT_BURN_SQLITE, _burn_values(burn.row, recorded)).fetchone()[0]
        for burn in new
    ]
    entries = [
        (a.pool_id, burn.row["account_id"], EntryKind.BURN.value, -a.credits, burn_id,
         str(burn_id), sqlite_text(burn.row["occurred_at"]), recorded)
        for burn, burn_id in zip(new, ids, strict=True)
        for a in burn.allocations
    ]  # fmt: skip
    if entries:
        cursor.executemany(_INSERT_ENTRY_SQLITE, entries)
        cursor.executemany(
            _TAKE_FROM_POOL_SQLITE, [(c, c, p) for p, c in _pool_totals(new).items()]
        )
    return ids


_BURN_COLUMNS = (
    "account_id, idempotency_key, action, units, credits, overage_credits, rate_id, "
    "occurred_at, recorded_at, request_hash"
)
_INSERT_BURN_SQLITE = (
    f"INSERT INTO burns ({_BURN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)
_INSERT_ENTRY_SQLITE = (
    "INSERT INTO ledger_entries (pool_id, account_id, kind, credits, burn_id, reference, "
    "occurred_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_TAKE_FROM_POOL_SQLITE = (
    "UPDATE pools SET credits_remaining = credits_remaining - ?, status = CASE "
    f"WHEN credits_remaining = ? THEN '{PoolStatus.EXHAUSTED.value}' ELSE status END WHERE id = ?"
)


def _burn_values(row: dict[str, Any], recorded: str) -> tuple[Any, ...]:
    return (
        row["account_id"],
        row["idempotency_key"],
        row["action"],
        row["units"],
        row["credits"],
        row["overage_credits"],
        row["rate_id"],
        sqlite_text(row["occurred_at"]),
        recorded,
        row["request_hash"],
    )


def _pool_totals(new: Sequence[NewBurn]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for burn in new:
        for a in burn.allocations:
            totals[a.pool_id] = totals.get(a.pool_id, 0) + a.credits
    return totals


_WRITE_POSTGRESQL = wire.Prepared(f"""
    WITH given AS (
        SELECT * FROM unnest(
            $1::text[], $2::text[], $3::text[],
            $4::bigint[], $5::bigint[], $6::bigint[],
            $7::bigint[], $8::timestamptz[], $9::text[]
        ) WITH ORDINALITY AS g(account_id, idempotency_key, action, units, credits,
                               overage_credits, rate_id, occurred_at, request_hash, n)
    ), new_burns AS (
        INSERT INTO burns ({_BURN_COLUMNS})
        SELECT account_id, idempotency_key, action, units, credits, overage_credits, rate_id,
               occurred_at, $10::timestamptz, request_hash
        FROM given ORDER BY n
        RETURNING id, account_id, idempotency_key
    ), taken AS (
        SELECT * FROM unnest($11::bigint[], $12::bigint[],
                             $13::bigint[])
            WITH ORDINALITY AS t(n_burn, pool_id, credits, n)
    ), entries AS (
        INSERT INTO ledger_entries (pool_id, account_id, kind, credits, burn_id, reference,
                                    occurred_at, recorded_at)
        SELECT taken.pool_id, given.account_id, '{EntryKind.BURN.value}', -taken.credits,
               new_burns.id, CAST(new_burns.id AS text), given.occurred_at, $10::timestamptz
        FROM taken
        JOIN given ON given.n = taken.n_burn
        JOIN new_burns ON new_burns.account_id = given.account_id
                      AND new_burns.idempotency_key = given.idempotency_key
        ORDER BY taken.n
    ), moved AS (
        UPDATE pools
        SET credits_remaining = pools.credits_remaining - total.credits,
            status = CASE WHEN pools.credits_remaining = total.credits
                          THEN '{PoolStatus.EXHAUSTED.value}' ELSE pools.status END
        FROM (SELECT pool_id, SUM(credits) AS credits FROM taken GROUP BY pool_id) AS total
        WHERE pools.id = total.pool_id
    )
    SELECT id, account_id, idempotency_key FROM new_burns
""")


def _write_postgresql(conn: Connection, new: Sequence[NewBurn], now: datetime) -> list[int]:
    """The whole batch in one statement and one round trip (arrays unnested server-side)."""
    rows = [burn.row for burn in new]
    e_burns, e_pools, e_credits = [], [], []
    for n, burn in enumerate(new, start=1):
        for a in burn.allocations:
            e_burns.append(n)
            e_pools.append(a.pool_id)
            e_credits.append(a.credits)
    (found,) = wire.run(
        conn,
        [
            (
                _WRITE_POSTGRESQL,
                (
                    wire.texts(r["account_id"] for r in rows),
                    wire.texts(r["idempotency_key"] for r in rows),
                    wire.texts(r["action"] for r in rows),
                    wire.integers(r["units"] for r in rows),
                    wire.integers(r["credits"] for r in rows),
                    wire.integers(r["overage_credits"] for r in rows),
                    wire.integers(r["rate_id"] for r in rows),
                    wire.instants(r["occurred_at"] for r in rows),
                    wire.texts(r["request_hash"] for r in rows),
                    wire.instant(now),
                    wire.integers(e_burns),
                    wire.integers(e_pools),
                    wire.integers(e_credits),
                ),
            )
        ],
    )
    ids = {(account_id, key): burn_id for burn_id, account_id, key in found}
    return [ids[(r["account_id"], r["idempotency_key"])] for r in rows]
