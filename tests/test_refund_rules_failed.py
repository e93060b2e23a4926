"""A refund that later fails is undone: its credits and deferred revenue come back with the
reverse entry, the next segment starts from them, and a failure that arrives before its refund
waits for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from connector.recognition.failed_refunds import apply_refund_failed
from connector.recognition.run import recognize
from connector.recognition.tables import journal_entries
from connector.runtime import Runtime
from connector.sync.exceptions import OPEN, list_exceptions
from tests.refund_rules_helpers import (
    assert_consistent,
    at,
    burn,
    credits_left,
    figures_at,
    money_events,
    refund_failed,
    refund_rules_runtime,
    sync,
)
from tests.sync_helpers import purchase, refund


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    built = refund_rules_runtime(db_url, tmp_path)
    sync(built, purchase("inv_1", "credits-1k", net_amount=1_000, at=at(1, 5)))
    burn(built, "b1", 400, at(1, 10))  # revenue 400, D = 600, Q = 600
    return built


def refund_entries(runtime: Runtime) -> list[tuple[str, int, int]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(journal_entries.c.period, journal_entries.c.refunded, journal_entries.c.contra)
            .where(journal_entries.c.kind == "refund")
            .order_by(journal_entries.c.created_at, journal_entries.c.id)
        ).all()
    return [(period, refunded, contra) for period, refunded, contra in rows]


def test_a_failed_refund_gives_back_its_credits_and_deferred_revenue(runtime: Runtime) -> None:
    sync(runtime, refund("re_1", "inv_1", 300, at(2, 10)))  # k = 300, Dr deferred 300
    assert credits_left(runtime, "inv_1") == {"paid": 300}
    recognize(runtime.engine, at(2, 15), runtime.gl_accounts)
    sync(runtime, refund_failed("rf_1", "re_1", "inv_1", at(2, 20)))
    assert credits_left(runtime, "inv_1") == {"paid": 600}
    figures = figures_at(runtime, "inv_1", at(2, 21))
    assert (figures["refunded"], figures["contra"], figures["deferred"]) == (0, 0, 600)
    recognize(runtime.engine, at(3, 1, 0), runtime.gl_accounts)
    # The refund's entry, then its mirror: Dr clearing 300 / Cr deferred revenue 300.
    assert refund_entries(runtime) == [("2026-02", 300, 0), ("2026-02", -300, 0)]
    burn(runtime, "b2", 600, at(3, 5))  # the next segment: D = 600 over Q = 600
    figures = figures_at(runtime, "inv_1", at(4, 1))
    assert (figures["revenue"], figures["deferred"]) == (1_000, 0)
    assert_consistent(runtime, at(4, 1, 0))


def test_a_failed_refund_beyond_the_deferred_balance_gives_back_the_contra_revenue(
    runtime: Runtime,
) -> None:
    burn(runtime, "b2", 500, at(1, 11))  # D = 100, Q = 100
    sync(runtime, refund("re_1", "inv_1", 300, at(2, 10)))  # Dr deferred 100 + contra 200
    assert credits_left(runtime, "inv_1") == {"paid": 0}
    sync(runtime, refund_failed("rf_1", "re_1", "inv_1", at(2, 20)))
    assert credits_left(runtime, "inv_1") == {"paid": 100}
    assert money_events(runtime, "reversal") == [(-300, 100, -100, -200)]
    figures = figures_at(runtime, "inv_1", at(3, 1))
    assert (figures["revenue"], figures["contra"], figures["deferred"]) == (900, 0, 100)
    assert_consistent(runtime, at(3, 1, 0))


def test_applying_a_failure_twice_changes_nothing(runtime: Runtime) -> None:
    sync(runtime, refund("re_1", "inv_1", 300, at(2, 10)))
    failure = refund_failed("rf_1", "re_1", "inv_1", at(2, 20))
    sync(runtime, failure)
    sync(runtime, failure)
    # The platform reports the same failure again, as another event (refund.updated, then
    # refund.failed): the refund is undone once.
    sync(runtime, refund_failed("rf_2", "re_1", "inv_1", at(2, 21)))
    with runtime.engine.begin() as conn:
        again = apply_refund_failed(conn, failure)
    assert again is not None and [(u.credits, u.to_deferred) for u in again] == [(300, 0)]
    assert credits_left(runtime, "inv_1") == {"paid": 600}
    assert money_events(runtime, "reversal") == [(-300, 300, -300, 0)]
    assert_consistent(runtime, at(3, 1, 0))


def test_a_failure_that_arrives_before_its_refund_waits_for_it(runtime: Runtime) -> None:
    sync(runtime, refund_failed("rf_1", "re_1", "inv_1", at(2, 20)))
    waiting = list_exceptions(runtime.engine, OPEN)
    assert [(e.event_kind, e.reason_code) for e in waiting] == [("refund_failed", "orphan")]
    assert "retried when the refund applies" in waiting[0].reason
    sync(runtime, refund("re_1", "inv_1", 300, at(2, 10)))
    assert credits_left(runtime, "inv_1") == {"paid": 600}  # never taken back for good
    assert list_exceptions(runtime.engine, OPEN) == []
    figures = figures_at(runtime, "inv_1", at(3, 1))
    assert (figures["refunded"], figures["deferred"]) == (0, 600)
    assert_consistent(runtime, at(3, 1, 0))


def test_a_failure_of_a_bundle_refund_gives_its_free_bonus_back(runtime: Runtime) -> None:
    sync(runtime, purchase("inv_b", "bundle-free-bonus", net_amount=10_000, at=at(1, 5)))
    sync(runtime, refund("re_b", "inv_b", 10_000, at(1, 6)))
    assert credits_left(runtime, "inv_b") == {"paid": 0, "bonus": 0}
    sync(runtime, refund_failed("rf_b", "re_b", "inv_b", at(1, 7)))
    assert credits_left(runtime, "inv_b") == {"paid": 10_000, "bonus": 2_000}
    assert_consistent(runtime, at(2, 1, 0))


def test_an_expired_pool_gets_no_credits_back_and_the_deferred_revenue_is_breakage(
    runtime: Runtime,
) -> None:
    sync(runtime, refund("re_1", "inv_1", 300, at(2, 10)))
    after_expiry = at(1, 6).replace(year=2027)  # credits-1k expires P12M: 2027-01-05
    runtime.ledger.expire(after_expiry)
    assert credits_left(runtime, "inv_1") == {"paid": 0}
    sync(runtime, refund_failed("rf_1", "re_1", "inv_1", after_expiry))
    assert credits_left(runtime, "inv_1") == {"paid": 0}
    through = after_expiry.replace(month=2, day=1, hour=0)
    figures = figures_at(runtime, "inv_1", through)
    assert (figures["revenue"], figures["breakage"], figures["refunded"]) == (400, 600, 0)
    assert_consistent(runtime, through)
