"""Order of arrival does not matter: a refund, credit note, lost dispute or void delivered
before its purchase waits, and applies in the purchase's own transaction.

The permutation test delivers every order of five deliveries (the purchases, a refund, a credit
note, a lost dispute, a void) over sync pages and over webhooks, each order to a customer of its
own in one database, and asserts that every customer ends in the same state as the one whose
events came in the order they occurred. The void targets a second purchase of the same customer:
under the refund rules a void of a purchase takes back everything its refunds had not, so a
void and a refund of one purchase describe different outcomes depending on which came first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import timedelta
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from connector.errors import InsufficientCredits
from connector.events import (
    CanonicalEvent,
    CreditNote,
    Dispute,
    DisputeOutcome,
    SourceKey,
    Void,
)
from connector.ledger.models import BurnRequest
from connector.ports import WebhookResult
from connector.recognition.tables import recognition_money
from connector.runtime import Runtime
from connector.store.tables import ledger_entries, pools
from connector.sync import inbox
from connector.sync.engine import run_sync
from connector.sync.exceptions import list_exceptions
from tests.sync_helpers import JAN, ListSource, assert_books_clean, purchase, refund, runtime_for

UNITS = ("purchases", "refund", "credit_note", "dispute", "void")
ORDERS = list(permutations(range(len(UNITS))))
NATURAL = ORDERS.index(tuple(range(len(UNITS))))


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    return runtime_for(db_url, tmp_path)


def _key(platform_object: str) -> SourceKey:
    return SourceKey(platform="files", object_id=platform_object)


def scenario(n: int) -> list[list[CanonicalEvent]]:
    """The five deliveries of customer ``c{n}``, in the order they occurred."""
    at = [JAN + timedelta(hours=h) for h in range(5)]
    inv_a, inv_b = f"c{n}_inv_a", f"c{n}_inv_b"
    return [
        [purchase(inv_a, customer=f"c{n}", at=at[0]), purchase(inv_b, customer=f"c{n}", at=at[0])],
        [refund(f"c{n}_re", inv_a, 300, at=at[1])],
        [
            CreditNote(
                source=_key(f"c{n}_cn"),
                occurred_at=at[2],
                currency="USD",
                target_object=inv_a,
                amount=200,
            )
        ],
        [
            Dispute(
                source=_key(f"c{n}_dp"),
                occurred_at=at[3],
                currency="USD",
                target_object=inv_a,
                amount=100,
                outcome=DisputeOutcome.LOST,
            )
        ],
        [Void(source=_key(f"c{n}_void"), occurred_at=at[4], currency="USD", target_object=inv_b)],
    ]


def by_sync(runtime: Runtime) -> None:
    """Round i's page holds the i-th delivery of every order."""
    units = [scenario(n) for n in range(len(ORDERS))]
    pages = [
        [event for n, order in enumerate(ORDERS) for event in units[n][order[i]]]
        for i in range(len(UNITS))
    ]
    summary = run_sync(runtime, "files", source=ListSource(pages))
    assert summary.status == "succeeded" and summary.pages == len(UNITS)


def by_webhooks(runtime: Runtime) -> None:
    """Round i accepts the i-th delivery of every order, then the inbox is processed."""
    units = [scenario(n) for n in range(len(ORDERS))]
    for i in range(len(UNITS)):
        for n, order in enumerate(ORDERS):
            unit = order[i]
            result = WebhookResult(f"evt_{n}_{unit}", UNITS[unit], events=units[n][unit])
            assert inbox.accept(runtime.engine, "files", result, b"{}", JAN)
        assert inbox.process_pending(runtime, limit=10_000) == len(ORDERS)


def final_state(runtime: Runtime, n: int) -> dict[str, Any]:
    """What a customer ends with, with its own prefix taken out of references."""
    prefix = f"c{n}_"
    with runtime.engine.connect() as conn:
        found_pools = conn.execute(
            select(
                pools.c.id,
                pools.c.source_object,
                pools.c.source_part,
                pools.c.credits_granted,
                pools.c.credits_remaining,
                pools.c.status,
            ).where(pools.c.account_id == f"c{n}")
        ).all()
        ids = {row.id: row.source_object.removeprefix(prefix) for row in found_pools}
        entries = conn.execute(
            select(
                ledger_entries.c.pool_id,
                ledger_entries.c.kind,
                ledger_entries.c.credits,
                ledger_entries.c.reference,
                ledger_entries.c.occurred_at,
            ).where(ledger_entries.c.pool_id.in_(list(ids)))
        ).all()
        money = conn.execute(
            select(
                recognition_money.c.pool_id,
                recognition_money.c.kind,
                recognition_money.c.reference,
                recognition_money.c.amount,
                recognition_money.c.credits,
                recognition_money.c.to_deferred,
                recognition_money.c.contra,
                recognition_money.c.occurred_at,
            ).where(recognition_money.c.pool_id.in_(list(ids)))
        ).all()

    def plain(text: str) -> str:
        return text.replace(prefix, "")

    return {
        "balance": runtime.ledger.balance(f"c{n}").total,
        "pools": sorted(
            (ids[r.id], r.source_part, r.credits_granted, r.credits_remaining, r.status)
            for r in found_pools
        ),
        "entries": Counter(
            (ids[e.pool_id], e.kind, e.credits, plain(e.reference), e.occurred_at) for e in entries
        ),
        "money": Counter(
            (ids[m.pool_id], m.kind, plain(m.reference), m.amount, m.credits, m.to_deferred)
            + (m.contra, m.occurred_at)
            for m in money
        ),
    }


@pytest.mark.parametrize("deliver", [by_sync, by_webhooks], ids=["sync", "webhooks"])
def test_every_order_of_arrival_ends_in_the_same_books(
    runtime: Runtime, deliver: Callable[[Runtime], None]
) -> None:
    deliver(runtime)
    expected = final_state(runtime, NATURAL)
    assert expected["balance"] == 1000 - 300 - 200 - 100  # inv_a's refunds; inv_b voided
    assert [p[3] for p in expected["pools"]] == [400, 0]
    assert sum(1 for key in expected["money"] if key[1] == "refund") == 3
    differing = [
        "".join(UNITS[u][0] for u in order)
        for n, order in enumerate(ORDERS)
        if final_state(runtime, n) != expected
    ]
    assert differing == []
    assert list_exceptions(runtime.engine) == []  # every early event applied with its purchase
    assert_books_clean(runtime)


def test_credits_refunded_before_the_purchase_arrived_are_never_spendable(
    runtime: Runtime,
) -> None:
    early: Sequence[CanonicalEvent] = [refund("re_1", "ord_1", 600)]
    run_sync(runtime, "files", source=ListSource([early]))
    assert list_exceptions(runtime.engine)[0].reason_code == "orphan"
    result = WebhookResult("evt_1", "invoice.paid", events=[purchase("ord_1")])
    inbox.accept(runtime.engine, "files", result, b"{}", JAN)
    inbox.process_pending(runtime)
    # the purchase and its refund committed together: 400 left, never 1,000
    assert runtime.ledger.balance("acme").total == 400
    runtime.ledger.set_rate("query", "1", JAN - timedelta(days=30), "test")
    burn = BurnRequest("acme", "b1", "query", 401, JAN + timedelta(days=1))
    with pytest.raises(InsufficientCredits, match="has 400 credits available"):
        runtime.ledger.burn(burn)
    assert list_exceptions(runtime.engine) == []
    assert_books_clean(runtime)
