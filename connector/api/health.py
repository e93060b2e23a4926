"""Liveness, readiness and Prometheus metrics, all without a token (for probes and scrapers).

/healthz says the process answers; /readyz says it can do its work (the database answers and its
schema is the one this code expects), so a load balancer sends traffic only to ready processes
and a deploy that forgot ``creditsync db upgrade`` shows up as not ready instead of failing calls.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from pydantic import BaseModel

from connector import metrics
from connector.api.deps import RuntimeDep
from connector.api.errors import ApiError, errors
from connector.outbox import store as outbox_store
from connector.runtime import Runtime
from connector.store.migrate import current_revision

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    revision: str


@router.get("/healthz", response_model=Health, responses=errors())
def healthz() -> Health:
    """The process is up and answering."""
    return Health(status="ok")


@router.get("/readyz", response_model=Ready, responses=errors(503))
def readyz(request: Request, runtime: RuntimeDep) -> Ready:
    """The database answers and its migrations are current; 503 otherwise."""
    head: str | None = request.app.state.head_revision
    try:
        current = current_revision(runtime.engine)
    except Exception as exc:
        raise ApiError(
            503, "database_unreachable", f"the database does not answer: {type(exc).__name__}"
        ) from None
    if current != head:
        raise ApiError(
            503,
            "migrations_pending",
            f"the database is at revision {current or 'none'}, this code needs {head}",
        )
    return Ready(status="ready", revision=current or "")


def refresh_outbox_depth(runtime: Runtime) -> None:
    """Set the outbox gauge from the table itself, so a scrape never shows a stale depth."""
    with runtime.engine.connect() as conn:
        counts = outbox_store.statuses(conn)
    pending = outbox_store.Status.PENDING.value
    sinks = {sink for sink, _status in counts} | set(runtime.settings.journal_sinks)
    for sink in sinks:
        metrics.OUTBOX_DEPTH.labels(sink).set(counts.get((sink, pending), 0))


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        **errors(),
    },
)
def prometheus(runtime: RuntimeDep) -> Response:
    """Prometheus exposition: burns, grants, webhook outcomes, sync durations, outbox depth."""
    try:
        refresh_outbox_depth(runtime)
    except Exception:  # metrics must still answer when the database does not
        log.warning("could not read the outbox depth", exc_info=True)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
