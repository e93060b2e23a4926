"""The rebuild's parts on their own: pool-id alignment in the scratch database, step order, and
the diff."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from connector.ledger.models import BurnRequest
from connector.ledger.pools import grant
from connector.rebuild.diff import Mismatch, diff
from connector.rebuild.scratch import PoolIds, open_scratch
from connector.rebuild.snapshot import Snapshot
from connector.rebuild.steps import Burn, Close, Recognize, SetRate, Step, order
from connector.store.tables import ledger_entries, pools
from tests.ledger_helpers import grant_request

T = datetime(2026, 3, 1, tzinfo=UTC)


def test_scratch_pools_take_the_live_ids_even_across_gaps(tmp_path: Path) -> None:
    engine = open_scratch(tmp_path / "scratch.db")
    first = grant_request(object_id="inv_a")
    second = grant_request(object_id="inv_b")
    stranger = grant_request(object_id="inv_c")
    live = {
        ("test", "inv_a", "line_1", "paid"): 5,
        ("test", "inv_b", "line_1", "paid"): 9,
    }
    ids = PoolIds(live)
    with engine.begin() as conn:
        grant(conn, first)
        grant(conn, second)
        ids.align(conn)
        grant(conn, stranger)  # SQLite gives it max + 1 = 10, which is also the next free id
        ids.align(conn)
        found = dict(conn.execute(select(pools.c.source_object, pools.c.id)).all())
        entries = dict(conn.execute(select(ledger_entries.c.pool_id, ledger_entries.c.kind)).all())
    engine.dispose()
    assert found == {"inv_a": 5, "inv_b": 9, "inv_c": 10}
    assert entries == {5: "grant", 9: "grant", 10: "grant"}  # the references moved with them


def test_alignment_never_lands_on_a_pool_that_has_not_moved_yet(tmp_path: Path) -> None:
    engine = open_scratch(tmp_path / "scratch.db")
    requests = [grant_request(object_id=f"inv_{n}") for n in range(3)]
    # The live database numbered them in the other order: 1 -> 3, 2 -> 2, 3 -> 1.
    live = {("test", f"inv_{n}", "line_1", "paid"): 3 - n for n in range(3)}
    ids = PoolIds(live)
    with engine.begin() as conn:
        for request in requests:
            grant(conn, request)
        ids.align(conn)
        found = dict(conn.execute(select(pools.c.source_object, pools.c.id)).all())
        entries = sorted(conn.execute(select(ledger_entries.c.pool_id)).scalars())
    engine.dispose()
    assert found == {"inv_0": 3, "inv_1": 2, "inv_2": 1}
    assert entries == [1, 2, 3]


def test_steps_sort_by_moment_then_kind_then_id() -> None:
    burn = Burn(T, 2, BurnRequest("acme", "k", "query", 1, T))
    rate = SetRate(T, 7, "query", "1", T, None, 1)
    run = Recognize(T, 1, T, "summarized", T)
    close = Close(T, 0, "2026-02", "UTC", T)
    earlier_burn = Burn(datetime(2026, 2, 1, tzinfo=UTC), 9, BurnRequest("a", "j", "q", 1, T))
    given: list[Step] = [close, run, burn, rate, earlier_burn]
    steps = sorted(given, key=order)
    assert steps == [earlier_burn, rate, burn, run, close]


def _snapshot(**changes: dict[str, dict[str, object]]) -> Snapshot:
    base: dict[str, dict[str, dict[str, object]]] = {
        "pools": {"p:1": {"credits_remaining": 5, "status": "active"}},
        "burns": {"acme/k": {"allocations": [["p:1", 3]]}},
        "refunds": {},
        "journal": {"je-1": {"lines": [1, 2]}},
    }
    base.update(changes)
    return Snapshot(**base)


def test_diff_names_the_row_and_field_on_each_side() -> None:
    live = _snapshot()
    assert diff(live, _snapshot()) == []
    rebuilt = _snapshot(
        pools={"p:1": {"credits_remaining": 4, "status": "active"}},
        journal={"je-2": {"lines": [1, 2]}},
    )
    assert diff(live, rebuilt) == [
        Mismatch("pool", "p:1", "credits_remaining", "5", "4"),
        Mismatch("journal entry", "je-1", "", "present", "(absent)"),
        Mismatch("journal entry", "je-2", "", "(absent)", "present"),
    ]
