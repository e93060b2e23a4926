"""GET /v1/admin/webhooks/rejected: authentic deliveries that were not valid events (admin).

What a platform sent that creditsync could not read, with the reason, so that a platform bug or
an unexpected payload shape is seen and can be reported, instead of vanishing behind a 400.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from connector.api.auth import AdminCaller
from connector.api.deps import RuntimeDep
from connector.api.errors import errors
from connector.api.types import Text
from connector.errors import NotFound
from connector.ledger.rates import MAX_BIGINT
from connector.sync.rejected import RejectedDelivery, get_rejected, list_rejected

router = APIRouter(prefix="/v1/admin/webhooks", tags=["admin"])

PREVIEW_BYTES = 4096


class RejectedOut(BaseModel):
    id: int
    connection: str
    event_id: str | None = Field(description="the delivery's event id, when it had a usable one")
    event_type: str | None
    reason: str = Field(description="why it is not a valid event")
    deliveries: int = Field(description="how many times this exact body was delivered")
    first_received_at: datetime
    last_received_at: datetime
    body_bytes: int = Field(description="size of the body as delivered")
    body: str = Field(
        description="the body as UTF-8 text (invalid bytes replaced); in a list, its first "
        f"{PREVIEW_BYTES} bytes"
    )


def rejected_out(found: RejectedDelivery, preview: bool) -> RejectedOut:
    body = found.body[:PREVIEW_BYTES] if preview else found.body
    return RejectedOut.model_validate(
        {
            **dataclasses.asdict(found),
            "body_bytes": len(found.body),
            "body": body.decode("utf-8", errors="replace"),
        }
    )


@router.get("/rejected", response_model=list[RejectedOut], responses=errors(401, 403, 422))
def get_rejected_list(
    runtime: RuntimeDep,
    _caller: AdminCaller,
    connection: Text | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> list[RejectedOut]:
    """Rejected deliveries, the most recently delivered first (bodies cut to a preview)."""
    found = list_rejected(runtime.engine, connection, limit)
    return [rejected_out(r, preview=True) for r in found]


@router.get(
    "/rejected/{rejected_id}", response_model=RejectedOut, responses=errors(401, 403, 404, 422)
)
def get_rejected_one(
    rejected_id: Annotated[int, Path(ge=1, le=MAX_BIGINT)],
    runtime: RuntimeDep,
    _caller: AdminCaller,
) -> RejectedOut:
    """One rejected delivery with its whole body."""
    found = get_rejected(runtime.engine, rejected_id)
    if found is None:
        raise NotFound(f"no rejected delivery has id {rejected_id}")
    return rejected_out(found, preview=False)
