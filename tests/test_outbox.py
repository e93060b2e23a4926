"""The posting outbox: retries with backoff, failures recorded, never a double post."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from connector.errors import InvalidInput
from connector.journal import JournalEntry, PostedEntry
from connector.outbox import store
from connector.outbox.drain import Backoff, drain
from connector.recognition.run import recognize
from connector.recognition.tables import journal_outbox
from tests.test_recognition_helpers import GL, at, burn, grant, month_start, new_ledger


class MemorySink:
    """A JournalSink that keeps entries by id, like a real sink honouring the idempotency key."""

    def __init__(self, name: str = "memory", failures: int = 0, error: Exception | None = None):
        self.name = name
        self.held: dict[str, JournalEntry] = {}
        self.calls = 0
        self.failures = failures
        self.error = error or ConnectionError("sink unreachable")
        self.fail_after_store = False

    def post(self, entry: JournalEntry) -> str:
        self.calls += 1
        if self.failures > 0 and not self.fail_after_store:
            self.failures -= 1
            raise self.error
        self.held.setdefault(entry.id, entry)
        if self.failures > 0:  # stored, then the answer is lost on the way back
            self.failures -= 1
            raise self.error
        return f"sink-{sorted(self.held).index(entry.id)}-{entry.id[-8:]}"

    def posted(self, period: str) -> list[PostedEntry]:
        return [
            PostedEntry(
                sink_id=e.id,
                entry_id=e.id,
                period=e.period,
                entry_date=e.entry_date,
                currency=e.currency,
                lines=e.lines,
            )
            for e in self.held.values()
            if e.period == period
        ]


def _no_sleep(waits: list[float]) -> Backoff:
    return Backoff(attempts=4, initial=1, maximum=8, jitter=0.5, sleep=waits.append)


def _entries(engine: Engine, pools: int = 2) -> int:
    ledger = new_ledger(engine)
    for n in range(pools):
        grant(
            ledger,
            amount=1000,
            credits=100,
            effective_at=at(2026, 1, 1, 0),
            currency="USD" if n % 2 else "EUR",
        )
    burn(ledger, 10, at(2026, 1, 5))
    return len(recognize(engine, month_start(2026, 2), GL).entries)


def _statuses(engine: Engine, sink: str) -> dict[str, tuple[str, str | None, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(journal_outbox).where(journal_outbox.c.sink == sink)).mappings()
        return {r["entry_id"]: (r["status"], r["sink_entry_id"], r["attempts"]) for r in rows}


def test_drain_posts_everything_once_and_records_sink_ids(engine: Engine) -> None:
    count = _entries(engine)
    sink = MemorySink()
    seen: list[tuple[int, int]] = []
    result = drain(
        engine, sink, lambda done, total: seen.append((done, total)), backoff=_no_sleep([])
    )
    assert (result.posted, result.failed, result.queued) == (count, 0, count)
    assert seen[0] == (0, count) and seen[-1] == (count, count)
    statuses = _statuses(engine, "memory")
    assert {s for s, _i, _a in statuses.values()} == {"posted"}
    assert all(sink_id and sink_id.startswith("sink-") for _s, sink_id, _a in statuses.values())
    again = drain(engine, sink, backoff=_no_sleep([]))
    assert (again.posted, again.queued, sink.calls) == (0, 0, count)


def test_transient_failures_are_retried_with_growing_waits(engine: Engine) -> None:
    _entries(engine, pools=1)
    waits: list[float] = []
    sink = MemorySink(failures=3)
    result = drain(engine, sink, backoff=_no_sleep(waits))
    assert result.failed == 0
    assert len(waits) == 3
    assert 1 <= waits[0] <= 1.5 and 2 <= waits[1] <= 2.5 and 4 <= waits[2] <= 4.5
    assert max(a for _s, _i, a in _statuses(engine, "memory").values()) == 4


def test_an_entry_failing_every_attempt_is_marked_failed_then_retried_on_request(
    engine: Engine,
) -> None:
    count = _entries(engine, pools=1)
    sink = MemorySink(failures=4 * count)
    result = drain(engine, sink, backoff=_no_sleep([]))
    assert (result.posted, result.failed) == (0, count)
    assert all("ConnectionError: sink unreachable" in e for e in result.errors.values())
    with engine.connect() as conn:
        rows = conn.execute(select(journal_outbox.c.status, journal_outbox.c.last_error)).all()
    assert {(s, e) for s, e in rows} == {("failed", "ConnectionError: sink unreachable")}
    assert drain(engine, sink, backoff=_no_sleep([])).posted == 0  # failed stays failed
    healed = drain(engine, sink, backoff=_no_sleep([]), retry_failed=True)
    assert (healed.posted, healed.failed) == (count, 0)
    assert len(sink.held) == count


def test_bad_data_is_not_retried(engine: Engine) -> None:
    _entries(engine, pools=1)
    sink = MemorySink(failures=100, error=InvalidInput("account", "unknown in the ERP"))
    waits: list[float] = []
    result = drain(engine, sink, backoff=_no_sleep(waits))
    assert result.failed == sink.calls
    assert waits == []


def test_a_lost_answer_after_the_sink_stored_the_entry_does_not_double_post(
    engine: Engine,
) -> None:
    count = _entries(engine)
    sink = MemorySink(failures=count)
    sink.fail_after_store = True
    result = drain(engine, sink, backoff=_no_sleep([]))
    assert result.posted == count
    assert sink.calls == 2 * count
    assert len(sink.held) == count


def test_a_crash_between_sent_and_marked_posted_never_double_posts(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = _entries(engine)
    sink = MemorySink()

    class Crash(BaseException):
        pass

    def crash(*_args: object, **_kwargs: object) -> None:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(store, "mark_posted", crash)
        with pytest.raises(Crash):
            drain(engine, sink, backoff=_no_sleep([]))
    assert len(sink.held) == 1
    assert {s for s, _i, _a in _statuses(engine, "memory").values()} == {"pending"}
    result = drain(engine, sink, backoff=_no_sleep([]))
    assert result.posted == count
    assert len(sink.held) == count  # the first entry was sent twice and is held once
    assert sink.calls == count + 1


def test_each_sink_has_its_own_outbox_including_history(engine: Engine) -> None:
    count = _entries(engine)
    drain(engine, MemorySink("erp"), backoff=_no_sleep([]))
    late_sink = MemorySink("files")
    result = drain(engine, late_sink, backoff=_no_sleep([]))
    assert (result.queued, result.posted) == (count, count)
    with engine.connect() as conn:
        assert store.statuses(conn) == {("erp", "posted"): count, ("files", "posted"): count}
