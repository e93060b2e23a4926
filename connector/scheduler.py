"""The periodic jobs on APScheduler: sync per connection, expire, recognize, post, reconcile,
the webhook inbox sweep and the low-balance policy (refills, overage, alerts).

Several server processes may run at once; only one of them does the scheduled work. Each
process's scheduler tries to take the database lease ``scheduler`` and renews it every third of
its lifetime with a job of its own; every other job first asks whether this process still holds
it and skips its run otherwise. A leader that dies frees the lease when it lapses, and another
process takes over at its next renewal.

A job that overruns is skipped, never stacked: ``max_instances=1`` refuses a second concurrent
run inside a process, and each job's own lease refuses one across processes (a leader change
while a long job runs). ``coalesce`` turns a backlog of missed runs into one.

Fire times are aligned on a fixed epoch rather than on the start of the process, so restarts
(deploys) never postpone a daily job indefinitely, and every process shares one timetable. The
offsets order the work of a cycle: expire before recognize (breakage at expiry is recognized
the same day), post after recognize, reconcile after post; the webhook inbox is swept between
two posts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from connector import metrics
from connector.errors import CreditsyncError
from connector.policy import jobs as policy_jobs
from connector.ports import adapter
from connector.runtime import Runtime
from connector.settings import Connection
from connector.sync import jobs
from connector.sync.lease import holder_id, release, try_acquire

log = logging.getLogger(__name__)

LEASE = "scheduler"
LEASE_JOB = "scheduler-lease"
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
OFFSETS = {
    "sync": timedelta(0),
    "expire": timedelta(minutes=5),
    "recognize": timedelta(minutes=15),
    "post": timedelta(0),
    "reconcile": timedelta(minutes=45),
    "inbox": timedelta(minutes=1),
    "policy": timedelta(seconds=30),
}


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[[], object]
    every: timedelta
    offset: timedelta = timedelta(0)


def pulls_purchases(name: str, connection: Connection, journal_sinks: list[str]) -> bool:
    """A connection is synced when its adapter has a purchase source, unless it is one of the
    ``journal_sinks`` whose settings describe no source (a CSV journal is a files connection
    with no file of purchases to read)."""
    spec = adapter(connection.platform)
    if spec.source is None:
        return False
    if name not in journal_sinks:
        return True
    try:
        spec.source(connection.settings)
    except CreditsyncError:
        return False
    return True


def job_specs(runtime: Runtime) -> list[JobSpec]:
    """The jobs the settings ask for: a sync per enabled connection that pulls purchases
    (a connection that is only a journal sink has nothing to pull), then the ledger cycle."""
    schedule = runtime.settings.schedule
    sinks = runtime.settings.journal_sinks
    specs = [
        JobSpec(
            f"sync:{name}",
            partial(jobs.sync_job, runtime, name),
            timedelta(minutes=connection.sync_every_minutes),
            OFFSETS["sync"],
        )
        for name, connection in sorted(runtime.settings.connections.items())
        if connection.enabled and pulls_purchases(name, connection, sinks)
    ]
    cycle: list[tuple[str, Callable[[Runtime], object], int]] = [
        ("expire", jobs.expire_job, schedule.expire_every_minutes),
        ("recognize", jobs.recognize_job, schedule.recognize_every_minutes),
        ("post", jobs.post_job, schedule.post_every_minutes),
        ("reconcile", jobs.reconcile_job, schedule.reconcile_every_minutes),
        # webhook deliveries whose processing after the answer failed or was cut short by a
        # restart; as often as posting, so that a lost drain delays them minutes, not a sync
        ("inbox", jobs.inbox_job, schedule.post_every_minutes),
    ]
    specs.extend(
        JobSpec(name, partial(func, runtime), timedelta(minutes=minutes), OFFSETS[name])
        for name, func, minutes in cycle
    )
    # the low-balance policy: a customer waits for a refill, so these run often (default 1 min)
    policy_every = timedelta(minutes=schedule.policy_every_minutes)
    policy = [
        ("refill", partial(policy_jobs.refill_job, runtime)),
        ("overage", partial(policy_jobs.overage_job, runtime)),
        ("alerts", partial(policy_jobs.alerts_job, runtime, runtime.settings.notify_url)),
    ]
    specs.extend(JobSpec(name, func, policy_every, OFFSETS["policy"]) for name, func in policy)
    return specs


@dataclass(frozen=True)
class JobStatus:
    id: str
    every_seconds: int
    next_run_at: datetime | None


@dataclass(frozen=True)
class SchedulerStatus:
    running: bool
    leader: bool
    holder: str
    jobs: list[JobStatus]


class Scheduler:
    """APScheduler's BackgroundScheduler with the jobs of ``specs`` and leadership by lease."""

    def __init__(
        self,
        runtime: Runtime,
        specs: Sequence[JobSpec] | None = None,
        *,
        lease_ttl: timedelta = timedelta(seconds=90),
        holder: str | None = None,
        jitter_seconds: int | None = None,
    ) -> None:
        self.runtime = runtime
        self.specs = list(job_specs(runtime) if specs is None else specs)
        self.lease_ttl = lease_ttl
        self.holder = holder or holder_id()
        self.jitter = (
            runtime.settings.schedule.jitter_seconds if jitter_seconds is None else jitter_seconds
        )
        self._lock = threading.Lock()
        self._leader_until = 0.0  # time.monotonic() up to which the lease is surely ours
        self.aps = BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": ThreadPoolExecutor(max_workers=max(len(self.specs), 1)),
                "lease": ThreadPoolExecutor(max_workers=1),  # never starved by long jobs
            },
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    @property
    def renew_every(self) -> timedelta:
        return self.lease_ttl / 3

    @property
    def is_leader(self) -> bool:
        with self._lock:
            return time.monotonic() < self._leader_until

    def renew(self) -> bool:
        """Take or renew the lease; leadership counts from before the call, to be safe."""
        asked_at = time.monotonic()
        try:
            held = try_acquire(self.runtime.engine, LEASE, self.holder, self.lease_ttl)
        except Exception:
            log.exception("could not renew the scheduler lease; not leading until it works")
            held = False
        with self._lock:
            was = time.monotonic() < self._leader_until
            margin = self.renew_every.total_seconds() / 2  # stop before the lease can lapse
            self._leader_until = asked_at + self.lease_ttl.total_seconds() - margin if held else 0.0
        if held != was:
            log.info("scheduler %s %s", self.holder, "leads" if held else "follows")
        metrics.SCHEDULER_LEADER.set(1 if held else 0)
        return held

    def run(self, spec: JobSpec) -> bool:
        """One run of ``spec`` if this process leads; False when skipped as a follower."""
        if not self.is_leader:
            metrics.SCHEDULER_JOBS.labels(spec.id, "follower").inc()
            return False
        started = time.perf_counter()
        try:
            spec.func()
            metrics.SCHEDULER_JOBS.labels(spec.id, "succeeded").inc()
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next time", spec.id)
            metrics.SCHEDULER_JOBS.labels(spec.id, "failed").inc()
        finally:
            metrics.SCHEDULER_JOB_DURATION.labels(spec.id).observe(time.perf_counter() - started)
        return True

    def start(self) -> None:
        self.renew()
        every = self.renew_every.total_seconds()
        self.aps.add_job(
            self.renew,
            IntervalTrigger(seconds=every, start_date=datetime.now(UTC) + self.renew_every),
            id=LEASE_JOB,
            executor="lease",
            misfire_grace_time=max(1, int(every)),
        )
        for spec in self.specs:
            seconds = spec.every.total_seconds()
            self.aps.add_job(
                self.run,
                IntervalTrigger(
                    seconds=seconds,
                    start_date=EPOCH + spec.offset,
                    jitter=self.jitter or None,
                ),
                args=[spec],
                id=spec.id,
                name=spec.id,
                misfire_grace_time=max(1, int(seconds)),  # later than one interval: next one
            )
        self.aps.start()
        log.info("scheduler started with %d jobs (%s)", len(self.specs), self.holder)

    def shutdown(self, wait: bool = True) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=wait)
        with self._lock:
            self._leader_until = 0.0
        try:
            release(self.runtime.engine, LEASE, self.holder)
        except Exception:  # it lapses by itself
            log.warning("could not release the scheduler lease", exc_info=True)
        metrics.SCHEDULER_LEADER.set(0)

    def status(self) -> SchedulerStatus:
        found = []
        for spec in self.specs:
            job = self.aps.get_job(spec.id) if self.aps.running else None
            found.append(
                JobStatus(
                    id=spec.id,
                    every_seconds=int(spec.every.total_seconds()),
                    next_run_at=job.next_run_time if job is not None else None,
                )
            )
        return SchedulerStatus(
            running=bool(self.aps.running), leader=self.is_leader, holder=self.holder, jobs=found
        )
