"""The ledger's value types: what callers hand in and what they get back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from connector.kinds import BreakageMethod as BreakageMethod  # shared with the mapping model
from connector.kinds import PoolKind as PoolKind

if TYPE_CHECKING:  # the balance command reads pools without loading pydantic's event models
    from connector.events import SourceKey


class PoolStatus(StrEnum):
    ACTIVE = "active"
    EXHAUSTED = "exhausted"  # nothing left, not expired: may still be clawed nothing
    EXPIRED = "expired"
    VOIDED = "voided"


class EntryKind(StrEnum):
    GRANT = "grant"
    BURN = "burn"
    EXPIRE = "expire"
    VOID = "void"
    CLAWBACK = "clawback"
    ADJUST = "adjust"


@dataclass(frozen=True)
class GrantRequest:
    """A pool to create. ``source`` + ``part`` is its idempotency key."""

    account_id: str
    kind: PoolKind
    credits: int
    revenue_amount: int
    currency: str
    effective_at: datetime
    source: SourceKey
    part: str = "paid"
    expires_at: datetime | None = None
    priority: int = 100
    item_id: str | None = None
    mapping_version: str | None = None
    entity: str | None = None
    breakage_method: BreakageMethod = BreakageMethod.REMOTE
    breakage_rate: str = "0"  # exact decimal text in [0, 1)


@dataclass(frozen=True)
class Pool:
    id: int
    account_id: str
    kind: PoolKind
    credits_granted: int
    credits_remaining: int
    revenue_amount: int
    currency: str
    effective_at: datetime
    expires_at: datetime | None
    priority: int
    status: PoolStatus
    source: SourceKey
    part: str
    item_id: str | None
    mapping_version: str | None
    entity: str | None
    breakage_method: BreakageMethod
    breakage_rate: str
    created_at: datetime


@dataclass(frozen=True)
class BurnRequest:
    account_id: str
    idempotency_key: str
    action: str
    units: int
    occurred_at: datetime


@dataclass(frozen=True)
class Allocation:
    pool_id: int
    credits: int


@dataclass(frozen=True)
class BurnResult:
    burn_id: int
    account_id: str
    idempotency_key: str
    action: str
    units: int
    credits: int
    rate_version: int
    occurred_at: datetime
    allocations: tuple[Allocation, ...]
    balance: int  # the account's spendable credits right after this burn
    replayed: bool = False  # True when the key had been seen and the first result is returned
    overage_credits: int = 0


@dataclass(frozen=True)
class BurnRate:
    action: str
    version: int
    credits_per_unit: str
    effective_from: datetime
    created_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class PoolBalance:
    pool_id: int
    kind: PoolKind
    credits_remaining: int
    credits_granted: int
    expires_at: datetime | None
    priority: int


@dataclass(frozen=True)
class Balance:
    account_id: str
    total: int
    pools: tuple[PoolBalance, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Clawback:
    """Credits taken back from one pool (refund, dispute, void)."""

    pool_id: int
    credits: int
    reference: str
    occurred_at: datetime
