"""Reconciliation against a files sink: each kind of difference is found, the repair plan fixes
it by posting (never deleting), and a second reconciliation is clean."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from adapters.files import FilesSink
from connector.journal import EntryKind
from connector.recognition.closing import close_period
from connector.recognition.tables import journal_outbox
from connector.reconcile.model import DifferenceKind
from connector.reconcile.plan import Action, repost_id, reversal_id
from connector.reconcile.run import Reconciliation, plan_repairs, reconcile, repair
from connector.reconcile.tables import reconcile_repairs
from tests.test_reconcile_helpers import (
    OCT,
    SEP,
    TODAY,
    Book,
    append,
    build_book,
    edit,
    read,
    remove,
)


@pytest.fixture
def book(db_url: str, tmp_path: Path) -> Book:
    return build_book(db_url, tmp_path)


def check(book: Book, period: str = OCT) -> Reconciliation:
    return reconcile(
        book.runtime.engine, [FilesSink(book.journal)], period, book.runtime.gl_accounts
    )


def repair_all(book: Book, result: Reconciliation, keep_unknown: bool = False) -> list[Any]:
    sink = FilesSink(book.journal)
    actions = plan_repairs(book.runtime.engine, result, [sink], TODAY, keep_unknown=keep_unknown)
    outcome = repair(book.runtime.engine, [sink], actions)
    assert outcome.failed == []
    return actions


def kinds(result: Reconciliation) -> list[tuple[DifferenceKind, str | None]]:
    return [(d.kind, d.entry_id) for d in result.differences]


def sink_ids(book: Book, period: str) -> list[str]:
    return [r["sink_id"] for r in read(book.journal, period)]


def lines_of(entry: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(line["account"], line["debit"], line["credit"]) for line in entry["lines"]]


# Each seeder changes the sink's files by hand and returns the entry id it concerns.
def seed_missing(book: Book) -> str:
    entry = book.entry(OCT, EntryKind.DEFERRAL, "ord_oct_a")
    remove(book.journal, OCT, entry.id)
    return entry.id


def seed_duplicate(book: Book) -> str:
    entry = book.entry(OCT, EntryKind.DEFERRAL, "ord_oct_b")
    record = next(r for r in read(book.journal, OCT) if r["entry"]["id"] == entry.id)
    append(book.journal, OCT, {**record, "sink_id": "files:2026-10:copy"})
    return entry.id


def seed_amount(book: Book) -> str:
    entry = book.entry(OCT, EntryKind.RECOGNITION, "ord_oct_b")

    def more(raw: dict[str, Any]) -> None:
        for line in raw["lines"]:
            line["debit"] = line["debit"] and line["debit"] + 10
            line["credit"] = line["credit"] and line["credit"] + 10

    edit(book.journal, OCT, entry.id, more)
    return entry.id


def seed_account(book: Book) -> str:
    entry = book.entry(OCT, EntryKind.RECOGNITION, "ord_oct_c")

    def elsewhere(raw: dict[str, Any]) -> None:
        for line in raw["lines"]:
            if line["account"] == "4010":
                line["account"] = "4999"

    edit(book.journal, OCT, entry.id, elsewhere)
    return entry.id


def seed_unknown(book: Book) -> str:
    template = read(book.journal, OCT)[0]
    append(
        book.journal,
        OCT,
        {
            "sink_id": "files:2026-10:manual",
            "posted_at": template["posted_at"],
            "entry": {
                **template["entry"],
                "id": "manual-7",
                "kind": "recognition",
                "memo": "typed in by hand",
                "pool_ids": [],
                "source_keys": [],
                "lines": [
                    {"account": "1205", "debit": 500, "credit": 0, "memo": ""},
                    {"account": "4010", "debit": 0, "credit": 500, "memo": ""},
                ],
            },
        },
    )
    return "manual-7"


def seed_wrong_period(book: Book) -> str:
    """September's deferral moved into October's file."""
    entry = book.entry(SEP, EntryKind.DEFERRAL, "ord_sep")
    append(book.journal, OCT, remove(book.journal, SEP, entry.id))
    return entry.id


SEEDS: dict[DifferenceKind, tuple[Callable[[Book], str], list[Action]]] = {
    DifferenceKind.MISSING: (seed_missing, [Action.POST]),
    DifferenceKind.DUPLICATE: (seed_duplicate, [Action.REVERSE]),
    DifferenceKind.AMOUNT_DIFFERS: (seed_amount, [Action.REVERSE, Action.REPOST]),
    DifferenceKind.ACCOUNT_DIFFERS: (seed_account, [Action.REVERSE, Action.REPOST]),
    DifferenceKind.UNKNOWN: (seed_unknown, [Action.REVERSE]),
    DifferenceKind.WRONG_PERIOD: (seed_wrong_period, [Action.REVERSE, Action.REPOST]),
}


def test_a_clean_book_reconciles_and_ties(book: Book) -> None:
    result = check(book)
    assert result.differences == []
    assert [(r.check, r.source, r.currency, r.subledger, r.ledger) for r in result.tie_out] == [
        # pools' deferred at Oct 31: 4 x 1000 + 1000 bought - 100 - 300 - 250 - 400 - 500 used
        ("deferred revenue", "files", "USD", 3450, 3450),
        ("billings", "journal", "USD", 4000, 4000),
    ]
    assert result.clean


@pytest.mark.parametrize("kind", list(SEEDS), ids=lambda k: str(k).replace(" ", "_"))
def test_each_kind_of_difference_is_found_and_repaired(book: Book, kind: DifferenceKind) -> None:
    seed, expected_actions = SEEDS[kind]
    entry_id = seed(book)
    before = {period: sink_ids(book, period) for period in (SEP, OCT)}

    found = check(book)
    assert kinds(found) == [(kind, entry_id)]
    assert not found.clean
    actions = repair_all(book, found)
    assert [a.action for a in actions] == expected_actions

    for period in (SEP, OCT):  # nothing was deleted or rewritten
        after = sink_ids(book, period)
        assert after[: len(before[period])] == before[period]
    again = check(book)
    assert again.differences == []
    assert again.clean, again.tie_out
    assert check(book, SEP).differences == []


def test_all_kinds_at_once_then_a_second_repair_posts_nothing(book: Book) -> None:
    seeded = {kind: seed(book) for kind, (seed, _actions) in SEEDS.items()}
    found = check(book)
    assert sorted(kinds(found)) == sorted(seeded.items())
    deferred = next(r for r in found.tie_out if r.check == "deferred revenue")
    assert not deferred.ties

    actions = repair_all(book, found)
    assert check(book).clean
    assert check(book, SEP).clean
    posted = {period: len(read(book.journal, period)) for period in (SEP, OCT)}

    # The same plan carried out again (a crash, a second operator): every id exists already.
    again = repair(book.runtime.engine, [FilesSink(book.journal)], actions)
    assert again.failed == []
    assert {period: len(read(book.journal, period)) for period in (SEP, OCT)} == posted
    assert plan_repairs(book.runtime.engine, check(book), [FilesSink(book.journal)], TODAY) == []


def test_repair_entries_mirror_or_restore_and_have_derived_ids(book: Book) -> None:
    entry_id = seed_amount(book)
    wrong = next(r for r in read(book.journal, OCT) if r["entry"]["id"] == entry_id)
    repair_all(book, check(book))
    by_id = {r["entry"]["id"]: r["entry"] for r in read(book.journal, OCT)}

    reverse = by_id[reversal_id("files", entry_id, wrong["sink_id"], OCT)]
    assert reverse["kind"] == "reversal"
    assert reverse["period"] == OCT
    assert sorted(lines_of(reverse)) == sorted((a, c, d) for a, d, c in lines_of(wrong["entry"]))
    right = by_id[repost_id("files", entry_id)]
    original = book.entry(OCT, EntryKind.RECOGNITION, "ord_oct_b")
    assert right["kind"] == "recognition"
    assert lines_of(right) == [(x.account, x.debit, x.credit) for x in original.lines]
    assert right["lines"] != wrong["entry"]["lines"]
    with book.runtime.engine.connect() as conn:
        rows = conn.execute(select(reconcile_repairs)).mappings().all()
    assert sorted((r["action"], r["status"], r["original_entry_id"]) for r in rows) == [
        ("repost", "posted", entry_id),
        ("reverse", "posted", entry_id),
    ]


def test_a_wrong_period_copy_is_only_reversed_when_its_own_period_holds_it(book: Book) -> None:
    entry = book.entry(SEP, EntryKind.DEFERRAL, "ord_sep")
    record = next(r for r in read(book.journal, SEP) if r["entry"]["id"] == entry.id)
    append(book.journal, OCT, {**record, "sink_id": "files:2026-10:stray"})
    found = check(book)
    assert kinds(found) == [(DifferenceKind.WRONG_PERIOD, entry.id)]
    assert [a.action for a in repair_all(book, found)] == [Action.REVERSE]
    assert check(book).clean
    assert check(book, SEP).clean


def test_missing_entries_are_posted_and_marked_posted_in_the_outbox(book: Book) -> None:
    entry_id = seed_missing(book)
    found = check(book)
    assert "outbox: posted" in found.differences[0].detail  # the sink lost a posted entry
    repair_all(book, found)
    assert entry_id in {r["entry"]["id"] for r in read(book.journal, OCT)}
    with book.runtime.engine.connect() as conn:
        status = conn.execute(
            select(journal_outbox.c.status, journal_outbox.c.sink_entry_id).where(
                journal_outbox.c.entry_id == entry_id
            )
        ).one()
    assert status[0] == "posted" and status[1].startswith("files:2026-10:")


def test_unknown_postings_can_be_left_for_review(book: Book) -> None:
    seed_unknown(book)
    actions = repair_all(book, check(book), keep_unknown=True)
    assert [a.action for a in actions] == [Action.LEAVE]
    assert kinds(check(book)) == [(DifferenceKind.UNKNOWN, "manual-7")]


def test_corrections_of_a_closed_period_go_into_the_first_open_period(book: Book) -> None:
    with book.runtime.engine.begin() as conn:
        close_period(conn, SEP)
    entry = book.entry(SEP, EntryKind.RECOGNITION, "ord_sep")

    def more(raw: dict[str, Any]) -> None:
        for line in raw["lines"]:
            line["debit"] = line["debit"] and line["debit"] + 1
            line["credit"] = line["credit"] and line["credit"] + 1

    edit(book.journal, SEP, entry.id, more)
    found = check(book, SEP)
    assert kinds(found) == [(DifferenceKind.AMOUNT_DIFFERS, entry.id)]
    actions = repair_all(book, found)
    assert {a.entry.period for a in actions if a.entry} == {OCT}
    assert {a.entry.entry_date for a in actions if a.entry} == {TODAY.replace(month=10, day=31)}
    assert check(book, SEP).differences == []
    assert check(book, OCT).clean  # the reversal and the right version are October's now


def test_tie_out_shows_the_difference_when_a_posting_is_removed(book: Book) -> None:
    remove(book.journal, OCT, book.entry(OCT, EntryKind.DEFERRAL, "ord_oct_d").id)
    rows = {r.check: r for r in check(book).tie_out}
    assert rows["deferred revenue"].difference == -1000
    assert rows["deferred revenue"].result == "differs by -10.00 USD"
    assert rows["billings"].ties  # creditsync's own journal still bills the purchase


def test_a_missing_entry_of_a_closed_period_is_posted_in_the_first_open_one(book: Book) -> None:
    with book.runtime.engine.begin() as conn:
        close_period(conn, SEP)
    entry = book.entry(SEP, EntryKind.DEFERRAL, "ord_sep")
    remove(book.journal, SEP, entry.id)
    found = check(book, SEP)
    assert kinds(found) == [(DifferenceKind.MISSING, entry.id)]
    assert not found.clean
    actions = repair_all(book, found)
    assert [(a.action, a.entry.period if a.entry else None) for a in actions] == [
        (Action.REPOST, OCT)
    ]
    moved = actions[0].entry
    assert moved is not None and moved.id == repost_id("files", entry.id)
    assert f"for {entry.id} of {SEP}" in moved.memo
    assert entry.id not in {r["entry"]["id"] for r in read(book.journal, SEP)}
    again = check(book, SEP)
    assert again.differences == [] and again.clean
    deferred = next(r for r in again.tie_out if r.check == "deferred revenue")
    assert deferred.difference == -1000
    assert deferred.result == f"corrected in {OCT} by entry {moved.id}"
    assert check(book, OCT).clean
