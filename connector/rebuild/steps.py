"""The inputs creditsync keeps, as replayable steps in the order they originally happened.

Each step carries the moment it took effect in the live database (its recorded, applied or
created time); ties keep the order of the kinds below and then of the rows' ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from connector.events import CanonicalEvent
from connector.ledger.models import BurnRequest, GrantRequest


@dataclass(frozen=True)
class SetRate:
    RANK: ClassVar[int] = 0
    at: datetime
    seq: int
    action: str
    credits_per_unit: str
    effective_from: datetime
    note: str | None
    version: int

    @property
    def label(self) -> str:
        return f"burn rate {self.action} v{self.version}"


@dataclass(frozen=True)
class ApplyEvents:
    """Canonical events applied together, under the mapping version they were granted with."""

    RANK: ClassVar[int] = 1
    at: datetime
    seq: int
    connection: str
    events: tuple[CanonicalEvent, ...]
    mapping_version: str | None  # None: the mappings in force now

    @property
    def label(self) -> str:
        first = self.events[0]
        more = f" (+{len(self.events) - 1})" if len(self.events) > 1 else ""
        return f"{first.kind} {first.source}{more}"


@dataclass(frozen=True)
class Grant:
    """A pool granted directly (not from a billing event): its recorded grant is the input."""

    RANK: ClassVar[int] = 1
    at: datetime
    seq: int
    request: GrantRequest

    @property
    def label(self) -> str:
        return f"grant {self.request.source}:{self.request.part}"


@dataclass(frozen=True)
class Burn:
    RANK: ClassVar[int] = 2
    at: datetime
    seq: int
    request: BurnRequest

    @property
    def label(self) -> str:
        return f"burn {self.request.account_id}/{self.request.idempotency_key}"


@dataclass(frozen=True)
class Expire:
    """An expiry run, known by the ledger entries it wrote: it covered at least ``until``."""

    RANK: ClassVar[int] = 3
    at: datetime
    seq: int
    until: datetime

    @property
    def label(self) -> str:
        return f"expiry through {self.until.isoformat()}"


@dataclass(frozen=True)
class Recognize:
    RANK: ClassVar[int] = 4
    at: datetime
    seq: int
    through: datetime
    mode: str
    started_at: datetime

    @property
    def label(self) -> str:
        return f"recognition through {self.through.isoformat()} ({self.mode})"


@dataclass(frozen=True)
class Close:
    RANK: ClassVar[int] = 5
    at: datetime
    seq: int
    period: str
    timezone: str
    closed_at: datetime

    @property
    def label(self) -> str:
        return f"close {self.period}"


@dataclass(frozen=True)
class TakeBack:
    """A manual void or adjustment of a pool (named by its source key), with who and why."""

    RANK: ClassVar[int] = 2
    at: datetime
    seq: int
    operation: str  # void | adjust
    pool: tuple[str, str, str, str]  # platform, object, line, part
    credits: int  # removed (adjust)
    idempotency_key: str
    actor: str
    reason: str
    occurred_at: datetime

    @property
    def label(self) -> str:
        return f"{self.operation} {':'.join(self.pool)} ({self.idempotency_key})"


Step = SetRate | ApplyEvents | Grant | Burn | TakeBack | Expire | Recognize | Close


def order(step: Step) -> tuple[datetime, int, int]:
    return (step.at, step.RANK, step.seq)
