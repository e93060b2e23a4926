"""ACCOUNTING.md's worked examples, each to the cent, through the ledger and recognition."""

from __future__ import annotations

from sqlalchemy import Engine, select

from connector.journal import EntryKind, JournalLine
from connector.ledger.models import BreakageMethod, PoolKind
from connector.ledger.pools import get_pool
from connector.recognition.closing import close_period
from connector.recognition.refunds import apply_refund
from connector.recognition.run import recognize
from connector.recognition.tables import journal_entries
from connector.recognition.terms import split_bonus
from tests.test_recognition_helpers import (
    ACCOUNTS,
    GL,
    at,
    burn,
    by_period,
    grant,
    month_start,
    new_ledger,
    posted_figures,
)


def test_1_cumulative_rounding_never_drifts(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=300, effective_at=at(2026, 1, 1, 0))
    for month in (1, 2, 3):
        burn(ledger, 100, at(2026, month, 10))
        recognize(engine, month_start(2026, month + 1), GL)
    assert by_period(engine, "revenue") == {"2026-01": 333, "2026-02": 334, "2026-03": 333}
    assert by_period(engine, "billed") == {"2026-01": 1000}


def test_2_remote_breakage_at_expiry(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(
        ledger,
        amount=12000,
        credits=1200,
        effective_at=at(2026, 1, 15, 0),
        expires_at=at(2026, 4, 15, 0),
    )
    burn(ledger, 300, at(2026, 1, 20))
    burn(ledger, 500, at(2026, 2, 20))
    burn(ledger, 100, at(2026, 3, 20))
    ledger.expire(at(2026, 4, 30))
    recognize(engine, month_start(2026, 5), GL)
    assert by_period(engine, "revenue") == {"2026-01": 3000, "2026-02": 5000, "2026-03": 1000}
    assert by_period(engine, "breakage") == {"2026-04": 3000}


def test_3_proportional_breakage_with_true_up(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(
        ledger,
        amount=12000,
        credits=1200,
        effective_at=at(2026, 1, 15, 0),
        expires_at=at(2026, 4, 15, 0),
        method=BreakageMethod.PROPORTIONAL,
        rate="0.25",
    )
    burn(ledger, 300, at(2026, 1, 20))
    burn(ledger, 500, at(2026, 2, 20))
    burn(ledger, 100, at(2026, 3, 20))
    for month in (2, 3, 4):
        recognize(engine, month_start(2026, month), GL)
    ledger.expire(at(2026, 4, 30))
    run = recognize(engine, month_start(2026, 5), GL)
    assert run.entries == ()  # April's true-up is 0: nothing to post
    assert by_period(engine, "revenue") == {"2026-01": 3000, "2026-02": 5000, "2026-03": 1000}
    assert by_period(engine, "breakage") == {"2026-01": 1000, "2026-02": 1667, "2026-03": 333}
    assert sum(by_period(engine, "revenue").values()) == 9000
    assert sum(by_period(engine, "breakage").values()) == 3000


def test_4_bonus_sharing_the_price(engine: Engine) -> None:
    paid_amount, bonus_amount = split_bonus(10000, 1000, 200)
    assert (paid_amount, bonus_amount) == (8333, 1667)
    ledger = new_ledger(engine)
    expires = at(2027, 1, 1, 0)
    grant(
        ledger,
        amount=paid_amount,
        credits=1000,
        effective_at=at(2026, 1, 1, 0),
        expires_at=expires,
        object_id="bundle",
    )
    grant(
        ledger,
        amount=bonus_amount,
        credits=200,
        kind=PoolKind.BONUS,
        effective_at=at(2026, 1, 1, 0),
        expires_at=expires,
        object_id="bundle",
        part="bonus",
    )
    burn(ledger, 600, at(2026, 1, 20))
    run = recognize(engine, month_start(2026, 2), GL, mode="detailed")
    revenue = {e.pool_ids[0]: e.total for e in run.entries if e.kind is EntryKind.RECOGNITION}
    assert sorted(revenue.values()) == [1667, 3333]
    assert by_period(engine, "revenue") == {"2026-01": 5000}


def test_5_partial_refund_then_expiry(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(
        ledger,
        amount=10000,
        credits=1000,
        effective_at=at(2026, 1, 5, 0),
        expires_at=at(2026, 7, 5, 0),
    )
    burn(ledger, 400, at(2026, 1, 20))
    with engine.begin() as conn:
        refund = apply_refund(conn, pool_id, 3000, "re_1", at(2026, 2, 10))
    assert (refund.deferred_before, refund.credits_before) == (6000, 600)
    assert (refund.credits, refund.to_deferred, refund.contra) == (300, 3000, 0)
    burn(ledger, 100, at(2026, 2, 20))
    ledger.expire(at(2026, 7, 6))
    run = recognize(engine, month_start(2026, 8), GL)
    with engine.connect() as conn:
        assert get_pool(conn, pool_id).credits_remaining == 0
    assert by_period(engine, "revenue") == {"2026-01": 4000, "2026-02": 1000}
    assert by_period(engine, "refunded") == {"2026-02": 3000}
    assert by_period(engine, "breakage") == {"2026-07": 2000}
    assert by_period(engine, "contra") == {}
    refund_entry = next(e for e in run.entries if e.kind is EntryKind.REFUND)
    assert set(refund_entry.lines) == {
        JournalLine(account=ACCOUNTS.deferred_revenue, debit=3000),
        JournalLine(account=ACCOUNTS.clearing, credit=3000),
    }
    assert (
        sum(
            amount
            for (_p, figure, _l), amount in posted_figures(engine).items()
            if figure in ("revenue", "breakage", "refunded")
        )
        == 5000 + 2000 + 3000
    )


def test_6_late_consumption_lands_in_the_first_open_period(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=9000, credits=900, effective_at=at(2026, 1, 2, 0))
    burn(ledger, 300, at(2026, 1, 15))
    recognize(engine, month_start(2026, 2), GL)
    with engine.begin() as conn:
        close_period(conn, "2026-01", now=at(2026, 2, 3))
    burn(ledger, 150, at(2026, 1, 30))  # arrives on Feb 5, occurred in the closed January
    burn(ledger, 150, at(2026, 2, 10))
    run = recognize(engine, month_start(2026, 3), GL)
    figures = posted_figures(engine)
    assert figures[("2026-01", "revenue", False)] == 3000
    assert figures[("2026-02", "revenue", True)] == 1500
    assert figures[("2026-02", "revenue", False)] == 1500
    assert by_period(engine, "revenue") == {"2026-01": 3000, "2026-02": 3000}
    late = [e for e in run.entries if e.late]
    assert [(e.period, e.kind, e.total) for e in late] == [("2026-02", EntryKind.RECOGNITION, 1500)]
    with engine.connect() as conn:
        january = conn.execute(
            select(journal_entries.c.id).where(journal_entries.c.period == "2026-01")
        ).all()
    assert len(january) == 2  # the deferral and January's recognition, untouched


def test_7_zero_exponent_currency(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=10000, credits=3000, currency="JPY", effective_at=at(2026, 1, 1, 0))
    burn(ledger, 1000, at(2026, 1, 10))
    run = recognize(engine, month_start(2026, 2), GL)
    assert by_period(engine, "revenue") == {"2026-01": 3333}
    assert {e.currency for e in run.entries} == {"JPY"}


def test_8_promotional_credits_first_carry_no_revenue(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(
        ledger,
        amount=0,
        credits=100,
        kind=PoolKind.PROMOTIONAL,
        effective_at=at(2026, 1, 1, 0),
        expires_at=at(2026, 1, 31, 0),
    )
    grant(
        ledger,
        amount=5000,
        credits=1000,
        effective_at=at(2026, 1, 1, 0),
        expires_at=at(2027, 1, 1, 0),
    )
    burn(ledger, 150, at(2026, 1, 20))
    recognize(engine, month_start(2026, 2), GL)
    assert by_period(engine, "revenue") == {"2026-01": 250}
    assert by_period(engine, "billed") == {"2026-01": 5000}
