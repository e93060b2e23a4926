"""Rows sent as one JSON text (PostgreSQL) or one multi-row VALUES (SQLite) read back exactly as
written, on both databases: every column type the sync tables use, NULLs, the largest integers,
timestamps in any offset, JSON text kept as it was, and strings that look like SQL, parameters
or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    text,
)
from sqlalchemy.exc import DataError

from connector.store.batch import Batch
from connector.store.bulk import in_list, insert_rows, json_list, param, send_rows
from connector.store.tables import Id
from connector.store.types import UTCDateTime

kinds = Table(
    "bulk_json_kinds",
    MetaData(),
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(50), nullable=False, unique=True),
    Column("big", BigInteger),
    Column("small", Integer),
    Column("name", String(200)),
    Column("note", Text),
    Column("at", UTCDateTime()),
    Column("doc", JSON),
)
COLUMNS = ("key", "big", "small", "name", "note", "at", "doc")

HOSTILE = [
    "",
    "plain",
    'a "quoted" word and a \\ backslash',
    "O'Brien'); DROP TABLE pools; --",
    "%(rows)s %s %% {} :name ? $1",
    "tab\tnewline\ncarriage\rform\x0cbell\x07",
    "café ☃ 𝄞 😀 \u2028\u2029 \ufeff",
    '["not", "json", {"a": 1}]',
    "\\u0041 is not A",
    "x" * 200,
]
PARIS = timezone(timedelta(hours=1))
MOMENTS = [
    datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 3, 1, 13, 0, 0, 1, tzinfo=PARIS),
    datetime(1000, 1, 1, 0, 0, tzinfo=UTC),
    datetime(8999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-8, minutes=-30))),
]
DOCS = [
    '{"b": 1, "a": [1, 2.5, null, true, false], "s": "\\u00e9 \\"q\\" \\\\"}',
    '{"z":{"y":[]},"a":""}',
    "[]",
    '"a string"',
]


@pytest.fixture
def table(engine: Engine) -> Iterator[Table]:
    kinds.create(engine)
    yield kinds
    kinds.drop(engine)


def _rows() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = [
        ("max", 2**63 - 1, 2**31 - 1, "max", None, MOMENTS[0], DOCS[0]),
        ("min", -(2**63), -(2**31), "min", "", MOMENTS[1], DOCS[1]),
        ("nulls", None, None, None, None, None, None),
        ("zero", 0, 0, "", "0", MOMENTS[2], DOCS[2]),
        ("far", 10**18, 7, "far", "far", MOMENTS[3], DOCS[3]),
    ]
    rows += [(f"hostile{i}", i, i, s, s, MOMENTS[i % 4], None) for i, s in enumerate(HOSTILE)]
    return rows


def _read(engine: Engine) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(*(kinds.c[name] for name in COLUMNS)).order_by(kinds.c.id)
        ).all()
        docs = conn.execute(text("SELECT key, CAST(doc AS TEXT) FROM bulk_json_kinds")).all()
    stored_text = {key: doc for key, doc in docs}
    return {row[0]: (*row[1:], stored_text[row[0]]) for row in found}


@pytest.mark.parametrize("sent", ["insert_rows", "batch"])
def test_every_kind_of_value_reads_back_as_written(engine: Engine, table: Table, sent: str) -> None:
    rows = _rows()
    with engine.begin() as conn:
        if sent == "insert_rows":
            inserted = insert_rows(conn, table, COLUMNS, rows, returning=("key",))
        else:
            with Batch(conn) as batch:
                keys = send_rows(batch, table, COLUMNS, rows, returning=("key",))
            inserted = keys.rows()
    assert sorted(key for (key,) in inserted) == sorted(row[0] for row in rows)
    found = _read(engine)
    assert list(found) == [row[0] for row in rows]  # in the order sent
    for key, big, small, name, note, at, doc in rows:
        read = found[key]
        assert read[:4] == (big, small, name, note), key
        assert read[4] == at, key  # the same instant...
        assert read[4] is None or read[4].tzinfo is not None  # ...handed back aware
        assert read[6] == doc, key  # JSON text kept as written (key order, escapes)
        assert read[5] == (None if doc is None else json.loads(doc))


def test_a_second_insert_of_the_same_keys_is_skipped_whole(engine: Engine, table: Table) -> None:
    rows = _rows()
    with engine.begin() as conn:
        insert_rows(conn, table, COLUMNS, rows, conflict=("key",))
    changed = [(row[0], 1, 1, "changed", "changed", None, None) for row in rows]
    with engine.begin() as conn:
        again = insert_rows(conn, table, COLUMNS, changed, conflict=("key",), returning=("key",))
    assert again == []
    assert [read[2] for read in _read(engine).values()] == [row[3] for row in rows]


def test_naive_timestamps_and_ragged_rows_are_refused_before_anything_is_sent(
    engine: Engine, table: Table
) -> None:
    naive = ("naive", 1, 1, "x", None, datetime(2026, 1, 1), None)
    short = ("short", 1, 1, "x", None, MOMENTS[0])
    with engine.begin() as conn:
        with pytest.raises(ValueError, match=r"bulk_json_kinds\.at: naive datetime refused"):
            insert_rows(conn, table, COLUMNS, [naive])
        with pytest.raises(ValueError, match="every row needs 7 values"):
            insert_rows(conn, table, COLUMNS, [short])
    assert _read(engine) == {}


def test_a_nul_character_is_refused_on_postgresql_and_kept_on_sqlite(
    engine: Engine, table: Table
) -> None:
    row = ("nul", 1, 1, "a\x00b", None, None, None)
    if engine.dialect.name == "postgresql":  # text there cannot hold NUL, however it is sent
        with engine.begin() as conn, pytest.raises(DataError):
            insert_rows(conn, table, COLUMNS, [row])
        return
    with engine.begin() as conn:
        insert_rows(conn, table, COLUMNS, [row])
    assert _read(engine)["nul"][2] == "a\x00b"


def test_in_list_finds_exactly_the_values_listed(engine: Engine, table: Table) -> None:
    rows = _rows()
    with engine.begin() as conn:
        insert_rows(conn, table, COLUMNS, rows)
    wanted = ["max", "hostile2", "hostile4", "missing", "' OR '1'='1"]
    dialect = engine.dialect.name
    sql = f"SELECT key FROM bulk_json_kinds WHERE {in_list(dialect, 'key', 'keys')}"
    by_name = f"SELECT key FROM bulk_json_kinds WHERE name = {param(dialect, 'name')}"
    with engine.connect() as conn:
        found = conn.exec_driver_sql(sql, {"keys": json_list(wanted)}).scalars().all()
        hostile = conn.exec_driver_sql(by_name, {"name": HOSTILE[3]}).scalars().all()
        none = conn.exec_driver_sql(sql, {"keys": json_list([])}).scalars().all()
    assert sorted(found) == ["hostile2", "hostile4", "max"]
    assert (hostile, none) == (["hostile3"], [])
