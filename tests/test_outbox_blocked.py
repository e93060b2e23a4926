"""Entries a book refuses: blocked in the outbox with the book's message, never retried or moved
on their own, re-dated only by an explicit call; and a sink's concurrency honoured by the drain."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import Engine

from connector.errors import InvalidInput
from connector.journal import JournalEntry
from connector.outbox.drain import drain
from connector.ports import EntryBlocked
from connector.reconcile import records
from connector.reconcile.plan import repost_id
from connector.reconcile.redate import blocked, redate
from tests.test_outbox import MemorySink, _entries, _no_sleep, _statuses

TODAY = date(2026, 3, 10)


class ClosingBook(MemorySink):
    """A book whose closed periods refuse every entry, the way an ERP's period lock does."""

    def __init__(self, closed: set[str], name: str = "erp") -> None:
        super().__init__(name)
        self.closed = closed

    def post(self, entry: JournalEntry) -> str:
        if entry.period in self.closed:
            self.calls += 1
            raise EntryBlocked(
                f"You cannot post to a closed period ({entry.period}).", entry.period
            )
        return super().post(entry)


def test_a_refused_entry_is_blocked_with_the_books_message_after_one_attempt(
    engine: Engine,
) -> None:
    count = _entries(engine)
    book = ClosingBook({"2026-01"})
    waits: list[float] = []
    result = drain(engine, book, backoff=_no_sleep(waits))
    assert (result.posted, result.failed, len(result.blocked)) == (0, 0, count)
    assert waits == [] and book.calls == count  # not retried
    assert {s for s, _id, _n in _statuses(engine, "erp").values()} == {"blocked"}
    with engine.connect() as conn:
        found = blocked(conn, "erp")
    assert [w.period for w in found] == ["2026-01"] * count
    assert all("closed period (2026-01)" in w.message for w in found)

    again = drain(engine, book, backoff=_no_sleep(waits))  # a later drain leaves them alone
    assert (again.posted, len(again.blocked)) == (0, 0) and book.calls == count


def test_retry_failed_queues_blocked_entries_again_once_the_book_reopens(engine: Engine) -> None:
    count = _entries(engine)
    book = ClosingBook({"2026-01"})
    drain(engine, book, backoff=_no_sleep([]))
    book.closed.clear()
    result = drain(engine, book, backoff=_no_sleep([]), retry_failed=True)
    assert result.posted == count and len(book.held) == count


def test_redate_reposts_into_the_period_given_and_replaces_the_original(engine: Engine) -> None:
    count = _entries(engine)
    book = ClosingBook({"2026-01"})
    drain(engine, book, backoff=_no_sleep([]))
    with engine.connect() as conn:
        originals = sorted(w.entry_id for w in blocked(conn, "erp"))

    moved = redate(engine, book, "2026-03", TODAY, backoff=_no_sleep([]))
    assert sorted(m.original_id for m in moved) == originals
    assert all(m.sink_id is not None for m in moved)
    for m in moved:
        assert m.entry.id == repost_id("erp", m.original_id)
        assert (m.entry.period, m.entry.entry_date) == ("2026-03", TODAY)
        assert m.entry.memo.endswith("re-dated from 2026-01")
    assert sorted(book.held) == sorted(m.entry.id for m in moved)
    with engine.connect() as conn:
        assert blocked(conn, "erp") == []
        made = records.repairs(conn, "erp")
    assert {(r.reason, r.status, r.original_entry_id) for r in made} == {
        ("redated", "posted", entry_id) for entry_id in originals
    }
    assert {s for s, _id, _n in _statuses(engine, "erp").values()} == {"redated"}
    assert redate(engine, book, "2026-03", TODAY) == []  # nothing left: a no-op
    assert len(moved) == count


def test_a_redated_entry_refused_again_can_be_redated_again(engine: Engine) -> None:
    _entries(engine, pools=1)
    book = ClosingBook({"2026-01", "2026-02"})
    drain(engine, book, backoff=_no_sleep([]))
    first = redate(engine, book, "2026-02", TODAY, backoff=_no_sleep([]))
    assert all(m.blocked and m.sink_id is None for m in first)
    with engine.connect() as conn:
        waiting = blocked(conn, "erp")
    assert {w.entry_id for w in waiting} == {m.entry.id for m in first}
    assert {w.period for w in waiting} == {"2026-02"}
    second = redate(engine, book, "2026-03", TODAY, backoff=_no_sleep([]))
    assert {m.entry.id for m in second} == {m.entry.id for m in first}  # same derived ids
    assert all(m.sink_id and m.entry.period == "2026-03" for m in second)
    assert all(m.entry.memo.count("re-dated from") == 1 for m in second)


def test_redating_refuses_an_earlier_or_a_closed_period(engine: Engine) -> None:
    _entries(engine, pools=1)
    book = ClosingBook({"2026-02"})
    book.closed.add("2026-01")
    drain(engine, book, backoff=_no_sleep([]))
    with pytest.raises(InvalidInput, match="never earlier"):
        redate(engine, book, "2025-12", TODAY)
    with pytest.raises(InvalidInput, match="is not"):
        redate(engine, book, "March", TODAY)
    with engine.connect() as conn:
        assert len(blocked(conn, "erp")) > 0  # nothing was changed
        assert records.repairs(conn, "erp") == []


def test_redate_can_take_one_entry(engine: Engine) -> None:
    count = _entries(engine)
    assert count > 1
    book = ClosingBook({"2026-01"})
    drain(engine, book, backoff=_no_sleep([]))
    with engine.connect() as conn:
        chosen = blocked(conn, "erp")[0].entry_id
    moved = redate(engine, book, "2026-02", TODAY, only=[chosen])
    assert [m.original_id for m in moved] == [chosen]
    with engine.connect() as conn:
        assert len(blocked(conn, "erp")) == count - 1


class SlowBook(MemorySink):
    """Counts posts in flight at once."""

    def __init__(self, concurrency: int) -> None:
        super().__init__("slow")
        self.concurrency = concurrency
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()

    def post(self, entry: JournalEntry) -> str:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.02)
        try:
            with self._lock:
                return super().post(entry)
        finally:
            with self._lock:
                self.now -= 1


@pytest.mark.parametrize("concurrency", [1, 2])
def test_the_drain_posts_as_many_at_once_as_the_sink_allows(
    sqlite_engine: Engine, concurrency: int
) -> None:
    count = _entries(sqlite_engine, pools=6)
    assert count > concurrency
    book = SlowBook(concurrency)
    result = drain(sqlite_engine, book, backoff=_no_sleep([]))
    assert result.posted == count and len(book.held) == count
    assert book.most == concurrency
