"""The admin API (admin scope): burn rates, mappings, sync runs, exceptions, periods, scheduler,
journal entries a book refused.

Operations change burn rates and reload mappings here without a release; finance closes periods.
A sync started here runs in a worker thread: the answer waits up to ``wait`` seconds for it to
finish (200 with its summary) and otherwise says it is running (202); a connection already
running answers 409 at once, since the run's lease is taken before anything else.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from connector.api.auth import AdminCaller
from connector.api.deps import RuntimeDep
from connector.api.errors import ApiError, busy, errors, is_lock_timeout
from connector.api.types import Instant, Text
from connector.errors import CreditsyncError
from connector.horizon import period_has_ended
from connector.ledger.models import BurnRate
from connector.ledger.rates import MAX_DECIMALS, MAX_RATE
from connector.recognition.closing import close_period, list_periods
from connector.recognition.periods import zone
from connector.reconcile.redate import blocked
from connector.runtime import Runtime
from connector.scheduler import Scheduler
from connector.sync.engine import RunRecord, RunSummary, claim, list_runs, run_sync
from connector.sync.exceptions import ExceptionRecord, list_exceptions, retry_exceptions
from connector.sync.inbox import process_pending
from connector.sync.jobs import after_sync
from connector.sync.lease import Lease

router = APIRouter(prefix="/v1/admin", tags=["admin"])

ADMIN_ERRORS = errors(401, 403, 422)


class RateOut(BaseModel):
    action: str
    version: int
    credits_per_unit: str = Field(description="exact decimal text")
    effective_from: datetime
    created_at: datetime
    note: str | None


class RateIn(BaseModel):
    action: Text
    credits_per_unit: Text = Field(
        description=f"decimal text, at most {MAX_DECIMALS} decimals and below "
        f"{MAX_RATE:,} credits per unit, e.g. '0.5'"
    )
    effective_from: Instant | None = Field(
        default=None, description="when it applies (ISO 8601 with offset); default now"
    )
    note: Text | None = Field(default=None, description="why the rate changed")


class MappingsOut(BaseModel):
    version: str = Field(description="content hash of the mapping set now in force")
    catalog_entries: int
    plans: list[str]
    exceptions_retried: int = Field(description="open exceptions applied again under the new set")
    exceptions_resolved: int = Field(description="of those, how many applied this time")


class SyncStarted(BaseModel):
    connection: str
    status: Literal["running", "succeeded", "failed"]
    run_id: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    pools_created: int = 0
    pages: int = 0
    error: str | None = None


class RetryOut(BaseModel):
    tried: int
    resolved: int
    still_open: int


class PeriodOut(BaseModel):
    period: str
    closed: bool
    entries: int
    closed_at: datetime | None


class ClosedOut(BaseModel):
    period: str
    starts_at: datetime
    ends_at: datetime
    closed_at: datetime
    timezone: str


class JobOut(BaseModel):
    id: str
    every_seconds: int
    next_run_at: datetime | None


class SchedulerOut(BaseModel):
    running: bool
    leader: bool = Field(description="this process holds the scheduler lease and runs the jobs")
    holder: str | None
    jobs: list[JobOut]


def rate_out(rate: BurnRate) -> RateOut:
    return RateOut(
        action=rate.action,
        version=rate.version,
        credits_per_unit=rate.credits_per_unit,
        effective_from=rate.effective_from,
        created_at=rate.created_at,
        note=rate.note,
    )


@router.get("/rates", response_model=list[RateOut], responses=ADMIN_ERRORS)
def get_rates(
    runtime: RuntimeDep,
    _caller: AdminCaller,
    at: Annotated[Instant | None, Query(description="ISO 8601 with offset; default now")] = None,
) -> list[RateOut]:
    """The rate in force (now, or at `at`) for every action."""
    return [rate_out(r) for r in runtime.ledger.rates(at)]


@router.get("/rates/{action}/history", response_model=list[RateOut], responses=ADMIN_ERRORS)
def get_rate_history(action: Text, runtime: RuntimeDep, _caller: AdminCaller) -> list[RateOut]:
    """Every version of one action's rate (422 for an action that has none)."""
    return [rate_out(r) for r in runtime.ledger.rate_history(action)]


@router.post("/rates", response_model=RateOut, status_code=201, responses=ADMIN_ERRORS)
def post_rate(body: RateIn, runtime: RuntimeDep, _caller: AdminCaller) -> RateOut:
    """Add the next version of an action's rate; burns before `effective_from` keep theirs."""
    rate = runtime.ledger.set_rate(
        body.action, body.credits_per_unit, body.effective_from, body.note
    )
    return rate_out(rate)


@router.post("/mappings/reload", response_model=MappingsOut, responses=ADMIN_ERRORS)
def reload_mappings(runtime: RuntimeDep, _caller: AdminCaller) -> MappingsOut:
    """Read the mapping files again, then retry the open exceptions under them (a fixed
    mapping takes effect at once). With problems: 422 listing them, the old set stays."""
    fresh = runtime.mappings.reload()
    retried = retry_exceptions(runtime.engine, fresh)
    return MappingsOut(
        version=fresh.version,
        catalog_entries=len(fresh.catalog),
        plans=sorted(plan.name for plan in fresh.plans),
        exceptions_retried=retried.tried,
        exceptions_resolved=retried.resolved,
    )


@router.get("/runs", response_model=list[RunRecord], responses=ADMIN_ERRORS)
def get_runs(
    runtime: RuntimeDep,
    _caller: AdminCaller,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    connection: Text | None = None,
) -> list[RunRecord]:
    """Sync runs, newest first."""
    return list_runs(runtime.engine, limit, connection)


def _sync(runtime: Runtime, connection: str, lease: Lease) -> RunSummary:
    try:
        process_pending(runtime, connection)
    except BaseException:
        lease.release()
        raise
    return run_sync(runtime, connection, trigger="manual", after=after_sync(runtime), lease=lease)


def _summary(summary: RunSummary) -> SyncStarted:
    return SyncStarted(
        connection=summary.connection,
        status="succeeded" if summary.status == "succeeded" else "failed",
        run_id=summary.run_id,
        counts=dict(summary.report.counts),
        pools_created=summary.report.pools_created,
        pages=summary.pages,
        error=summary.error,
    )


@router.post(
    "/sync/{connection}",
    response_model=SyncStarted,
    responses={
        **errors(401, 403, 404, 409, 422, 503),
        202: {"model": SyncStarted, "description": "Started; still running after `wait`"},
    },
)
def trigger_sync(
    connection: Text,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    _caller: AdminCaller,
    wait: Annotated[
        float, Query(ge=0, le=600, description="seconds to wait for the run to finish")
    ] = 10,
) -> SyncStarted:
    """Run a sync of `connection` now. 409 at once if one is already running (whatever `wait`),
    or if the one that held it died less than a lease lifetime ago on another host."""
    runtime.connection(connection)  # 404 for an unknown name
    runtime.source(connection)  # 422 when the platform has no source or settings are wrong
    lease = claim(runtime, connection)  # busy: 409 now, before any work is queued
    pool: ThreadPoolExecutor = request.app.state.sync_pool
    try:
        future: Future[RunSummary] = pool.submit(_sync, runtime, connection, lease)
    except BaseException:
        lease.release()
        raise
    try:
        summary = future.result(timeout=wait)
    except FutureTimeout:
        response.status_code = 202
        return SyncStarted(connection=connection, status="running")
    except CreditsyncError:
        raise  # busy (409), bad settings (422): the error handlers answer
    except Exception as exc:
        if is_lock_timeout(exc):
            raise busy() from None
        raise ApiError(
            500, "sync_failed", f"the sync of {connection!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    return _summary(summary)


@router.get("/exceptions", response_model=list[ExceptionRecord], responses=ADMIN_ERRORS)
def get_exceptions(
    runtime: RuntimeDep,
    _caller: AdminCaller,
    status: Annotated[Literal["open", "resolved", "all"], Query()] = "open",
    connection: Text | None = None,
) -> list[ExceptionRecord]:
    """Events that could not be applied as the mappings stand, with the reason and the
    canonical event itself (``payload``), which a retry applies as is."""
    return list_exceptions(runtime.engine, None if status == "all" else status, connection)


@router.post("/exceptions/retry", response_model=RetryOut, responses=ADMIN_ERRORS)
def retry(runtime: RuntimeDep, _caller: AdminCaller, connection: Text | None = None) -> RetryOut:
    """Apply every open exception again under the mappings in force (after fixing them)."""
    report = retry_exceptions(runtime.engine, runtime.mappings.current, connection)
    return RetryOut.model_validate(report, from_attributes=True)


@router.get("/periods", response_model=list[PeriodOut], responses=ADMIN_ERRORS)
def get_periods(runtime: RuntimeDep, _caller: AdminCaller) -> list[PeriodOut]:
    """Every period that has journal entries or is closed, oldest first."""
    with runtime.engine.connect() as conn:
        found = list_periods(conn)
    return [PeriodOut.model_validate(p, from_attributes=True) for p in found]


@router.post(
    "/periods/{period}/close", response_model=ClosedOut, responses=errors(401, 403, 409, 422)
)
def post_close(period: Text, runtime: RuntimeDep, _caller: AdminCaller) -> ClosedOut:
    """Close `period` (YYYY-MM), in order, once it has ended and recognition covered it;
    again: a no-op."""
    period = period_has_ended(period, zone(runtime.settings.timezone))
    with runtime.engine.begin() as conn:
        closed = close_period(conn, period, runtime.settings.timezone)
    return ClosedOut.model_validate(closed, from_attributes=True)


class BlockedOut(BaseModel):
    entry_id: str
    sink: str
    period: str = Field(description="the period the book refused")
    message: str = Field(description="the book's own message")
    since: datetime


@router.get("/outbox/blocked", response_model=list[BlockedOut], responses=ADMIN_ERRORS)
def get_blocked(
    runtime: RuntimeDep, _caller: AdminCaller, sink: str | None = None
) -> list[BlockedOut]:
    """Journal entries a book refused until a person acts (its period is closed or locked
    there), with the book's message. `creditsync post --redate-to YYYY-MM` re-dates them."""
    with runtime.engine.connect() as conn:
        found = blocked(conn, sink)
    return [
        BlockedOut(
            entry_id=w.entry_id, sink=w.sink, period=w.period, message=w.message, since=w.updated_at
        )
        for w in found
    ]


@router.get("/scheduler", response_model=SchedulerOut, responses=ADMIN_ERRORS)
def get_scheduler(request: Request, _caller: AdminCaller) -> SchedulerOut:
    """Whether this process schedules jobs, leads, and when each job runs next."""
    scheduler: Scheduler | None = request.app.state.scheduler
    if scheduler is None:
        return SchedulerOut(running=False, leader=False, holder=None, jobs=[])
    status = scheduler.status()
    return SchedulerOut(
        running=status.running,
        leader=status.leader,
        holder=status.holder,
        jobs=[JobOut.model_validate(j, from_attributes=True) for j in status.jobs],
    )
