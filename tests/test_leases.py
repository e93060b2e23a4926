"""Leases carry a heartbeat and their holder's identity: a holder that is gone (killed, its
heartbeat lapsed) hands its lease over at once, and the run it left shows ``abandoned``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from connector.runtime import Runtime
from connector.sync.engine import list_runs, run_sync
from connector.sync.jobs import exclusive
from connector.sync.lease import LeaseHeld, acquire, holder_gone, process_exists, try_acquire
from connector.sync.tables import leases
from connector.timeutil import utcnow
from tests.sync_helpers import ListSource, assert_books_clean, purchase, runtime_for
from tests.test_api_support import auth, client_for, make_runtime, purchase_line

ROOT = Path(__file__).resolve().parents[1]
ELSEWHERE = "another-host:4242:token"  # a holder on another host: only its heartbeat tells

# Takes the lease of connection "files", applies page 0, says so, then hangs on page 1.
STALLING_RUN = """
import sys, time
from pathlib import Path
from connector.sync.engine import run_sync
from tests.sync_helpers import ListSource, purchase, runtime_for

db_url, folder, marker = sys.argv[1:4]

class Stalls(ListSource):
    def pages(self, cursor):
        yield from super().pages(cursor)
        Path(marker).write_text("page 0 applied")
        time.sleep(600)

run_sync(runtime_for(db_url, Path(folder)), "files", source=Stalls([[purchase("ord_1")]]))
"""


@pytest.fixture
def runtime(db_url: str, tmp_path: Path) -> Runtime:
    return runtime_for(db_url, tmp_path)


def _wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if path.exists():
            return
        if process.poll() is not None:
            raise AssertionError(f"the run exited early: {process.stderr.read()!r}")  # type: ignore[union-attr]
        time.sleep(0.1)
    raise AssertionError("the run never applied its first page")


def _lease_row(runtime: Runtime, name: str) -> dict[str, object] | None:
    with runtime.engine.connect() as conn:
        row = conn.execute(select(leases).where(leases.c.name == name)).mappings().first()
    return dict(row) if row is not None else None


def test_a_sync_killed_mid_run_is_taken_over_at_once_and_marked_abandoned(
    runtime: Runtime, db_url: str, tmp_path: Path
) -> None:
    marker = tmp_path / "applied"
    process = subprocess.Popen(
        [sys.executable, "-c", STALLING_RUN, db_url, str(tmp_path), str(marker)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(marker, process)
        lease = _lease_row(runtime, "sync:files")
        assert lease is not None and lease["pid"] == process.pid
        assert lease["host"] == socket.gethostname() and lease["heartbeat_at"] is not None
        with pytest.raises(LeaseHeld):  # alive: the lease is its own
            run_sync(runtime, "files", source=ListSource([]))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not process_exists(process.pid)
    crashed = list_runs(runtime.engine)[0]
    assert crashed.status == "running"  # as the killed process left it

    source = ListSource([[purchase("ord_1")], [purchase("ord_2")]])
    rerun = run_sync(runtime, "files", source=source)  # at once: no waiting for a lapse

    assert rerun.status == "succeeded"
    assert source.served == [1]  # resumed after the page the killed run saved
    runs = {r.id: r for r in list_runs(runtime.engine)}
    old = runs[crashed.id]
    assert old.status == "abandoned" and old.ended_at is not None
    assert str(process.pid) in (old.error or "")
    assert runs[rerun.run_id].status == "succeeded"
    assert _lease_row(runtime, "sync:files") is None  # released by the rerun
    assert runtime.ledger.balance("acme").total == 2000
    assert_books_clean(runtime)


def test_a_holder_elsewhere_keeps_its_lease_until_its_heartbeat_lapses(runtime: Runtime) -> None:
    assert try_acquire(runtime.engine, "sync:files", ELSEWHERE, timedelta(minutes=1))
    with pytest.raises(LeaseHeld, match="already running"):
        run_sync(runtime, "files", source=ListSource([]))
    with runtime.engine.begin() as conn:  # its last heartbeat was more than a lifetime ago
        conn.execute(
            update(leases)
            .where(leases.c.name == "sync:files")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert run_sync(runtime, "files", source=ListSource([[purchase("ord_1")]])).status == (
        "succeeded"
    )


def test_the_heartbeat_keeps_a_working_holders_lease(runtime: Runtime) -> None:
    ttl = timedelta(seconds=1.5)
    with acquire(runtime.engine, "job:recognize", ttl) as lease:
        first = _lease_row(runtime, "job:recognize")
        time.sleep(ttl.total_seconds() * 2.5)  # long past the first expiry
        later = _lease_row(runtime, "job:recognize")
        assert first is not None and later is not None
        assert later["heartbeat_at"] > first["heartbeat_at"]  # type: ignore[operator]
        assert not holder_gone(lease.holder, later["expires_at"], utcnow())  # type: ignore[arg-type]
        assert not try_acquire(runtime.engine, "job:recognize", ELSEWHERE, ttl)
        assert not lease.lost
    assert _lease_row(runtime, "job:recognize") is None


def test_a_scheduled_job_whose_process_died_runs_at_once(runtime: Runtime) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = f"{socket.gethostname()}:{int(gone.stdout)}:crashed"
    assert try_acquire(runtime.engine, "job:expire", dead, timedelta(hours=1))
    assert exclusive(runtime, "expire", lambda: "ran") == "ran"
    alive = f"{socket.gethostname()}:{os.getpid()}:other-thread"  # this process: alive
    assert try_acquire(runtime.engine, "job:expire", alive, timedelta(hours=1))
    assert exclusive(runtime, "expire", lambda: "ran") is None


def test_a_busy_connection_answers_409_at_once_even_with_wait_0(
    db_url: str, tmp_path: Path
) -> None:
    runtime = make_runtime(db_url, tmp_path)
    (tmp_path / "events.jsonl").write_text(purchase_line("ord_1", "credits-1k", "cus_a") + "\n")
    assert try_acquire(runtime.engine, "sync:files", ELSEWHERE, timedelta(minutes=1))
    with client_for(runtime) as client:
        answer = client.post("/v1/admin/sync/files", params={"wait": 0}, headers=auth("admin"))
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "busy"
        assert client.get("/v1/admin/runs", headers=auth("admin")).json() == []
    runtime.engine.dispose()
