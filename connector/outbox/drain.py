"""Draining a sink's outbox: post each pending entry with retries, record what happened.

Nothing is held open while a sink is called: each outcome is written in its own short
transaction, so a slow or failing sink never blocks burns, and a crash loses at most the record
of one post, which the next drain repeats harmlessly (the sink is idempotent on the entry id).
"""

from __future__ import annotations

import time
from collections.abc import Callable
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
    """Bad data and a book's refusal do not get better by waiting; everything else
    (network, 5xx, 429) may."""
    return not isinstance(error, InvalidInput | EntryBlocked)


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


def drain(
    engine: Engine,
    sink: JournalSink,
    progress: Progress | None = None,
    *,
    backoff: Backoff = Backoff(),
    retry_failed: bool = False,
    batch: int = 200,
) -> DrainResult:
    """Post everything pending for ``sink`` (enqueuing what it has not seen first)."""
    with engine.begin() as conn:
        queued = store.enqueue(conn, sink.name)
        if retry_failed:
            store.retry_failed(conn, sink.name)
        total = store.count(conn, sink.name, store.Status.PENDING)
    posted = failed = 0
    errors: dict[str, str] = {}
    blocked: dict[str, str] = {}
    if progress:
        progress(0, total)
    while True:
        with engine.connect() as conn:
            entries = store.pending(conn, sink.name, batch)
        if not entries:
            break
        for entry in entries:
            try:
                sink_id, attempts = post_with_retry(sink, entry, backoff)
            except PostFailed as failure:
                status = store.Status.FAILED
                if isinstance(failure.error, EntryBlocked):
                    status, message = store.Status.BLOCKED, failure.error.message
                    blocked[entry.id] = message
                else:
                    message = str(failure)
                    errors[entry.id] = message
                with engine.begin() as conn:
                    store.mark_failed(conn, sink.name, entry.id, message, failure.attempts, status)
                failed += 1
            else:
                with engine.begin() as conn:
                    store.mark_posted(conn, sink.name, entry.id, sink_id, attempts)
                posted += 1
            if progress:
                progress(posted + failed, total)
    return DrainResult(
        sink=sink.name,
        posted=posted,
        failed=failed - len(blocked),
        queued=queued,
        errors=errors,
        blocked=blocked,
    )
