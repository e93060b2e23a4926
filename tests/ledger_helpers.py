"""Builders for ledger tests: grants and burns with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from connector.events import SourceKey
from connector.ledger.models import BurnRequest, GrantRequest, PoolKind

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_serial = count(1)


def grant_request(
    account_id: str = "acme",
    credits: int = 1000,
    *,
    kind: PoolKind = PoolKind.PAID,
    revenue: int | None = None,
    currency: str = "USD",
    effective_at: datetime = T0,
    expires_at: datetime | None = None,
    priority: int = 100,
    object_id: str | None = None,
    line_id: str = "line_1",
    part: str = "paid",
) -> GrantRequest:
    if revenue is None:
        revenue = 0 if kind is PoolKind.PROMOTIONAL else credits * 10
    return GrantRequest(
        account_id=account_id,
        kind=kind,
        credits=credits,
        revenue_amount=revenue,
        currency=currency,
        effective_at=effective_at,
        expires_at=expires_at,
        priority=priority,
        source=SourceKey(
            platform="test", object_id=object_id or f"inv_{next(_serial)}", line_id=line_id
        ),
        part=part,
    )


def burn_request(
    key: str,
    units: int = 1,
    *,
    account_id: str = "acme",
    action: str = "query",
    occurred_at: datetime = T0,
) -> BurnRequest:
    return BurnRequest(
        account_id=account_id,
        idempotency_key=key,
        action=action,
        units=units,
        occurred_at=occurred_at,
    )
