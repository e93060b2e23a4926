"""The less travelled paths of a page of purchases, on both databases: a bulk grant refused
(each purchase then alone, the events kept all the same) and a key both kept as an exception
and granted in one page (its exception settled, as when the exception was written first)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from connector.errors import InvalidInput
from connector.events import CanonicalEvent, Purchase
from connector.ledger import pools
from connector.ledger.models import GrantRequest
from connector.settings import EXAMPLE_MAPPINGS
from connector.store.tables import pools as pools_table
from connector.sync.apply import apply_events
from connector.sync.exceptions import list_exceptions
from connector.sync.tables import source_events
from mappings.loader import load_mappings
from mappings.model import MappingSet
from tests.sync_helpers import purchase


@pytest.fixture(scope="module")
def mappings() -> MappingSet:
    return load_mappings([EXAMPLE_MAPPINGS])


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _refuse(how: str, bad: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the grants of the purchases of ``bad`` fail: rows the store's checks refuse (past
    validation), or requests refused by validation."""
    if how == "store":
        row = pools._row

        def negative_revenue(req: GrantRequest, now: Any) -> tuple[Any, ...]:
            values = row(req, now)
            return (*values[:4], -1, *values[5:]) if req.source.object_id in bad else values

        monkeypatch.setattr(pools, "_row", negative_revenue)
    else:
        validate = pools.validate_grant

        def refused(req: GrantRequest) -> None:
            if req.source.object_id in bad:
                raise InvalidInput("credits", "refused by the test")
            validate(req)

        monkeypatch.setattr(pools, "validate_grant", refused)


@pytest.mark.parametrize("how", ["store", "validation"])
def test_a_bulk_grant_refused_goes_purchase_by_purchase(
    engine: Engine, mappings: MappingSet, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Pages of more than GRANTS_AT_ONCE purchases send their grants in parts on PostgreSQL:
    a refusal in any part undoes the parts sent before it and leaves no purchase unapplied."""
    page: list[CanonicalEvent] = [purchase(f"ord_{i}", customer=f"c{i % 7}") for i in range(120)]
    bad = {"ord_3", "ord_77"}  # in the first part and in a later one
    _refuse(how, bad, monkeypatch)
    with engine.begin() as conn:
        report = apply_events(conn, "files", page, mappings)
    assert report.counts == Counter({"purchase.granted": 118, "purchase.refused": 2})
    assert report.pools_created == 118
    with engine.connect() as conn:
        granted = set(conn.execute(select(pools_table.c.source_object)).scalars())
    assert granted == {f"ord_{i}" for i in range(120)} - bad
    assert _count(engine, source_events) == 120  # kept before the grants, not undone with them
    refused = list_exceptions(engine)
    assert sorted((e.source_key, e.reason_code) for e in refused) == [
        ("files:ord_3:1", "refused"),
        ("files:ord_77:1", "refused"),
    ]
    why = "the store refused it" if how == "store" else "refused by the test"
    assert all(why in e.reason for e in refused)


def test_a_key_kept_as_an_exception_and_granted_in_one_page_is_settled(
    engine: Engine, mappings: MappingSet
) -> None:
    unmapped: Purchase = purchase("ord_1", currency="GBP")  # credits-1k has no GBP
    page: list[CanonicalEvent] = [unmapped, purchase("ord_1")]
    with engine.begin() as conn:
        report = apply_events(conn, "files", page, mappings)
    assert report.counts == Counter({"purchase.held": 1, "purchase.granted": 1})
    assert list_exceptions(engine) == []
    assert [e.status for e in list_exceptions(engine, status=None)] == ["resolved"]
