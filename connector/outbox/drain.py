"""Draining a sink's outbox: post each pending entry with retries, record what happened.

Nothing is held open while a sink is called: each outcome is written in its own short
transaction, so a slow or failing sink never blocks burns, and a crash loses at most the record
of one post, which the next drain repeats harmlessly (the sink is idempotent on the entry id).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from connector.errors import InvalidInput
from connector.journal import JournalEntry
from connector.outbox import store
from connector.platform.retry import PlatformRequestFailed
from connector.ports import EntryBlocked, JournalSink

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Backoff:
    """Waits of initial x 2^(n-1) seconds (at most ``maximum``) plus a random jitter of up to
    ``jitter`` seconds, so that many drains retrying at once do not hit the sink in step;
    ``sleep`` is injectable for tests."""

    attempts: int = 5
    initial: float = 0.5
    maximum: float = 30.0
    jitter: float = 1.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class DrainResult:
    sink: str
    posted: int
    failed: int
    queued: int  # newly enqueued by this drain
    errors: dict[str, str]  # entry id -> last error, for the entries that failed
    blocked: dict[str, str] = field(default_factory=dict)  # entry id -> the book's message


def _retryable(error: BaseException) -> bool:
    """Bad data and a book's refusal do not get better by waiting, and a platform's own retry
    loop has already waited; everything else (a file system hiccup, ...) may."""
    return not isinstance(error, InvalidInput | EntryBlocked | PlatformRequestFailed)


class PostFailed(Exception):
    """Every attempt failed (or the error was not worth retrying)."""

    def __init__(self, error: Exception, attempts: int) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
        self.attempts = attempts


def post_with_retry(sink: JournalSink, entry: JournalEntry, backoff: Backoff) -> tuple[str, int]:
    """Post one entry; returns the sink's id and the number of attempts it took."""
    retrying = Retrying(
        stop=stop_after_attempt(backoff.attempts),
        wait=wait_exponential(multiplier=backoff.initial, max=backoff.maximum)
        + wait_random(0, backoff.jitter),
        retry=retry_if_exception(_retryable),
        sleep=backoff.sleep,
        reraise=True,
    )
    attempts = 0
    sink_id = ""
    try:
        for attempt in retrying:
            with attempt:
                attempts += 1
                sink_id = sink.post(entry)
    except Exception as exc:
        raise PostFailed(exc, attempts) from exc
    return sink_id, attempts


def _attempt(
    sink: JournalSink, entry: JournalEntry, backoff: Backoff
) -> tuple[str, int] | PostFailed:
    try:
        return post_with_retry(sink, entry, backoff)
    except PostFailed as failure:
        return failure


def _posted_in_turns(
    pool: ThreadPoolExecutor,
    workers: int,
    sink: JournalSink,
    entries: list[JournalEntry],
    backoff: Backoff,
) -> Iterator[tuple[JournalEntry, tuple[str, int] | PostFailed]]:
    """``workers`` posts at a time; each turn's outcomes are yielded before the next starts, so
    a crash leaves at most one turn sent and unrecorded (the sink's idempotency covers it)."""
    for start in range(0, len(entries), workers):
        turn = entries[start : start + workers]
        outcomes = (
            pool.map(lambda e: _attempt(sink, e, backoff), turn)
            if len(turn) > 1
            else [_attempt(sink, turn[0], backoff)]
        )
        yield from zip(turn, outcomes, strict=True)


def drain(
    engine: Engine,
    sink: JournalSink,
    progress: Progress | None = None,
    *,
    backoff: Backoff = Backoff(),
    retry_failed: bool = False,
    batch: int = 200,
) -> DrainResult:
    """Post everything pending for ``sink`` (enqueuing what it has not seen first).

    A sink that declares ``concurrency`` (a remote book) gets that many posts at once; the
    outcomes are still recorded one by one, in order, by this thread, each turn before the next.
    """
    with engine.begin() as conn:
        queued = store.enqueue(conn, sink.name)
        if retry_failed:
            store.retry_failed(conn, sink.name)
        total = store.count(conn, sink.name, store.Status.PENDING)
    posted = 0
    errors: dict[str, str] = {}
    blocked: dict[str, str] = {}
    if progress:
        progress(0, total)
    workers = max(1, int(getattr(sink, "concurrency", 1)))
    with ThreadPoolExecutor(workers, thread_name_prefix=f"post-{sink.name}") as pool:
        while True:
            with engine.connect() as conn:
                entries = store.pending(conn, sink.name, batch)
            if not entries:
                break
            for entry, outcome in _posted_in_turns(pool, workers, sink, entries, backoff):
                if isinstance(outcome, PostFailed):
                    status = store.Status.FAILED
                    if isinstance(outcome.error, EntryBlocked):
                        status, message = store.Status.BLOCKED, outcome.error.message
                        blocked[entry.id] = message
                    else:
                        message = str(outcome)
                        errors[entry.id] = message
                    with engine.begin() as conn:
                        store.mark_failed(
                            conn, sink.name, entry.id, message, outcome.attempts, status
                        )
                else:
                    with engine.begin() as conn:
                        store.mark_posted(conn, sink.name, entry.id, *outcome)
                    posted += 1
                if progress:
                    progress(posted + len(errors) + len(blocked), total)
    return DrainResult(
        sink=sink.name,
        posted=posted,
        failed=len(errors),
        queued=queued,
        errors=errors,
        blocked=blocked,
    )
