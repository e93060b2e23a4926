"""POST /v1/burns: the AI product spends credits, one burn or a batch.

A single burn answers with its result and the new balance, or with the one error that refused it
(402 when credits run short). A batch answers 200 with one result or error per item, in order: a
refused item writes nothing and spoils no other.

The idempotency key is what makes a retry safe, so it is required. When the caller leaves
``occurred_at`` out the burn is dated at arrival; a retry of it arrives later, so a key that
conflicts only because of that date is answered with the first burn's result (same account,
action and units) instead of a conflict.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictInt, Tag

from connector import metrics
from connector.api.auth import BurnCaller
from connector.api.deps import RuntimeDep
from connector.api.errors import ApiError, ErrorDetail, errors, from_domain
from connector.api.types import Instant, Text
from connector.errors import Conflict, CreditsyncError, InsufficientCredits, InvalidInput, NotFound
from connector.horizon import not_after_now
from connector.ledger.burns import BatchOutcome
from connector.ledger.models import BurnRequest, BurnResult
from connector.runtime import Runtime
from connector.timeutil import utcnow

MAX_BATCH = 1000

router = APIRouter(tags=["burns"])


class BurnIn(BaseModel):
    """One consumption of credits."""

    model_config = ConfigDict(extra="forbid")

    account_id: Text = Field(description="the customer's account id in creditsync")
    action: Text = Field(description="the AI action, e.g. query; it has a burn rate")
    units: StrictInt = Field(description="how many units of the action (positive)")
    occurred_at: Instant | None = Field(
        default=None, description="when it happened (ISO 8601 with offset); default: now"
    )
    idempotency_key: Text | None = Field(
        default=None,
        description="unique per burn; required here or, for a single burn, as the "
        "Idempotency-Key header",
    )


class BurnBatchIn(BaseModel):
    """Many burns in one call; each item needs its own idempotency_key."""

    model_config = ConfigDict(extra="forbid")

    burns: list[BurnIn] = Field(min_length=1, max_length=MAX_BATCH)


def _shape(value: Any) -> str:
    return "<batch>" if isinstance(value, dict) and "burns" in value else "<one>"


BurnsBody = Annotated[
    Annotated[BurnIn, Tag("<one>")] | Annotated[BurnBatchIn, Tag("<batch>")],
    Discriminator(_shape),
]


class AllocationOut(BaseModel):
    pool_id: int
    credits: int


class BurnOut(BaseModel):
    burn_id: int
    account_id: str
    idempotency_key: str
    action: str
    units: int
    credits: int = Field(description="credits the burn cost at the rate in force")
    overage_credits: int = Field(description="part of credits beyond the balance (overage plans)")
    rate_version: int
    occurred_at: datetime
    allocations: list[AllocationOut] = Field(description="credits taken from each pool")
    balance: int = Field(description="the account's spendable credits right after this burn")
    replayed: bool = Field(description="true when this key was seen before: the first result")


class BatchItemOut(BaseModel):
    index: int
    ok: bool
    burn: BurnOut | None = None
    error: ErrorDetail | None = None


class BatchOut(BaseModel):
    results: list[BatchItemOut]
    burned: int = Field(description="items that burned (or replayed an earlier burn)")
    refused: int = Field(description="items refused; each has its error")


def burn_out(result: BurnResult) -> BurnOut:
    return BurnOut(
        burn_id=result.burn_id,
        account_id=result.account_id,
        idempotency_key=result.idempotency_key,
        action=result.action,
        units=result.units,
        credits=result.credits,
        overage_credits=result.overage_credits,
        rate_version=result.rate_version,
        occurred_at=result.occurred_at,
        allocations=[
            AllocationOut(pool_id=a.pool_id, credits=a.credits) for a in result.allocations
        ],
        balance=result.balance,
        replayed=result.replayed,
    )


def count(result: BurnResult | None, error: Exception | None = None) -> None:
    if result is not None:
        metrics.BURNS.labels("replayed" if result.replayed else "burned").inc()
        if not result.replayed:
            metrics.CREDITS_BURNED.inc(result.credits)
        return
    outcome = {
        InsufficientCredits: "refused",
        Conflict: "conflict",
        InvalidInput: "invalid",
        NotFound: "not_found",
    }.get(type(error), "error")
    metrics.BURNS.labels(outcome).inc()


def _ahead(item: BurnIn, runtime: Runtime) -> InvalidInput | None:
    """A burn dated beyond now (plus the clock skew allowed) would sit in the ledger before the
    moment it claims; refuse it, alone."""
    if item.occurred_at is None:
        return None
    skew = timedelta(seconds=runtime.settings.burn_clock_skew_seconds)
    try:
        not_after_now(
            item.occurred_at, "occurred_at", "send the time the action happened", skew=skew
        )
    except InvalidInput as exc:
        return exc
    return None


def _request(item: BurnIn, key: str | None, now: datetime) -> BurnRequest:
    return BurnRequest(
        account_id=item.account_id,
        idempotency_key=key or "",
        action=item.action,
        units=item.units,
        occurred_at=item.occurred_at or now,
    )


async def burn_one(runtime: Runtime, item: BurnIn, header_key: str | None) -> BurnOut:
    if item.idempotency_key and header_key and item.idempotency_key != header_key:
        raise InvalidInput(
            "idempotency_key",
            "the body's idempotency_key and the Idempotency-Key header differ",
            "send the key once, in either place",
        )
    key = item.idempotency_key or header_key
    if not key:
        raise InvalidInput(
            "idempotency_key",
            "is required",
            "send an Idempotency-Key header or an idempotency_key field, unique per burn",
        )
    ahead = _ahead(item, runtime)
    if ahead is not None:
        count(None, ahead)
        raise ahead
    req = _request(item, key, utcnow())
    try:
        try:
            result = await asyncio.wrap_future(runtime.burn_writer.submit(req))
        except Conflict:
            if item.occurred_at is not None:
                raise
            result = await run_in_threadpool(runtime.ledger.replay_undated, req)
    except CreditsyncError as exc:
        count(None, exc)
        raise
    count(result)
    return burn_out(result)


def _item(index: int, outcome: BatchOutcome) -> BatchItemOut:
    if outcome.result is not None:
        return BatchItemOut(index=index, ok=True, burn=burn_out(outcome.result))
    error = outcome.error
    if isinstance(error, CreditsyncError):
        mapped = from_domain(error)
        extra = dict(mapped.extra)
        if extra.get("field"):
            extra["field"] = f"burns.{index}.{extra['field']}"
        detail = ErrorDetail(code=mapped.code, message=mapped.message, **extra)
    else:
        detail = ErrorDetail(code="error", message=str(error))
    return BatchItemOut(index=index, ok=False, error=detail)


def _batch(runtime: Runtime, batch: BurnBatchIn) -> BatchOut:
    now = utcnow()
    ledger = runtime.ledger
    requests = [_request(item, item.idempotency_key, now) for item in batch.burns]
    ahead = {i: exc for i, item in enumerate(batch.burns) if (exc := _ahead(item, runtime))}
    burned_now = iter(ledger.burn_batch([r for i, r in enumerate(requests) if i not in ahead]))
    outcomes = [
        BatchOutcome(request=req, error=ahead[i]) if i in ahead else next(burned_now)
        for i, req in enumerate(requests)
    ]
    for i, outcome in enumerate(outcomes):
        if isinstance(outcome.error, Conflict) and batch.burns[i].occurred_at is None:
            try:
                retried = ledger.replay_undated(outcome.request)
                outcomes[i] = BatchOutcome(request=outcome.request, result=retried)
            except CreditsyncError as exc:
                outcomes[i] = BatchOutcome(request=outcome.request, error=exc)
        count(outcomes[i].result, outcomes[i].error)
    items = [_item(i, outcome) for i, outcome in enumerate(outcomes)]
    burned = sum(1 for item in items if item.ok)
    return BatchOut(results=items, burned=burned, refused=len(items) - burned)


@router.post(
    "/v1/burns",
    response_model=BurnOut | BatchOut,
    responses=errors(401, 402, 403, 404, 409, 422),
    summary="Burn credits (one burn, or a batch under `burns`)",
)
async def post_burns(
    body: BurnsBody,
    runtime: RuntimeDep,
    _caller: BurnCaller,
    idempotency_key: Annotated[
        Text | None,
        Header(alias="Idempotency-Key", description="the idempotency key of a single burn"),
    ] = None,
) -> Response:
    """One burn: its result and the new balance; 402 when credits run short (nothing burned).

    A batch (`{"burns": [...]}`): 200 with a result or an error per item, in order.
    """
    if isinstance(body, BurnBatchIn):
        if idempotency_key is not None:
            raise ApiError(
                422,
                InvalidInput.code,
                "Idempotency-Key: a batch has no single key",
                field="Idempotency-Key",
                fix="give each burn of the batch its own idempotency_key",
            )
        answer: BaseModel = await run_in_threadpool(_batch, runtime, body)
    else:
        answer = await burn_one(runtime, body, idempotency_key)
    # Serialized here, once: the models are built from the ledger's own values, so FastAPI's
    # second validation against response_model (which still documents the answer) is skipped.
    return Response(answer.model_dump_json(), media_type="application/json")
