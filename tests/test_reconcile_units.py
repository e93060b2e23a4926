"""Matching and planning on their own (pure): which posting is kept, which is extra, and what a
repair may and may not post."""

from __future__ import annotations

from datetime import date

from connector.journal import EntryKind, JournalEntry, JournalLine, PostedEntry
from connector.reconcile.compare import compare
from connector.reconcile.model import DifferenceKind
from connector.reconcile.plan import Action, booking_date, correction_period, plan

OCT = "2026-10"


def entry(entry_id: str, amount: int = 100, period: str = OCT) -> JournalEntry:
    return JournalEntry(
        id=entry_id,
        kind=EntryKind.RECOGNITION,
        period=period,
        entry_date=date(2026, 10, 31),
        currency="USD",
        lines=(
            JournalLine(account="2350", debit=amount),
            JournalLine(account="4010", credit=amount),
        ),
    )


def posted(sink_id: str, made: JournalEntry, entry_id: str | None = "same") -> PostedEntry:
    return PostedEntry(
        sink_id=sink_id,
        entry_id=made.id if entry_id == "same" else entry_id,
        period=made.period,
        entry_date=made.entry_date,
        currency=made.currency,
        lines=made.lines,
    )


def test_the_matching_copy_is_kept_and_the_differing_one_is_the_duplicate() -> None:
    right = entry("je-1")
    wrong = posted("s1", entry("je-1", amount=90))
    good = posted("s2", right)
    found = compare("files", OCT, [wrong, good], {"je-1": right}, {"je-1": right}, set(), {})
    assert [(d.kind, d.sink_id) for d in found] == [(DifferenceKind.DUPLICATE, "s1")]


def test_reversed_postings_take_no_part_and_unknowns_are_named() -> None:
    right = entry("je-1")
    stray = posted("s9", entry("other", amount=5), entry_id=None)
    postings = [posted("s1", entry("je-1", amount=90)), posted("s2", right), stray]
    found = compare("files", OCT, postings, {"je-1": right}, {"je-1": right}, {("je-1", "s1")}, {})
    assert [(d.kind, d.sink_id, d.detail) for d in found] == [
        (DifferenceKind.UNKNOWN, "s9", "posted without entry id")
    ]


def test_lines_compare_as_a_multiset_whatever_their_order() -> None:
    right = entry("je-1")
    flipped = PostedEntry(
        sink_id="s1",
        entry_id="je-1",
        period=OCT,
        entry_date=right.entry_date,
        currency="USD",
        lines=tuple(reversed(right.lines)),
    )
    assert compare("files", OCT, [flipped], {"je-1": right}, {"je-1": right}, set(), {}) == []


def test_a_posting_no_entry_can_mirror_is_left_for_review() -> None:
    lonely = PostedEntry(
        sink_id="s1",
        entry_id="x",
        period=OCT,
        entry_date=date(2026, 10, 5),
        currency="USD",
        lines=(JournalLine(account="2350", debit=100),),
    )
    found = compare("files", OCT, [lonely], {}, {}, set(), {})
    actions = plan(found, first_open=None, today=date(2026, 11, 2))
    assert [a.action for a in actions] == [Action.LEAVE]
    assert actions[0].entry is None


def test_where_and_when_corrections_are_booked() -> None:
    assert correction_period("2026-09", None) == "2026-09"
    assert correction_period("2026-09", "2026-09") == "2026-09"
    assert correction_period("2026-09", "2026-11") == "2026-11"
    today = date(2026, 11, 25)
    assert booking_date("2026-11", today) == today
    assert booking_date("2026-02", today) == date(2026, 2, 28)
    assert booking_date("2027-01", today) == date(2027, 1, 1)
