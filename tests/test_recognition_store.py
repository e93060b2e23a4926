"""recognize() against both databases: idempotence, incremental runs, modes, refunds, voids."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from connector.errors import Conflict, InvalidInput, NotFound
from connector.journal import EntryKind, JournalLine
from connector.ledger.models import BreakageMethod
from connector.ledger.models import EntryKind as LedgerKind
from connector.ledger.pools import get_pool, take_back
from connector.recognition.links import entry_links
from connector.recognition.refunds import apply_refund, apply_void
from connector.recognition.run import recognize
from connector.recognition.tables import (
    journal_entries,
    journal_outbox,
    recognition_money,
    recognition_state,
)
from mappings.gl import GLAccounts
from tests.test_recognition_helpers import (
    ACCOUNTS,
    GL,
    at,
    burn,
    by_period,
    grant,
    month_start,
    new_ledger,
)


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_rerunning_creates_nothing_new(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    burn(ledger, 10, at(2026, 1, 5))
    first = recognize(engine, month_start(2026, 2), GL)
    assert len(first.entries) == 2
    assert recognize(engine, month_start(2026, 2), GL).entries == ()
    assert recognize(engine, month_start(2026, 3), GL).entries == ()
    assert _count(engine, journal_entries) == 2


def test_a_run_recomputes_only_touched_pools_and_resumes_them(engine: Engine) -> None:
    ledger = new_ledger(engine)
    for n in range(5):
        grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0), account=f"a{n}")
        burn(ledger, 10, at(2026, 1, 5), account=f"a{n}")
    reported: list[tuple[int, int]] = []
    first = recognize(engine, month_start(2026, 2), GL, progress=lambda *p: reported.append(p))
    assert first.pools_recomputed == 5
    assert reported and reported[-1] == (5, 5)  # the progress bar ends full
    burn(ledger, 20, at(2026, 2, 5), account="a3")
    second = recognize(engine, month_start(2026, 3), GL)
    assert (second.pools_recomputed, second.pools_replayed) == (1, 0)
    assert [(e.period, e.kind, e.total) for e in second.entries] == [
        ("2026-02", EntryKind.RECOGNITION, 200)
    ]
    burn(ledger, 30, at(2026, 1, 20), account="a1")  # earlier than the last cutoff: a replay
    third = recognize(engine, month_start(2026, 3), GL)
    assert (third.pools_recomputed, third.pools_replayed) == (1, 1)
    assert [(e.period, e.total) for e in third.entries] == [("2026-01", 300)]
    assert by_period(engine, "revenue") == {"2026-01": 800, "2026-02": 200}


def test_known_events_after_the_cutoff_are_picked_up_by_a_later_run(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    burn(ledger, 10, at(2026, 1, 5))
    burn(ledger, 40, at(2026, 3, 5))  # recorded now, occurs after the first cutoff
    recognize(engine, month_start(2026, 2), GL)
    assert by_period(engine, "revenue") == {"2026-01": 100}
    with engine.connect() as conn:
        pending = conn.execute(select(recognition_state.c.next_event_at)).scalar_one()
    assert pending == at(2026, 3, 5)
    run = recognize(engine, month_start(2026, 4), GL)
    assert run.pools_recomputed == 1
    assert by_period(engine, "revenue") == {"2026-01": 100, "2026-03": 400}


def test_a_pool_bought_after_the_cutoff_is_deferred_in_its_own_period(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=5000, credits=100, effective_at=at(2026, 2, 10, 0))
    assert recognize(engine, month_start(2026, 2), GL).entries == ()
    recognize(engine, month_start(2026, 3), GL)
    assert by_period(engine, "billed") == {"2026-02": 5000}


def test_through_before_the_last_cutoff_is_refused_and_changes_nothing(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    recognize(engine, month_start(2026, 3), GL)
    before = _count(engine, journal_entries)
    with pytest.raises(InvalidInput) as caught:
        recognize(engine, month_start(2026, 2), GL)
    assert caught.value.field == "through"
    assert _count(engine, journal_entries) == before


def test_switching_timezone_is_refused(engine: Engine) -> None:
    recognize(engine, month_start(2026, 2), GL)
    with pytest.raises(InvalidInput) as caught:
        recognize(engine, month_start(2026, 3), GL, timezone="Europe/Paris")
    assert caught.value.field == "timezone"
    assert "CREDITSYNC_TIMEZONE=UTC" in caught.value.fix


def test_unknown_mode_is_refused(engine: Engine) -> None:
    with pytest.raises(InvalidInput) as caught:
        recognize(engine, month_start(2026, 2), GL, mode="monthly")
    assert caught.value.field == "mode"


def test_summarized_and_detailed_modes_post_the_same_amounts(engine: Engine) -> None:
    ledger = new_ledger(engine)
    for n in range(3):
        grant(
            ledger,
            amount=1000 * (n + 1),
            credits=100,
            effective_at=at(2026, 1, 1, 0),
            account=f"a{n}",
        )
        burn(ledger, 10 * (n + 1), at(2026, 1, 5), account=f"a{n}")
    summarized = recognize(engine, month_start(2026, 2), GL)
    assert [(e.kind, e.total, e.pool_ids) for e in summarized.entries] == [
        (EntryKind.DEFERRAL, 6000, ()),
        (EntryKind.RECOGNITION, 100 + 400 + 900, ()),
    ]
    grant(ledger, amount=700, credits=70, effective_at=at(2026, 2, 1, 0), account="a9")
    burn(ledger, 7, at(2026, 2, 2), account="a9")
    burn(ledger, 5, at(2026, 2, 2), account="a0")
    detailed = recognize(engine, month_start(2026, 3), GL, mode="detailed")
    per_pool = sorted((e.kind, e.pool_ids, e.total) for e in detailed.entries)
    assert [(k, t) for k, _p, t in per_pool] == [
        (EntryKind.DEFERRAL, 700),
        (EntryKind.RECOGNITION, 50),
        (EntryKind.RECOGNITION, 70),
    ]
    assert all(len(e.pool_ids) == 1 and len(e.source_keys) == 1 for e in detailed.entries)
    assert detailed.entries[0].source_keys[0].startswith("test:inv_")


def test_gl_accounts_come_from_the_resolver_per_pool(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0), currency="EUR")
    burn(ledger, 10, at(2026, 1, 5))
    asked = []

    def resolver(version: str | None, currency: str, entity: str | None) -> GLAccounts:
        asked.append((version, currency, entity))
        return ACCOUNTS.model_copy(update={"revenue": f"4000-{currency}"})

    run = recognize(engine, month_start(2026, 2), resolver)
    assert asked == [(None, "EUR", None)]
    recognition = next(e for e in run.entries if e.kind is EntryKind.RECOGNITION)
    assert JournalLine(account="4000-EUR", credit=100) in recognition.lines


def test_a_reclass_from_breakage_back_to_revenue_posts_mirrored_lines(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(
        ledger,
        amount=12000,
        credits=1200,
        effective_at=at(2026, 1, 1, 0),
        method=BreakageMethod.PROPORTIONAL,
        rate="0.25",
    )
    burn(ledger, 900, at(2026, 1, 10))
    recognize(engine, month_start(2026, 2), GL)
    burn(ledger, 100, at(2026, 2, 10))
    run = recognize(engine, month_start(2026, 3), GL)
    breakage = next(e for e in run.entries if e.kind is EntryKind.BREAKAGE)
    assert set(breakage.lines) == {
        JournalLine(account=ACCOUNTS.breakage_revenue, debit=1000),
        JournalLine(account=ACCOUNTS.deferred_revenue, credit=1000),
    }
    assert by_period(engine, "revenue") == {"2026-01": 9000, "2026-02": 1000}
    assert by_period(engine, "breakage") == {"2026-01": 3000, "2026-02": -1000}


def test_new_entries_are_queued_for_the_named_sinks(engine: Engine) -> None:
    ledger = new_ledger(engine)
    grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    run = recognize(engine, month_start(2026, 2), GL, sinks=("files", "erp"))
    assert _count(engine, journal_outbox) == 2 * len(run.entries) == 2


# --- refunds and voids ------------------------------------------------------------------------


def test_a_refund_is_idempotent_on_its_reference(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(ledger, amount=10000, credits=1000, effective_at=at(2026, 1, 1, 0))
    with engine.begin() as conn:
        first = apply_refund(conn, pool_id, 2500, "re_9", at(2026, 1, 10))
    with engine.begin() as conn:
        again = apply_refund(conn, pool_id, 2500, "re_9", at(2026, 1, 10))
    assert (first.credits, again.credits, again.replayed) == (250, 250, True)
    with engine.begin() as conn, pytest.raises(Conflict):
        apply_refund(conn, pool_id, 2000, "re_9", at(2026, 1, 10))
    with engine.connect() as conn:
        assert get_pool(conn, pool_id).credits_remaining == 750
    assert _count(engine, recognition_money) == 1


def test_refunding_more_than_was_paid_is_refused_and_changes_nothing(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    with engine.begin() as conn:
        apply_refund(conn, pool_id, 600, "re_1", at(2026, 1, 10))
    with pytest.raises(InvalidInput) as caught, engine.begin() as conn:
        apply_refund(conn, pool_id, 500, "re_2", at(2026, 1, 11))
    assert caught.value.field == "amount"
    with engine.connect() as conn:
        assert get_pool(conn, pool_id).credits_remaining == 40
    assert _count(engine, recognition_money) == 1
    for bad, field in ((0, "amount"), (-5, "amount")):
        with pytest.raises(InvalidInput) as refused, engine.begin() as conn:
            apply_refund(conn, pool_id, bad, "re_3", at(2026, 1, 11))
        assert refused.value.field == field
    with pytest.raises(InvalidInput) as no_ref, engine.begin() as conn:
        apply_refund(conn, pool_id, 10, " ", at(2026, 1, 11))
    assert no_ref.value.field == "reference"


def test_refund_of_an_exhausted_pool_is_contra_revenue(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    burn(ledger, 100, at(2026, 1, 5))
    with engine.begin() as conn:
        refund = apply_refund(conn, pool_id, 300, "re_1", at(2026, 1, 20))
    assert (refund.credits, refund.to_deferred, refund.contra) == (0, 0, 300)
    run = recognize(engine, month_start(2026, 2), GL)
    entry = next(e for e in run.entries if e.kind is EntryKind.REFUND)
    assert set(entry.lines) == {
        JournalLine(account=ACCOUNTS.refunds, debit=300),
        JournalLine(account=ACCOUNTS.clearing, credit=300),
    }


def test_refund_split_uses_the_state_at_its_moment(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(ledger, amount=10000, credits=1000, effective_at=at(2026, 1, 1, 0))
    burn(ledger, 500, at(2026, 1, 20))  # after the refund's moment: not in its state
    with engine.begin() as conn:
        refund = apply_refund(conn, pool_id, 1000, "re_1", at(2026, 1, 10))
    assert (refund.deferred_before, refund.credits_before, refund.credits) == (10000, 1000, 100)


def test_void_takes_every_credit_back_and_reverses_the_deferred_balance(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    burn(ledger, 30, at(2026, 1, 5))
    with engine.begin() as conn:
        void = apply_void(conn, pool_id, "void_1", at(2026, 1, 15))
    assert (void.credits, void.amount, void.contra) == (70, 700, 0)
    with engine.begin() as conn:
        assert apply_void(conn, pool_id, "void_1", at(2026, 1, 15)).replayed
        assert get_pool(conn, pool_id).credits_remaining == 0
    recognize(engine, month_start(2026, 2), GL)
    assert by_period(engine, "refunded") == {"2026-01": 700}
    assert by_period(engine, "revenue") == {"2026-01": 300}


def test_a_take_back_outside_recognition_is_forfeited_as_breakage(engine: Engine) -> None:
    ledger = new_ledger(engine)
    pool_id = grant(ledger, amount=1000, credits=100, effective_at=at(2026, 1, 1, 0))
    with engine.begin() as conn:
        take_back(conn, pool_id, 25, LedgerKind.CLAWBACK, "manual", at(2026, 1, 3))
    recognize(engine, month_start(2026, 2), GL)
    assert by_period(engine, "breakage") == {"2026-01": 250}


def test_a_summarized_entry_links_back_to_its_pools_to_the_cent(engine: Engine) -> None:
    ledger = new_ledger(engine)
    for n in range(3):
        grant(ledger, amount=1000, credits=300, effective_at=at(2026, 1, 1, 0), account=f"a{n}")
        burn(ledger, 100, at(2026, 1, 5), account=f"a{n}")
    run = recognize(engine, month_start(2026, 2), GL)
    recognition = next(e for e in run.entries if e.kind is EntryKind.RECOGNITION)
    with engine.connect() as conn:
        links = entry_links(conn, recognition.id)
        with pytest.raises(NotFound):
            entry_links(conn, "je-missing")
    assert [(link.figure, link.amount) for link in links] == [("revenue", 333)] * 3
    assert sum(link.amount for link in links) == recognition.total
    assert all(link.source_key.startswith("test:inv_") for link in links)
