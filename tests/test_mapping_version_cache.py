"""The mapping version a sync records on every page: looked up until this connection has seen
it stored by a transaction that committed, then not any more, and recorded again after a
transaction that recorded it rolled back (both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select

from connector.settings import EXAMPLE_MAPPINGS
from connector.store.tables import mapping_versions
from connector.sync.apply import apply_events
from mappings.loader import load_mappings
from mappings.model import MappingSet
from tests.sync_helpers import purchase


@pytest.fixture(scope="module")
def mappings() -> MappingSet:
    return load_mappings([EXAMPLE_MAPPINGS])


def _versions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(mapping_versions)).scalar_one())


def _queries_of_versions(engine: Engine) -> list[str]:
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _seen(*args: Any) -> None:
        if "mapping_versions" in args[2]:
            seen.append(args[2])

    return seen


def test_a_version_recorded_by_a_rolled_back_transaction_is_recorded_again(
    engine: Engine, mappings: MappingSet
) -> None:
    with engine.connect() as conn:
        with conn.begin() as transaction:
            apply_events(conn, "files", [purchase("ord_1")], mappings)
            apply_events(conn, "files", [purchase("ord_2")], mappings)  # found: its own insert
            transaction.rollback()
        with conn.begin() as transaction:
            apply_events(conn, "files", [purchase("ord_3")], mappings)
            transaction.rollback()
    assert _versions(engine) == 0
    with engine.begin() as conn:
        apply_events(conn, "files", [purchase("ord_4")], mappings)
    assert _versions(engine) == 1


def test_a_version_seen_stored_is_not_looked_up_again_on_that_connection(
    engine: Engine, mappings: MappingSet
) -> None:
    queries = _queries_of_versions(engine)
    for number in range(4):
        with engine.begin() as conn:
            apply_events(conn, "files", [purchase(f"ord_{number}")], mappings)
    # recorded by the first page, found by the second, known from then on
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) == 2
    assert _versions(engine) == 1
