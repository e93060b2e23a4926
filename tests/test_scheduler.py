"""The scheduler: jobs from settings, one leader among processes, overruns skipped."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_MAX_INSTANCES
from sqlalchemy import select, update

from connector.runtime import Runtime
from connector.scheduler import EPOCH, LEASE, JobSpec, Scheduler, job_specs
from connector.settings import Connection, Schedule
from connector.sync.engine import list_runs
from connector.sync.tables import leases
from tests.test_api_support import STRIPE_SECRET, make_runtime, purchase_line, sample


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(
        db_url,
        tmp_path,
        connections={
            "stripe": Connection(
                platform="stripe",
                settings={"webhook_secrets": [STRIPE_SECRET]},
                sync_every_minutes=10,
            ),
            "files": Connection(
                platform="files",
                settings={"path": str(tmp_path / "events.jsonl")},
                sync_every_minutes=30,
            ),
            "legacy": Connection(platform="files", settings={"path": "x.csv"}, enabled=False),
        },
        schedule=Schedule(
            expire_every_minutes=60,
            recognize_every_minutes=1440,
            post_every_minutes=5,
            reconcile_every_minutes=720,
            jitter_seconds=0,
        ),
    )
    yield rt
    rt.engine.dispose()


class Calls:
    def __init__(self) -> None:
        self.count = 0
        self.first = threading.Event()

    def __call__(self) -> None:
        self.count += 1
        self.first.set()


def lease_holder(runtime: Runtime) -> str | None:
    with runtime.engine.connect() as conn:
        holder: str | None = conn.execute(
            select(leases.c.holder).where(leases.c.name == LEASE)
        ).scalar()
    return holder


def test_jobs_follow_the_settings(runtime: Runtime) -> None:
    specs = {spec.id: spec.every for spec in job_specs(runtime)}
    assert specs == {
        "sync:files": timedelta(minutes=30),
        "sync:stripe": timedelta(minutes=10),
        "expire": timedelta(minutes=60),
        "recognize": timedelta(days=1),
        "post": timedelta(minutes=5),
        "reconcile": timedelta(hours=12),
        "inbox": timedelta(minutes=5),
        "refill": timedelta(minutes=1),
        "overage": timedelta(minutes=1),
        "alerts": timedelta(minutes=1),
    }


def test_a_files_connection_named_as_a_journal_sink_is_not_synced(
    db_url: str, tmp_path: Path
) -> None:
    rt = make_runtime(
        db_url,
        tmp_path,
        connections={"gl_csv": Connection(platform="files", settings={"format": "csv"})},
        journal_sinks=["gl_csv"],
    )
    try:
        assert not [spec.id for spec in job_specs(rt) if spec.id.startswith("sync:")]
        sink = rt.sink("gl_csv")
        assert sink.name == "files" and getattr(sink, "format", None) == "csv"
    finally:
        rt.engine.dispose()


def test_one_process_leads_and_the_other_skips_its_jobs(runtime: Runtime) -> None:
    leader_calls, follower_calls = Calls(), Calls()
    leader = Scheduler(runtime, [JobSpec("work", leader_calls, timedelta(minutes=1))])
    follower = Scheduler(runtime, [JobSpec("work", follower_calls, timedelta(minutes=1))])
    assert leader.renew() is True
    assert follower.renew() is False
    assert lease_holder(runtime) == leader.holder
    skipped = sample("creditsync_scheduler_jobs_total", job="work", outcome="follower")
    assert follower.run(follower.specs[0]) is False
    assert leader.run(leader.specs[0]) is True
    assert (leader_calls.count, follower_calls.count) == (1, 0)
    assert sample("creditsync_scheduler_jobs_total", job="work", outcome="follower") == (
        skipped + 1
    )
    assert leader.renew() is True  # renewing keeps it
    leader.shutdown()
    assert lease_holder(runtime) is None
    assert follower.renew() is True
    assert follower.run(follower.specs[0]) is True
    assert follower_calls.count == 1
    follower.shutdown()


def test_a_lapsed_lease_passes_to_another_process(runtime: Runtime) -> None:
    first = Scheduler(runtime, [], lease_ttl=timedelta(seconds=30))
    second = Scheduler(runtime, [], lease_ttl=timedelta(seconds=30))
    assert first.renew()
    with runtime.engine.begin() as conn:  # the first process died a while ago
        conn.execute(
            update(leases)
            .where(leases.c.name == LEASE)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert second.renew() is True
    assert first.renew() is False
    assert not first.is_leader and second.is_leader
    second.shutdown()


def test_leadership_ends_locally_before_the_lease_could_lapse(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime, [], lease_ttl=timedelta(seconds=0.6))
    assert scheduler.renew() and scheduler.is_leader
    time.sleep(0.6)  # no renewal (a stalled process): it must stop acting as leader
    assert not scheduler.is_leader
    scheduler.shutdown()


def test_a_failing_job_is_counted_and_does_not_stop_the_scheduler(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise RuntimeError("platform down")

    scheduler = Scheduler(runtime, [JobSpec("flaky", broken, timedelta(minutes=1))])
    scheduler.renew()
    failed = sample("creditsync_scheduler_jobs_total", job="flaky", outcome="failed")
    assert scheduler.run(scheduler.specs[0]) is True
    assert "platform down" in caplog.text
    assert sample("creditsync_scheduler_jobs_total", job="flaky", outcome="failed") == failed + 1
    scheduler.shutdown()


def test_fire_times_are_aligned_on_the_epoch_with_each_jobs_offset(runtime: Runtime) -> None:
    scheduler = Scheduler(runtime, jitter_seconds=0)
    scheduler.start()
    try:
        jobs = {job.id: job.next_run_at for job in scheduler.status().jobs}
    finally:
        scheduler.shutdown()
    now = datetime.now(UTC)
    expire = jobs["expire"]
    assert expire is not None and now < expire <= now + timedelta(hours=1)
    assert (expire - EPOCH) % timedelta(hours=1) == timedelta(minutes=5)
    recognize = jobs["recognize"]
    assert recognize is not None and (recognize - EPOCH) % timedelta(days=1) == timedelta(
        minutes=15
    )
    post = jobs["post"]
    assert post is not None and (post - EPOCH) % timedelta(minutes=5) == timedelta(0)


def test_only_the_leader_runs_scheduled_jobs(runtime: Runtime) -> None:
    a_calls, b_calls = Calls(), Calls()
    a = Scheduler(runtime, [JobSpec("tick", a_calls, timedelta(seconds=1))], jitter_seconds=0)
    b = Scheduler(runtime, [JobSpec("tick", b_calls, timedelta(seconds=1))], jitter_seconds=0)
    a.start()
    b.start()
    try:
        assert a_calls.first.wait(timeout=10)
        time.sleep(1.5)  # at least one more tick for both schedulers
    finally:
        a.shutdown()
        b.shutdown()
    assert a_calls.count >= 1
    assert b_calls.count == 0


def test_an_overrunning_job_is_skipped_not_stacked(runtime: Runtime) -> None:
    entered = threading.Event()
    release = threading.Event()
    runs: list[int] = []

    def slow() -> None:
        runs.append(1)
        entered.set()
        release.wait(timeout=30)

    skipped = threading.Event()
    scheduler = Scheduler(runtime, [JobSpec("slow", slow, timedelta(hours=1))], jitter_seconds=0)
    scheduler.start()
    scheduler.aps.add_listener(lambda _event: skipped.set(), EVENT_JOB_MAX_INSTANCES)
    try:
        scheduler.aps.modify_job("slow", next_run_time=datetime.now(UTC))
        assert entered.wait(timeout=10)
        scheduler.aps.modify_job("slow", next_run_time=datetime.now(UTC))  # due again, still busy
        assert skipped.wait(timeout=10)
        assert len(runs) == 1
    finally:
        release.set()
        scheduler.shutdown()
    assert len(runs) == 1


def test_the_scheduled_sync_of_a_connection_runs_the_real_job(
    runtime: Runtime, tmp_path: Path
) -> None:
    (tmp_path / "events.jsonl").write_text(purchase_line("ord_s1", "credits-1k", "cus_s") + "\n")
    scheduler = Scheduler(runtime)
    spec = next(s for s in scheduler.specs if s.id == "sync:files")
    assert scheduler.renew()
    assert scheduler.run(spec) is True
    scheduler.shutdown()
    runs = list_runs(runtime.engine)
    assert [(r.connection, r.trigger, r.status) for r in runs] == [
        ("files", "schedule", "succeeded")
    ]
    assert runtime.ledger.balance("cus_s").total == 1000


def test_every_default_job_runs_on_an_empty_database(runtime: Runtime, tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text("")
    scheduler = Scheduler(runtime)
    assert scheduler.renew()
    try:
        for spec in scheduler.specs:
            if spec.id == "sync:stripe":
                continue  # needs the Stripe API; its wiring is the same as sync:files
            before = sample("creditsync_scheduler_jobs_total", job=spec.id, outcome="succeeded")
            assert scheduler.run(spec) is True
            after = sample("creditsync_scheduler_jobs_total", job=spec.id, outcome="succeeded")
            assert after == before + 1, spec.id
    finally:
        scheduler.shutdown()
