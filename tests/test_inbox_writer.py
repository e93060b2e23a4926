"""The inbox writer: deliveries waiting together are stored with one commit, each answered on
its own (stored or duplicate), and one that the database refuses fails alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, select

from connector.events import CanonicalEvent
from connector.ports import WebhookResult
from connector.runtime import Runtime
from connector.sync import inbox, inbox_writer
from connector.sync.inbox import Received
from connector.sync.inbox_writer import InboxWriter
from connector.sync.tables import webhook_inbox
from tests.sync_helpers import JAN, purchase, runtime_for


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = runtime_for(db_url, tmp_path)
    yield rt
    rt.engine.dispose()


def delivery(event_id: str, *, ignored: bool = False) -> Received:
    events: list[CanonicalEvent] = [] if ignored else [purchase(f"in_{event_id}")]
    result = WebhookResult(event_id, "invoice.paid", events=events, ignored=ignored)
    return Received("files", result, b'{"id": "%s"}' % event_id.encode(), JAN)


def stored(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(webhook_inbox.c.event_id, webhook_inbox.c.status).order_by(webhook_inbox.c.id)
        ).all()
    return [(r.event_id, r.status) for r in rows]


def test_accept_many_answers_each_delivery_and_stores_each_id_once(runtime: Runtime) -> None:
    inbox.accept(runtime.engine, "files", delivery("evt_old").result, b"{}", JAN)
    batch = [
        delivery("evt_1"),
        delivery("evt_old"),  # stored before
        delivery("evt_2", ignored=True),
        delivery("evt_1"),  # twice in one batch: the second is the duplicate
    ]
    with runtime.engine.begin() as conn:
        assert inbox.accept_many(conn, batch) == [True, False, True, False]
    assert stored(runtime) == [("evt_old", "pending"), ("evt_1", "pending"), ("evt_2", "ignored")]


def test_deliveries_queued_behind_a_held_lock_share_one_commit(runtime: Runtime) -> None:
    """Another transaction holds what the writer's first insert needs (on PostgreSQL the unique
    entry of the same event id, on SQLite the write lock). Everything submitted meanwhile is
    stored together once it is let go, and each caller gets its own answer."""
    commits: list[int] = []
    event.listen(runtime.engine, "commit", lambda _conn: commits.append(1))
    writer = InboxWriter(runtime.engine)
    blocker = runtime.engine.connect()
    try:
        tx = blocker.begin()
        inbox.accept_many(blocker, [delivery("evt_0")])
        first = writer.submit(delivery("evt_0"))
        assert not first.done()  # waits for the blocker's transaction
        later = [writer.submit(delivery(e)) for e in ("evt_1", "evt_2", "evt_1", "evt_3")]
        tx.commit()
        commits.clear()
        assert first.result(timeout=30) is False  # the blocker stored it first
        assert [f.result(timeout=30) for f in later] == [True, True, False, True]
    finally:
        blocker.close()
        writer.close()
    assert len(commits) <= 2  # the first insert's, then one for all the rest
    assert [e for e, _ in stored(runtime)] == ["evt_0", "evt_1", "evt_2", "evt_3"]


def test_a_delivery_the_database_refuses_fails_alone(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = inbox.accept_many

    def refusing(conn: Connection, deliveries: Sequence[Received]) -> list[bool]:
        if any(d.result.event_id == "evt_bad" for d in deliveries):
            raise RuntimeError("refused")
        return real(conn, deliveries)

    monkeypatch.setattr(inbox_writer, "accept_many", refusing)
    writer = InboxWriter(runtime.engine)
    blocker = runtime.engine.connect()
    try:
        tx = blocker.begin()
        inbox.accept_many(blocker, [delivery("evt_held")])
        held = writer.submit(delivery("evt_held"))
        batch = [writer.submit(delivery(e)) for e in ("evt_a", "evt_bad", "evt_b")]
        tx.commit()
        assert held.result(timeout=30) is False
        assert batch[0].result(timeout=30) is True
        with pytest.raises(RuntimeError, match="refused"):
            batch[1].result(timeout=30)
        assert batch[2].result(timeout=30) is True
        # the writer goes on after a failure
        assert writer.submit(delivery("evt_c")).result(timeout=30) is True
    finally:
        blocker.close()
        writer.close()
    assert [e for e, _ in stored(runtime)] == ["evt_held", "evt_a", "evt_b", "evt_c"]


def test_close_stores_what_is_queued_and_refuses_more(runtime: Runtime) -> None:
    writer = InboxWriter(runtime.engine)
    futures = [writer.submit(delivery(f"evt_{i}")) for i in range(20)]
    writer.close()
    assert all(f.result(timeout=0) is True for f in futures)
    assert len(stored(runtime)) == 20
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(delivery("evt_late"))


def test_the_writer_keeps_one_connection_of_its_own_and_closes_it(runtime: Runtime) -> None:
    taken: list[int] = []
    closed: list[int] = []
    event.listen(runtime.engine, "detach", lambda *a: taken.append(1))
    event.listen(runtime.engine, "close_detached", lambda *a: closed.append(1))
    writer = InboxWriter(runtime.engine)
    for i in range(3):
        assert writer.submit(delivery(f"evt_{i}")).result(timeout=30) is True
    assert (len(taken), len(closed)) == (1, 0)  # kept out of the pool, between batches too
    writer.close()
    assert (len(taken), len(closed)) == (1, 1)


def test_a_broken_connection_is_replaced_and_the_delivery_stored(runtime: Runtime) -> None:
    """A database restart or a proxy dropping the idle connection fails no acknowledgement."""
    writer = InboxWriter(runtime.engine)
    try:
        assert writer.submit(delivery("evt_1")).result(timeout=30) is True
        conn = writer._conn
        assert conn is not None
        conn.connection.dbapi_connection.close()  # type: ignore[union-attr]
        assert writer.submit(delivery("evt_2")).result(timeout=30) is True
        assert writer._conn is not conn
    finally:
        writer.close()
    assert [e for e, _ in stored(runtime)] == ["evt_1", "evt_2"]
