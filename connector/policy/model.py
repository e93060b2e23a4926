"""What the low-balance policy records: alerts, refill requests and overage reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AlertKind(StrEnum):
    LOW_BALANCE = "low_balance"  # the balance crossed below the plan's notify_below
    REFILL_FAILED = "refill_failed"  # an auto-refill could not be charged


class AlertStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # the notify URL kept refusing it until it was too old to matter


class RefillStatus(StrEnum):
    PENDING = "pending"
    CHARGED = "charged"
    FAILED = "failed"


class OverageStatus(StrEnum):
    PENDING = "pending"
    REPORTED = "reported"
    FAILED = "failed"
    UNBILLABLE = "unbillable"  # no platform can bill this account's usage; see the error


@dataclass(frozen=True)
class Alert:
    id: int
    account_id: str
    kind: str
    threshold: int
    balance: int
    burn_id: int | None
    key: str
    status: str
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Refill:
    id: int
    account_id: str
    key: str
    platform: str
    item_id: str
    quantity: int
    balance: int
    status: str
    external_id: str | None
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Overage:
    burn_id: int
    account_id: str
    credits: int
    occurred_at: datetime
    platform: str | None
    status: str
    external_id: str | None
    attempts: int
    error: str | None
    created_at: datetime
    reported_at: datetime | None

    @property
    def key(self) -> str:
        return overage_key(self.burn_id)


def alert_key(account_id: str, burn_id: int) -> str:
    """One low-balance alert per crossing: the burn that crossed names it."""
    return f"low-balance-{account_id}-{burn_id}"


def refill_key(account_id: str, burn_id: int) -> str:
    """Also the platform's idempotency key, so a re-run charge converges on one invoice."""
    return f"refill-{account_id}-{burn_id}"


def refill_failed_key(refill: str) -> str:
    return f"failed-{refill}"


def overage_key(burn_id: int) -> str:
    """Stable per burn: the usage platform deduplicates a re-sent report on it."""
    return f"overage-{burn_id}"
