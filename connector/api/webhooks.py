"""POST /webhooks/{connection}: verify, store, answer at once, apply after the answer.

Platforms time out and retry slow endpoints, so the answer only waits for what makes the delivery
safe: the signature check and the insert into the inbox. That insert goes through the inbox
writer (``connector.sync.inbox_writer``): one thread on a connection of its own, storing every
delivery waiting at that moment with one commit, so neither a sync run holding the connection
pool nor the worker threads held by burns can keep an answer waiting. Applying the delivery
(which may call the platform's API) happens after the answer, through the same path as a sync
run.

No bearer token here: the platform's own signature (or credentials, for platforms without one)
is what the connection's WebhookReceiver checks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime

from fastapi import APIRouter, BackgroundTasks, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from connector import metrics
from connector.api.deps import RuntimeDep
from connector.api.drain import Drainer
from connector.api.errors import ApiError, errors
from connector.api.gate import BodyTooLarge
from connector.api.types import Text
from connector.errors import CreditsyncError
from connector.ports import (
    WebhookChallenge,
    WebhookInvalid,
    WebhookReceiver,
    WebhookRejected,
    WebhookResult,
    adapter,
)
from connector.runtime import Runtime
from connector.sync import inbox, rejected
from connector.sync.inbox import Received
from connector.sync.inbox_writer import InboxWriter
from connector.timeutil import utcnow

log = logging.getLogger(__name__)

VERIFY_INLINE_BYTES = 64 * 1024  # bodies verified on the event loop; larger ones in a thread

router = APIRouter(tags=["webhooks"])


class WebhookAck(BaseModel):
    received: bool = Field(description="the delivery is verified and stored")
    duplicate: bool = Field(description="this event id was stored before; ignored")
    event_id: str


def make_drainer(runtime: Runtime) -> Drainer:
    return Drainer(lambda connection, limit: inbox.process_pending(runtime, connection, limit))


def warm_receivers(runtime: Runtime, cache: dict[str, WebhookReceiver]) -> None:
    """Build each connection's receiver before the first delivery: importing an adapter (and
    its SDK) takes long enough to time a delivery out, and a misconfigured connection shows up
    in the log at start rather than at its first webhook."""
    for name, connection in runtime.settings.connections.items():
        if not connection.enabled or name in cache:
            continue
        try:
            if adapter(connection.platform).receiver is not None:
                cache[name] = runtime.receiver(name)
        except CreditsyncError as exc:
            log.warning("connection %s cannot receive webhooks: %s", name, exc.message)


def _receiver(request: Request, runtime: Runtime, connection: str) -> WebhookReceiver:
    cache: dict[str, WebhookReceiver] = request.app.state.receivers
    if connection not in cache:
        try:
            cache[connection] = runtime.receiver(connection)
        except CreditsyncError as exc:
            metrics.WEBHOOKS.labels(connection, "misconfigured").inc()
            raise ApiError(
                503,
                "connection_misconfigured",
                f"connection {connection!r} cannot receive webhooks: {exc.message}",
            ) from None
    return cache[connection]


def verify(
    receiver: WebhookReceiver, headers: Mapping[str, str], body: bytes, received_at: datetime
) -> WebhookResult:
    """Check the signature and read the events: hashing and parsing, no I/O."""
    result = receiver.receive(headers, body, received_at)
    rejected.require_storable(result)
    return result


async def verified(
    runtime: Runtime,
    receiver: WebhookReceiver,
    connection: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Received:
    """The delivery, verified. A usual one is verified right here on the event loop: a hash
    and a parse of a few kilobytes cost less than the trip to a worker thread, whose pool burns
    and admin calls may have taken. A large body would hold the loop up; it goes to a thread.

    An authentic delivery that is not a valid event is kept as a rejected delivery: a write,
    made from a worker thread, on that rare path only."""
    received_at = utcnow()
    try:
        if len(body) <= VERIFY_INLINE_BYTES:
            result = verify(receiver, headers, body, received_at)
        else:
            result = await run_in_threadpool(verify, receiver, headers, body, received_at)
    except WebhookInvalid as exc:
        await run_in_threadpool(rejected.record, runtime.engine, connection, exc, body, received_at)
        raise
    return Received(connection, result, body, received_at)


@router.post(
    "/webhooks/{connection}",
    response_model=WebhookAck,
    responses=errors(400, 401, 404, 413, 422, 503),
    summary="Receive a billing platform's webhook delivery",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the platform's event exactly as it signed it (read raw, not parsed "
            "here, so the signature is checked over the bytes sent)",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_webhook(
    connection: Text,
    request: Request,
    background: BackgroundTasks,
    runtime: RuntimeDep,
) -> WebhookAck:
    """Verified and stored: 200 at once (a repeated event id: 200, ignored). Bad signature: 400,
    nothing stored. No credentials where the platform sends them only when challenged: 401 with
    WWW-Authenticate. Authentic but not a valid event: 400, kept as a rejected delivery. Applied
    after the answer."""
    configured = runtime.settings.connections.get(connection)
    if configured is None or not configured.enabled:
        state = "is disabled" if configured is not None else "does not exist"
        raise ApiError(404, "not_found", f"connection {connection!r} {state}")
    try:
        body = await request.body()  # the request gate limits its size (max_body_bytes)
    except BodyTooLarge:
        metrics.WEBHOOKS.labels(connection, "too_large").inc()
        raise
    receiver = _receiver(request, runtime, connection)
    try:
        delivery = await verified(runtime, receiver, connection, request.headers, body)
        writer: InboxWriter = request.app.state.inbox_writer
        new = await asyncio.wrap_future(writer.submit(delivery))
    except WebhookChallenge as exc:
        metrics.WEBHOOKS.labels(connection, "challenged").inc()
        raise ApiError(401, "webhook_unauthenticated", str(exc), headers=exc.headers) from None
    except WebhookInvalid as exc:
        metrics.WEBHOOKS.labels(connection, "invalid").inc()
        raise ApiError(
            400,
            "webhook_invalid",
            f"the delivery is authentic but not a valid event: {exc.reason}",
            fix="nothing to resend: it is kept under GET /v1/admin/webhooks/rejected for review",
        ) from None
    except WebhookRejected as exc:
        metrics.WEBHOOKS.labels(connection, "rejected").inc()
        raise ApiError(400, "webhook_rejected", str(exc)) from None
    if not new:
        metrics.WEBHOOKS.labels(connection, "duplicate").inc()
    elif delivery.result.ignored:
        metrics.WEBHOOKS.labels(connection, "ignored").inc()
    else:
        metrics.WEBHOOKS.labels(connection, "accepted").inc()
        drainer: Drainer = request.app.state.drainer
        if drainer.wanted(connection):
            background.add_task(drainer.drain, connection)
    return WebhookAck(received=True, duplicate=not new, event_id=delivery.result.event_id)
