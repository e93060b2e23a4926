"""Recognition's single control row (timezone, watermarks, last cutoff) and run serialization.

Two recognitions, or a recognition and a period close, must not interleave: on PostgreSQL a
transaction-scoped advisory lock serializes them; SQLite's ``BEGIN IMMEDIATE`` already does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Engine, func, select, text, update

from connector.errors import InvalidInput
from connector.recognition.tables import recognition_control, recognition_money
from connector.store.tables import ledger_entries, pools
from connector.timeutil import utcnow

LOCK_KEY = 0x6372656469_7473  # "credits", an arbitrary constant of this application


@dataclass(frozen=True)
class Control:
    timezone: str
    last_through: datetime | None
    ledger_watermark: int
    pool_watermark: int
    money_watermark: int


@dataclass(frozen=True)
class Watermarks:
    ledger: int
    pools: int
    money: int


def serialize(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def load(conn: Connection, timezone: str) -> Control:
    """The control row, created on first use with ``timezone``; a different timezone later is
    refused, since it would move every period boundary under entries already posted."""
    row = conn.execute(select(recognition_control).where(recognition_control.c.id == 1)).first()
    if row is None:
        conn.execute(
            recognition_control.insert().values(id=1, timezone=timezone, updated_at=utcnow())
        )
        return Control(timezone, None, 0, 0, 0)
    if row.timezone != timezone:
        raise InvalidInput(
            "timezone",
            f"periods here are in {row.timezone}, not {timezone}",
            f"set CREDITSYNC_TIMEZONE={row.timezone}",
        )
    return Control(
        row.timezone,
        row.last_through,
        row.ledger_watermark,
        row.pool_watermark,
        row.money_watermark,
    )


def save(conn: Connection, through: datetime, marks: Watermarks) -> None:
    conn.execute(
        update(recognition_control)
        .where(recognition_control.c.id == 1)
        .values(
            last_through=through,
            ledger_watermark=marks.ledger,
            pool_watermark=marks.pools,
            money_watermark=marks.money,
            updated_at=utcnow(),
        )
    )


def _read(conn: Connection) -> Watermarks:
    def top(column: ColumnElement[int]) -> int:
        value: int = conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one()
        return int(value)

    return Watermarks(top(ledger_entries.c.id), top(pools.c.id), top(recognition_money.c.id))


def settle(engine: Engine) -> Watermarks | None:
    """PostgreSQL: the highest ids below which every row is committed.

    Ids come from sequences, so a row with a lower id can commit after one with a higher id; a
    SHARE lock waits for every open writer of those tables, so once it is granted, nothing at or
    below the maxima read is still in flight. The lock is released at once. SQLite has one
    writer at a time and needs none of this (None: read inside the run's transaction).
    """
    if engine.dialect.name != "postgresql":
        return None
    with engine.begin() as conn:
        conn.execute(text("LOCK TABLE ledger_entries, pools, recognition_money IN SHARE MODE"))
        return _read(conn)


def watermarks(conn: Connection, settled: Watermarks | None) -> Watermarks:
    return settled if settled is not None else _read(conn)


def at_least(marks: Watermarks, last: Control) -> Watermarks:
    """Never move a watermark back: a run that settled its marks, then waited for the lock while
    another run went further, must not hand the ground covered back to the next run."""
    return Watermarks(
        max(marks.ledger, last.ledger_watermark),
        max(marks.pools, last.pool_watermark),
        max(marks.money, last.money_watermark),
    )
