"""Manual grants, voids and adjustments (admin scope): goodwill, promotions, credits sold
outside any platform, and corrections. Each names its reason and carries an idempotency key;
the actor is the caller's token name, or the person it names on their behalf. A retried request
answers 200 with the first result; the same key for another request answers 409."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from connector.api.auth import AdminCaller, Caller
from connector.api.deps import RuntimeDep
from connector.api.errors import errors
from connector.api.types import Instant, Text
from connector.ledger import manual
from connector.ledger.models import PoolKind
from connector.ledger.rates import MAX_BIGINT

router = APIRouter(prefix="/v1/admin", tags=["manual operations"])
PoolId = Annotated[int, Path(ge=1, le=MAX_BIGINT, description="the pool's id")]
MANUAL_ERRORS = errors(401, 403, 404, 409, 422)

Key = Annotated[Text, Field(min_length=1, max_length=200, description="retrying is safe")]
Reason = Annotated[
    Text, Field(min_length=1, max_length=2000, description="why (kept in the audit trail)")
]
Actor = Annotated[
    Text | None,
    Field(default=None, max_length=200, description="the person acting; default the token's name"),
]


class ManualIn(BaseModel):
    idempotency_key: Key
    reason: Reason
    actor: Actor = None
    occurred_at: Instant | None = Field(default=None, description="ISO 8601 with offset")


class GrantIn(ManualIn):
    account_id: Text = Field(min_length=1, max_length=200)
    credits: int = Field(gt=0, le=MAX_BIGINT)
    kind: PoolKind = PoolKind.PROMOTIONAL
    amount: int = Field(
        default=0, ge=0, le=MAX_BIGINT, description="paid outside any platform, minor units"
    )
    currency: Text = Field(default="USD", min_length=3, max_length=3)
    expires_at: Instant | None = None


class AdjustIn(ManualIn):
    credits: int = Field(gt=0, le=MAX_BIGINT, description="credits to remove from the pool")


class ManualOut(BaseModel):
    id: int
    idempotency_key: str
    operation: str
    account_id: str
    pool_id: int
    credits: int = Field(description="signed, as written to the ledger")
    actor: str
    reason: str
    occurred_at: datetime
    recorded_at: datetime
    replayed: bool


def _author(body: ManualIn, caller: Caller) -> manual.Author:
    return manual.Author(body.idempotency_key, body.actor or caller.name, body.reason)


def _answer(done: manual.ManualOperation, response: Response) -> ManualOut:
    response.status_code = 200 if done.replayed else 201
    return ManualOut.model_validate(done, from_attributes=True)


@router.post("/grants", response_model=ManualOut, status_code=201, responses=MANUAL_ERRORS)
def post_grant(
    body: GrantIn, runtime: RuntimeDep, caller: AdminCaller, response: Response
) -> ManualOut:
    """Grant credits by hand (promotional by default: goodwill and promotions carry no money)."""
    request = manual.ManualGrant(
        account_id=body.account_id,
        credits=body.credits,
        kind=body.kind,
        amount=body.amount,
        currency=body.currency,
        effective_at=body.occurred_at,
        expires_at=body.expires_at,
    )
    with runtime.engine.begin() as conn:
        done = manual.grant(conn, request, _author(body, caller))
    return _answer(done, response)


@router.post(
    "/pools/{pool_id}/void", response_model=ManualOut, status_code=201, responses=MANUAL_ERRORS
)
def post_void(
    pool_id: PoolId, body: ManualIn, runtime: RuntimeDep, caller: AdminCaller, response: Response
) -> ManualOut:
    """Void a pool: its credits are taken back and its deferred revenue returns to clearing."""
    with runtime.engine.begin() as conn:
        done = manual.void(conn, pool_id, _author(body, caller), body.occurred_at)
    return _answer(done, response)


@router.post(
    "/pools/{pool_id}/adjust", response_model=ManualOut, status_code=201, responses=MANUAL_ERRORS
)
def post_adjust(
    pool_id: PoolId, body: AdjustIn, runtime: RuntimeDep, caller: AdminCaller, response: Response
) -> ManualOut:
    """Remove credits from a pool by hand (to give credits, grant them)."""
    with runtime.engine.begin() as conn:
        done = manual.adjust(conn, pool_id, body.credits, _author(body, caller), body.occurred_at)
    return _answer(done, response)
