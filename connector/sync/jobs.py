"""The scheduled jobs, as plain callables: each holds a lease of its own, so a job that is
still running (here or in another process) makes the next start a skip, never a second copy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from connector import metrics
from connector.outbox import store as outbox_store
from connector.outbox.drain import DrainResult, drain
from connector.recognition.periods import period_of
from connector.recognition.run import RecognitionRun, recognize
from connector.reconcile.run import Reconciliation, reconcile
from connector.runtime import Runtime
from connector.sync.engine import RunSummary, lease_ttl, run_sync
from connector.sync.exceptions import retry_exceptions
from connector.sync.inbox import process_pending
from connector.sync.lease import LeaseHeld, held
from connector.timeutil import utcnow

log = logging.getLogger("creditsync.jobs")
T = TypeVar("T")


def exclusive(runtime: Runtime, name: str, work: Callable[[], T]) -> T | None:
    """Run ``work`` under the job's lease; None (and a log line) when it is already running.
    The lease beats while the job works, so a job whose process died frees it at once."""
    try:
        with held(runtime.engine, f"job:{name}", lease_ttl(runtime)):
            return work()
    except LeaseHeld:
        log.info("job %s skipped: still running elsewhere", name)
        return None


def expire_now(runtime: Runtime) -> int:
    return len(runtime.ledger.expire(utcnow()))


def recognize_now(runtime: Runtime) -> RecognitionRun:
    return recognize(
        runtime.engine,
        utcnow(),
        runtime.gl_accounts,
        timezone=runtime.settings.timezone,
        sinks=runtime.settings.journal_sinks,
    )


def post_now(runtime: Runtime) -> list[DrainResult]:
    results = []
    for name in runtime.settings.journal_sinks:
        results.append(drain(runtime.engine, runtime.sink(name)))
        with runtime.engine.connect() as conn:
            depth = outbox_store.count(conn, name, outbox_store.Status.PENDING)
        metrics.OUTBOX_DEPTH.labels(name).set(depth)
    return results


def reconcile_now(runtime: Runtime) -> Reconciliation:
    """Reconcile the current period against every sink (differences are logged and counted)."""
    period = period_of(utcnow(), runtime.settings.tz)
    sinks = [runtime.sink(name) for name in runtime.settings.journal_sinks]
    result = reconcile(
        runtime.engine, sinks, period, runtime.gl_accounts, runtime.settings.timezone
    )
    if not result.clean:
        log.warning(
            "reconcile %s: %d differences; run `creditsync reconcile --period %s`",
            period,
            len(result.differences),
            period,
        )
    return result


def after_sync(runtime: Runtime) -> Callable[[RunSummary], None]:
    """What a sync run does once its events are in: expire, recognize, post."""

    def steps(_summary: RunSummary) -> None:
        exclusive(runtime, "expire", lambda: expire_now(runtime))
        exclusive(runtime, "recognize", lambda: recognize_now(runtime))
        exclusive(runtime, "post", lambda: post_now(runtime))

    return steps


def sync_job(runtime: Runtime, connection: str) -> RunSummary | None:
    """Retry the connection's open exceptions (a mapping fixed since applies now), apply its
    pending webhooks, pull and apply its changes, then expire, recognize and post."""
    try:
        retry_exceptions(runtime.engine, runtime.mappings.current, connection)
        process_pending(runtime, connection)
        return run_sync(runtime, connection, trigger="schedule", after=after_sync(runtime))
    except LeaseHeld:
        log.info("sync of %s skipped: a run is in progress", connection)
        return None


def expire_job(runtime: Runtime) -> int | None:
    return exclusive(runtime, "expire", lambda: expire_now(runtime))


def recognize_job(runtime: Runtime) -> RecognitionRun | None:
    return exclusive(runtime, "recognize", lambda: recognize_now(runtime))


def post_job(runtime: Runtime) -> list[DrainResult] | None:
    return exclusive(runtime, "post", lambda: post_now(runtime))


def reconcile_job(runtime: Runtime) -> Reconciliation | None:
    return exclusive(runtime, "reconcile", lambda: reconcile_now(runtime))


def inbox_job(runtime: Runtime) -> int | None:
    """Deliveries whose processing after the answer failed or was cut short."""
    return exclusive(runtime, "inbox", lambda: process_pending(runtime))


__all__ = [
    "expire_job",
    "inbox_job",
    "post_job",
    "recognize_job",
    "reconcile_job",
    "sync_job",
]
