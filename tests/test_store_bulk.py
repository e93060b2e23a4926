"""Set-based writes of a sync page: many rows in one statement, on both databases, with the
same results as one row at a time (duplicates skipped, timestamps and JSON as the types keep
them), and grants that stay idempotent when part of a page was granted before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select

from connector.events import SourceKey
from connector.ledger import accounts, pools
from connector.ledger.models import EntryKind, GrantRequest, PoolKind
from connector.store.bulk import among, insert_rows
from connector.store.tables import ledger_entries
from connector.store.tables import pools as pools_table
from connector.sync.tables import source_events

AT = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
COLUMNS = ("connection", "source_key", "event_kind", "occurred_at", "payload", "applied_at")


def event_row(key: str, at: datetime = AT, payload: str = '{"n": 1}') -> tuple[object, ...]:
    return ("stripe", key, "purchase", at, payload, at + timedelta(seconds=1))


def test_rows_go_in_once_and_read_back_as_the_column_types_keep_them(engine: Engine) -> None:
    paris = timezone(timedelta(hours=1))
    with engine.begin() as conn:
        created = insert_rows(
            conn,
            source_events,
            COLUMNS,
            [event_row("k1"), event_row("k2", AT.astimezone(paris), '{"a": [1, "x"]}')],
            conflict=("source_key", "event_kind"),
            returning=("source_key",),
        )
    with engine.begin() as conn:
        again = insert_rows(
            conn,
            source_events,
            COLUMNS,
            [event_row("k2", payload='{"changed": true}'), event_row("k3")],
            conflict=("source_key", "event_kind"),
            returning=("source_key",),
        )
    assert sorted(key for (key,) in created) == ["k1", "k2"]
    assert again == [("k3",)]
    with engine.connect() as conn:
        rows = conn.execute(select(source_events).order_by(source_events.c.source_key)).all()
    assert [r.source_key for r in rows] == ["k1", "k2", "k3"]
    assert all(r.occurred_at == AT and r.occurred_at.tzinfo is not None for r in rows)
    assert [r.payload for r in rows] == [{"n": 1}, {"a": [1, "x"]}, {"n": 1}]
    assert rows[0].applied_at == AT + timedelta(seconds=1)


def test_a_naive_timestamp_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="naive"):
        insert_rows(conn, source_events, COLUMNS, [event_row("k1", AT.replace(tzinfo=None))])


def test_among_finds_the_values_listed(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_rows(conn, source_events, COLUMNS, [event_row(f"k{i}") for i in range(5)])
        found = conn.execute(
            select(source_events.c.source_key).where(
                among(conn, source_events.c.source_key, ["k1", "k3", "missing"])
            )
        ).scalars()
        assert sorted(found) == ["k1", "k3"]


def request(object_id: str, part: str = "paid", credits: int = 100) -> GrantRequest:
    return GrantRequest(
        account_id="acct_1",
        kind=PoolKind.PAID if part == "paid" else PoolKind.BONUS,
        credits=credits,
        revenue_amount=credits * 10,
        currency="USD",
        effective_at=AT,
        source=SourceKey(platform="stripe", object_id=object_id, line_id="il_1"),
        part=part,
        expires_at=AT + timedelta(days=365),
    )


def test_a_page_granted_again_in_part_grants_only_the_new_pools_once(engine: Engine) -> None:
    with engine.begin() as conn:
        accounts.ensure_account(conn, "acct_1")
        first = pools.grant_many(conn, [request("in_1"), request("in_1", "bonus", 20)])
    with engine.begin() as conn:
        # in_1 again (with other credits: the first grant stands), in_2 twice in one page
        second = pools.grant_many(
            conn, [request("in_1", credits=999), request("in_2"), request("in_2", credits=5)]
        )
    assert (first, second) == (2, 1)
    with engine.connect() as conn:
        granted = conn.execute(
            select(
                pools_table.c.source_object, pools_table.c.source_part, pools_table.c.id
            ).order_by(pools_table.c.id)
        ).all()
        entries = conn.execute(
            select(
                ledger_entries.c.pool_id, ledger_entries.c.kind, ledger_entries.c.credits
            ).order_by(ledger_entries.c.pool_id)
        ).all()
        total = conn.execute(select(func.sum(pools_table.c.credits_granted))).scalar()
    assert [(o, p) for o, p, _ in granted] == [
        ("in_1", "paid"),
        ("in_1", "bonus"),
        ("in_2", "paid"),
    ]
    assert entries == [
        (pool_id, EntryKind.GRANT.value, credits)
        for (_, _, pool_id), credits in zip(granted, [100, 20, 100], strict=True)
    ]
    assert total == 220
    with engine.connect() as conn:
        pool = pools.find_by_source(conn, request("in_2").source, "paid")
    assert pool is not None
    assert (pool.effective_at, pool.expires_at, pool.credits_remaining) == (
        AT,
        AT + timedelta(days=365),
        100,
    )


def test_a_key_twice_in_one_statement_goes_in_once_the_first_time(engine: Engine) -> None:
    with engine.begin() as conn:
        created = insert_rows(
            conn,
            source_events,
            COLUMNS,
            [event_row("k1"), event_row("k1", payload='{"second": true}')],
            conflict=("source_key", "event_kind"),
            returning=("source_key",),
        )
        payloads = conn.execute(select(source_events.c.payload)).scalars().all()
    assert (created, payloads) == ([("k1",)], [{"n": 1}])
