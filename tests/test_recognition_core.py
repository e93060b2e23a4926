"""The pure accounting: segments, refunds, pool state transitions, periods, deltas, entries."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from connector.errors import InvalidInput
from connector.journal import EntryKind, JournalLine
from connector.ledger.models import BreakageMethod
from connector.recognition import periods, segment
from connector.recognition.deltas import Delta, plan
from connector.recognition.entries import Mode, PoolDelta, drafts, lines
from connector.recognition.refund import split_refund
from connector.recognition.state import ZERO, Figures, PoolState
from connector.recognition.stream import LedgerRow, MoneyRow, Step, build
from connector.recognition.terms import PoolTerms, parse_rate, split_bonus, terms
from mappings.gl import GLAccounts

GL = GLAccounts(
    deferred_revenue="2400",
    revenue="4000",
    breakage_revenue="4050",
    refunds="4090",
    clearing="1200",
)
REMOTE = PoolTerms(amount=12000, credits=1200)
PROPORTIONAL = PoolTerms(12000, 1200, BreakageMethod.PROPORTIONAL, Fraction(1, 4))


def check_invariant(state: PoolState) -> None:
    f = state.figures()
    assert f.revenue + f.breakage + f.refunded + state.deferred == state.terms.amount
    assert f.deferred == state.deferred
    assert state.deferred >= 0


# --- segments -------------------------------------------------------------------------------


def test_consumption_revenue_is_cumulative_and_rounded_half_even() -> None:
    assert [segment.consumption_revenue(1000, 300, u) for u in (100, 200, 300)] == [333, 667, 1000]
    assert segment.consumption_revenue(5, 2, 1) == 2  # 2.5 rounds to even
    assert segment.consumption_revenue(7, 2, 1) == 4  # 3.5 rounds to even
    assert segment.consumption_revenue(1000, 300, 400) == 1000  # never beyond D
    assert segment.consumption_revenue(400, 0, 0) == 400  # no credits: exhausted


def test_proportional_recognition_is_capped_at_the_deferred_amount() -> None:
    got = [segment.recognized(12000, 1200, u, PROPORTIONAL) for u in (300, 800, 900, 1000)]
    assert got == [4000, 10667, 12000, 12000]
    assert segment.estimated_breakage(12000, 1200, 800, PROPORTIONAL) == 2667
    assert segment.estimated_breakage(12000, 1200, 1000, PROPORTIONAL) == 2000


def test_expected_breakage_follows_the_rate() -> None:
    assert segment.expected_future_breakage(12000, 1200, 300, PROPORTIONAL) == (300, 2000)
    assert segment.expected_future_breakage(12000, 1200, 300, REMOTE) == (0, 0)
    remote_with_rate = PoolTerms(12000, 1200, BreakageMethod.REMOTE, Fraction(1, 10))
    assert segment.expected_future_breakage(12000, 1200, 0, remote_with_rate) == (120, 1200)


# --- refunds ----------------------------------------------------------------------------------


def test_refund_split_follows_the_formula() -> None:
    split = split_refund(6000, 600, 3000, 10000)
    assert (split.credits, split.to_deferred, split.contra) == (300, 3000, 0)
    beyond = split_refund(1000, 10, 1500, 10000)
    assert (beyond.credits, beyond.to_deferred, beyond.contra) == (10, 1000, 500)
    assert split_refund(1000, 3, 500, 10000).credits == 2  # round(1.5) half to even


def test_a_refund_with_nothing_deferred_claws_back_in_step_with_what_is_left_unrefunded() -> None:
    nothing_deferred = split_refund(0, 50, 700, 2800)  # round(50 x 700 / 2800) = 12.5 -> 12
    assert (nothing_deferred.credits, nothing_deferred.to_deferred, nothing_deferred.contra) == (
        12,
        0,
        700,
    )
    assert split_refund(0, 50, 7000, 7000).credits == 50


def test_a_full_refund_claws_back_every_credit_whatever_is_deferred() -> None:
    for deferred in (0, 1, 2999, 3000):
        assert split_refund(deferred, 300, 3000, 3000).credits == 300
    assert split_refund(0, 300, 2999, 3000).credits == 300  # round(299.9)
    assert split_refund(0, 300, 2990, 3000).credits == 299


# --- pool state -------------------------------------------------------------------------------


def test_example_5_in_pure_state() -> None:
    state = PoolState.start(PoolTerms(10000, 1000))
    state.bill()
    state.consume(400)
    assert state.figures().revenue == 4000
    split = state.refund(3000)
    assert (split.credits, split.to_deferred) == (300, 3000)
    assert (state.seg_deferred, state.seg_credits) == (3000, 300)
    state.consume(100)
    assert state.figures().revenue == 5000
    assert state.expire(200) == 2000
    assert state.figures() == Figures(billed=10000, revenue=5000, breakage=2000, refunded=3000)
    assert state.deferred == 0 and state.credits_left == 0
    check_invariant(state)


def test_proportional_expiry_trues_up_to_the_unconsumed_share() -> None:
    state = PoolState.start(PROPORTIONAL)
    state.consume(300)
    assert state.figures()[1:3] == (3000, 1000)
    state.expire(900)
    assert state.figures()[1:3] == (3000, 9000)
    check_invariant(state)


def test_consumption_beyond_the_estimate_reclasses_breakage_to_revenue() -> None:
    state = PoolState.start(PROPORTIONAL)
    state.consume(900)
    before = state.figures()
    state.consume(100)
    after = state.figures()
    assert (after - before).revenue == 1000
    assert (after - before).breakage == -1000
    check_invariant(state)


def test_refund_with_nothing_deferred_is_all_contra_and_claws_nothing() -> None:
    state = PoolState.start(PoolTerms(1000, 100))
    state.consume(100)
    split = state.refund(400)
    assert (split.credits, split.to_deferred, split.contra) == (0, 0, 400)
    assert state.figures().contra == 400
    check_invariant(state)


def test_refund_after_expiry_is_contra_revenue() -> None:
    state = PoolState.start(PoolTerms(1000, 100))
    state.consume(40)
    state.expire(60)
    state.refund(100)
    assert state.figures() == Figures(1000, 400, 600, 0, 100)
    check_invariant(state)


def test_refund_that_claws_the_last_credit_recognizes_what_is_left() -> None:
    state = PoolState.start(PoolTerms(1000, 10))
    state.consume(9)  # 900 recognized, 100 deferred, 1 credit
    state.refund(60)  # k = min(1, round(0.6)) = 1: no credit left for the 40 still deferred
    assert state.seg_credits == 0
    assert state.figures().revenue == 940
    assert state.deferred == 0
    check_invariant(state)


def test_void_reverses_the_remaining_deferred_and_closes_the_pool() -> None:
    state = PoolState.start(PoolTerms(1000, 100))
    state.consume(30)
    assert state.void(70) == 700
    state.consume(5)  # nothing is recognized after the void
    assert state.figures() == Figures(1000, 300, 0, 700, 0)
    check_invariant(state)


def test_forfeited_credits_become_breakage_for_their_share() -> None:
    state = PoolState.start(PoolTerms(1000, 100))
    state.consume(50)
    assert state.forfeit(10) == 100
    state.consume(40)
    assert state.figures() == Figures(1000, 900, 100, 0, 0)
    check_invariant(state)


def test_added_credits_spread_the_remaining_deferred_thinner() -> None:
    state = PoolState.start(PoolTerms(1000, 100))
    state.consume(50)
    state.add_credits(50)
    state.consume(50)
    assert state.figures().revenue == 750
    check_invariant(state)


def test_snapshot_round_trip() -> None:
    state = PoolState.start(PROPORTIONAL)
    state.consume(123)
    state.refund(500)
    again = PoolState.restore(PROPORTIONAL, state.snapshot())
    assert again == state
    again.consume(10)
    assert again != state  # a copy, not shared


# --- stream -----------------------------------------------------------------------------------


def _same_instant(refund_behind: int) -> list[Step]:
    t = datetime(2026, 2, 1, tzinfo=UTC)
    ledger = [
        LedgerRow(1, "grant", 100, "grant", t),
        LedgerRow(5, "burn", -10, "b1", t),
        LedgerRow(6, "clawback", -20, "re_1", t),
        LedgerRow(7, "clawback", -5, "manual", t),
        LedgerRow(8, "adjust", 3, "fix", t),
    ]
    money = [MoneyRow(1, "refund", 300, 20, "re_1", t, ledger_seq=refund_behind)]
    return [e.step for e in build(ledger, money, datetime(2026, 1, 1, tzinfo=UTC))]


def test_stream_replays_one_instant_in_the_order_it_was_recorded_and_skips_the_clawback() -> None:
    # Recorded after the burn (entry 5): the refund comes after it.
    assert _same_instant(5) == [Step.BILL, Step.CONSUME, Step.REFUND, Step.FORFEIT, Step.ADD]
    # Recorded before it: the refund comes first.
    assert _same_instant(4) == [Step.BILL, Step.REFUND, Step.CONSUME, Step.FORFEIT, Step.ADD]


# --- terms ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["abc", "1", "-0.1", "NaN"])
def test_bad_breakage_rates_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rate(text)
    assert caught.value.field == "breakage_rate"


def test_unknown_breakage_method_names_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        terms(100, 10, "linear", "0")
    assert caught.value.field == "breakage_method"


@pytest.mark.parametrize(("amount", "paid", "bonus"), [(10000, 1000, 200), (1, 3, 3), (999, 7, 0)])
def test_bonus_split_always_adds_up(amount: int, paid: int, bonus: int) -> None:
    a, b = split_bonus(amount, paid, bonus)
    assert a + b == amount and a >= 0 and b >= 0


# --- periods ----------------------------------------------------------------------------------


def test_periods_follow_the_configured_timezone() -> None:
    ny = ZoneInfo("America/New_York")
    assert periods.period_of(datetime(2026, 2, 1, 3, tzinfo=UTC), ny) == "2026-01"
    assert periods.period_of(datetime(2026, 2, 1, 5, tzinfo=UTC), ny) == "2026-02"
    assert periods.start_of("2026-03", ny) == datetime(2026, 3, 1, 5, tzinfo=UTC)
    assert periods.end_of("2026-03", ny) == datetime(2026, 4, 1, 4, tzinfo=UTC)  # DST began
    assert periods.next_period("2026-12") == "2027-01"
    assert periods.previous_period("2026-01") == "2025-12"
    assert periods.periods_from("2025-11", "2026-02") == (
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
    )
    assert periods.entry_date(datetime(2026, 2, 1, tzinfo=UTC), UTC) == date(2026, 1, 31)


def test_through_a_date_means_the_end_of_that_day_locally() -> None:
    ny = ZoneInfo("America/New_York")
    assert periods.parse_through("2026-10-31", UTC) == datetime(2026, 11, 1, tzinfo=UTC)
    assert periods.parse_through("2026-01-31", ny) == datetime(2026, 2, 1, 5, tzinfo=UTC)
    assert periods.parse_through("2026-01-31T10:00Z", ny) == datetime(2026, 1, 31, 10, tzinfo=UTC)
    for bad in ("2026-13-01", "yesterday", "2026-01-31T10:00"):
        with pytest.raises(InvalidInput):
            periods.parse_through(bad, UTC)


@pytest.mark.parametrize("text", ["2026-13", "26-01", "2026/01", ""])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        periods.parse_period(text)
    assert "YYYY-MM" in caught.value.fix


# --- deltas -----------------------------------------------------------------------------------


def test_plan_posts_target_minus_posted_and_splits_late_amounts() -> None:
    posted = {("2026-01", False): Figures(9000, 3000)}
    targets = {"2026-02": Figures(9000, 6000)}
    got = plan(["2026-02"], targets, posted, "2026-02", Figures(9000, 4500))
    assert got == [
        Delta("2026-02", True, Figures(0, 1500)),
        Delta("2026-02", False, Figures(0, 1500)),
    ]
    # a second run over the same facts posts nothing
    posted_after = {
        **posted,
        ("2026-02", True): Figures(0, 1500),
        ("2026-02", False): Figures(0, 1500),
    }
    assert plan(["2026-02"], targets, posted_after, "2026-02", Figures(9000, 4500)) == []


def test_plan_across_open_periods_without_closes() -> None:
    targets = {"2026-01": Figures(1000, 333), "2026-02": Figures(1000, 667)}
    assert plan(["2026-01", "2026-02"], targets, {}) == [
        Delta("2026-01", False, Figures(1000, 333)),
        Delta("2026-02", False, Figures(0, 334)),
    ]
    assert plan(["2026-02"], {"2026-02": ZERO}, {("2026-01", False): ZERO}) == []


# --- entries ----------------------------------------------------------------------------------


def test_lines_for_each_kind_and_their_mirror_for_negative_amounts() -> None:
    assert lines(EntryKind.DEFERRAL, {"billed": 500}, GL) == (
        JournalLine(account="1200", debit=500),
        JournalLine(account="2400", credit=500),
    )
    assert lines(EntryKind.BREAKAGE, {"breakage": -1000}, GL) == (
        JournalLine(account="2400", credit=1000),
        JournalLine(account="4050", debit=1000),
    )
    refund = lines(EntryKind.REFUND, {"refunded": 700, "contra": 300}, GL)
    assert refund == (
        JournalLine(account="2400", debit=700),
        JournalLine(account="4090", debit=300),
        JournalLine(account="1200", credit=1000),
    )


def _delta(pool_id: int, figures: Figures, late: bool = False) -> PoolDelta:
    return PoolDelta(
        pool_id=pool_id,
        period="2026-01",
        late=late,
        figures=figures,
        currency="USD",
        entity=None,
        accounts=GL,
        source_key=f"test:inv{pool_id}:l1:paid",
        cohort="2026-01",
    )


def test_summarized_drafts_group_pools_and_detailed_drafts_do_not() -> None:
    deltas = [
        _delta(1, Figures(1000, 300)),
        _delta(2, Figures(2000, 500)),
        _delta(3, Figures(0, 7), True),
    ]
    summarized = drafts(deltas, Mode.SUMMARIZED)
    assert [(d.kind, d.late, d.pool_ids) for d in summarized] == [
        (EntryKind.RECOGNITION, True, (3,)),
        (EntryKind.DEFERRAL, False, (1, 2)),
        (EntryKind.RECOGNITION, False, (1, 2)),
    ]
    assert summarized[1].figures == {"billed": 3000}
    detailed = drafts(deltas, Mode.DETAILED)
    assert len(detailed) == 5
    entry = detailed[-1].entry(1, date(2026, 1, 31))
    assert entry.pool_ids == (entry.pool_ids[0],) and len(entry.source_keys) == 1


def test_entry_ids_are_deterministic_and_sequenced() -> None:
    first = drafts([_delta(1, Figures(0, 300))], Mode.SUMMARIZED)[0]
    again = drafts([_delta(1, Figures(0, 999))], Mode.SUMMARIZED)[0]
    other_period = drafts([replace(_delta(1, Figures(0, 300)), period="2026-02")], Mode.SUMMARIZED)[
        0
    ]
    assert first.entry_id(1) == again.entry_id(1)
    assert first.entry_id(1) != first.entry_id(2)
    assert other_period.entry_id(1) != first.entry_id(1)


def test_an_account_set_that_cannot_balance_two_lines_is_refused() -> None:
    same = GL.model_copy(update={"revenue": "2400"})
    delta = PoolDelta(1, "2026-01", False, Figures(0, 5), "USD", None, same, "k", "2026-01")
    draft = drafts([delta], Mode.SUMMARIZED)[0]
    with pytest.raises(InvalidInput) as caught:
        draft.entry(1, date(2026, 1, 31))
    assert caught.value.field == "gl_accounts"
