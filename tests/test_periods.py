"""Closing periods: in order, final, only after recognition covered them; late facts post later."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from connector.errors import InvalidInput
from connector.journal import EntryKind
from connector.recognition.closing import close_period, list_periods
from connector.recognition.refunds import apply_refund
from connector.recognition.run import recognize
from connector.recognition.tables import accounting_periods, journal_entries
from tests.test_recognition_helpers import (
    GL,
    at,
    burn,
    by_period,
    grant,
    month_start,
    new_ledger,
    posted_figures,
)


def _close(engine: Engine, period: str, timezone: str = "UTC") -> None:
    with engine.begin() as conn:
        close_period(conn, period, timezone)


def _entries_in(engine: Engine, period: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(journal_entries.c.id).where(journal_entries.c.period == period)
            ).scalars()
        )


def test_periods_close_in_order_and_only_once_recognized(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    burn(ledger, 10, at(2026, 1, 5))
    burn(ledger, 10, at(2026, 2, 5))
    recognize(engine, at(2026, 2, 15), GL)
    with pytest.raises(InvalidInput) as not_covered:
        _close(engine, "2026-02")
    assert "2026-01" in not_covered.value.problem  # January has entries and is open
    _close(engine, "2026-01")
    with pytest.raises(InvalidInput) as early:
        _close(engine, "2026-02")
    assert "recognize --through 2026-02-28" in early.value.fix
    with pytest.raises(InvalidInput) as skipping:
        _close(engine, "2026-04")
    assert skipping.value.fix == "close 2026-02 first"
    recognize(engine, month_start(2026, 3), GL)
    _close(engine, "2026-02")
    _close(engine, "2026-02")  # closing again changes nothing
    with engine.connect() as conn:
        assert [p.period for p in list_periods(conn) if p.closed] == ["2026-01", "2026-02"]
        assert len(conn.execute(select(accounting_periods)).all()) == 2


def test_a_closed_period_never_receives_entries(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(ledger, amount=9000, credits=900, effective_at=at(2026, 1, 2, 0))
    burn(ledger, 300, at(2026, 1, 15))
    recognize(engine, month_start(2026, 2), GL)
    _close(engine, "2026-01")
    january = _entries_in(engine, "2026-01")
    burn(ledger, 150, at(2026, 1, 30))
    with engine.begin() as conn:
        apply_refund(conn, pool_id, 1000, "re_late", at(2026, 1, 31))
    late_pool = grant(ledger, amount=500, credits=50, effective_at=at(2026, 1, 20, 0), account="b")
    run = recognize(engine, month_start(2026, 3), GL)
    assert _entries_in(engine, "2026-01") == january
    assert {e.period for e in run.entries} == {"2026-02"}
    late = {(e.kind, e.total) for e in run.entries if e.late}
    assert late == {
        (EntryKind.DEFERRAL, 500),
        (EntryKind.RECOGNITION, 1500),
        (EntryKind.REFUND, 1000),
    }
    assert all(e.late for e in run.entries)  # nothing happened in February itself
    assert late_pool > pool_id


def test_through_inside_closed_periods_is_refused(engine: Engine) -> None:
    recognize(engine, month_start(2026, 2), GL)
    _close(engine, "2026-01")
    with pytest.raises(InvalidInput) as caught:
        recognize(engine, month_start(2026, 2), GL)
    assert "2026-02" in caught.value.fix


def test_late_consumption_spanning_two_closed_periods_lands_in_the_first_open_one(
    engine: Engine,
) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=10000, credits=1000, effective_at=at(2026, 1, 1, 0))
    recognize(engine, month_start(2026, 3), GL)
    _close(engine, "2026-01")
    _close(engine, "2026-02")
    burn(ledger, 100, at(2026, 1, 10))
    burn(ledger, 200, at(2026, 2, 10))
    burn(ledger, 50, at(2026, 3, 10))
    recognize(engine, month_start(2026, 4), GL)
    figures = posted_figures(engine)
    assert figures[("2026-03", "revenue", True)] == 3000
    assert figures[("2026-03", "revenue", False)] == 500
    assert by_period(engine, "revenue") == {"2026-03": 3500}


def test_periods_follow_the_configured_timezone(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    burn(ledger, 10, at(2026, 2, 1, 3))  # 22:00 on January 31 in New York
    recognize(engine, month_start(2026, 3), GL, timezone="America/New_York")
    assert by_period(engine, "revenue") == {"2026-01": 100}
    assert by_period(engine, "billed") == {"2025-12": 1000}  # 19:00 on December 31 there
    with pytest.raises(InvalidInput) as caught:
        _close(engine, "2026-01")  # closing must use the same timezone
    assert caught.value.field == "timezone"
    _close(engine, "2025-12", "America/New_York")
    _close(engine, "2026-01", "America/New_York")


def test_a_period_with_unrecognized_changes_cannot_close(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    recognize(engine, month_start(2026, 2), GL)
    burn(ledger, 10, at(2026, 1, 20))  # recorded after the run, dated in January
    with pytest.raises(InvalidInput) as caught:
        _close(engine, "2026-01")
    assert "1 ledger change(s)" in caught.value.problem
    burn(ledger, 10, at(2026, 2, 3))  # dated after January: no obstacle
    recognize(engine, month_start(2026, 2), GL)
    _close(engine, "2026-01")
    assert by_period(engine, "revenue") == {"2026-01": 100}


def test_a_period_with_expiries_not_yet_applied_cannot_close(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(
        ledger,
        amount=12000,
        credits=1200,
        effective_at=at(2026, 1, 15, 0),
        expires_at=at(2026, 4, 15, 0),
    )
    burn(ledger, 900, at(2026, 2, 1))
    recognize(engine, month_start(2026, 5), GL)
    for period in ("2026-01", "2026-02", "2026-03"):
        _close(engine, period)
    with pytest.raises(InvalidInput) as caught:
        _close(engine, "2026-04")
    assert "1 pool(s) expire before the end of 2026-04" in caught.value.problem
    assert "creditsync expire --at 2026-05-01T00:00:00+00:00" in caught.value.fix
    ledger.expire(month_start(2026, 5))
    recognize(engine, month_start(2026, 5), GL)
    _close(engine, "2026-04")
    assert by_period(engine, "breakage") == {"2026-04": 3000}
    assert posted_figures(engine).get(("2026-05", "breakage", True)) is None
