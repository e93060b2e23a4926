"""Canonical, platform-neutral billing events.

Adapters translate what a platform says into these; everything downstream (mapping, ledger,
recognition) reads only these. Amounts are integer minor units, timestamps are aware, and every
event carries a stable source key so that applying it twice is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt

from connector.money import normalize_currency
from connector.timeutil import require_aware

Currency = Annotated[str, AfterValidator(normalize_currency)]
Instant = Annotated[datetime, AfterValidator(lambda v: require_aware(v, "occurred_at"))]
MinorUnits = StrictInt


class SourceKey(BaseModel):
    """Where a fact came from: (platform, object id, line id). The line is '' for whole objects."""

    model_config = ConfigDict(frozen=True)

    platform: str = Field(min_length=1)
    object_id: str = Field(min_length=1)
    line_id: str = ""

    def __str__(self) -> str:
        return f"{self.platform}:{self.object_id}:{self.line_id}"

    @classmethod
    def parse(cls, text: str) -> SourceKey:
        platform, object_id, line_id = (text.split(":", 2) + ["", ""])[:3]
        return cls(platform=platform, object_id=object_id, line_id=line_id)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: SourceKey
    occurred_at: Instant
    currency: Currency


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_id: str = Field(min_length=1)
    email: str | None = None
    name: str | None = None


class Purchase(_Event):
    """One paid line of an invoice, order or checkout: what was bought, for how much, by whom."""

    kind: Literal["purchase"] = "purchase"
    customer: Customer
    item_id: str = Field(min_length=1)
    item_aliases: tuple[str, ...] = Field(
        default=(), description="other names of the item a mapping may use (e.g. a lookup key)"
    )
    quantity: StrictInt = Field(gt=0)
    net_amount: MinorUnits = Field(ge=0, description="after discounts, before (excluding) tax")
    tax_amount: MinorUnits = Field(default=0, ge=0)
    period_end: Instant | None = Field(
        default=None, description="end of the paid service period, for 'end of period' expiry"
    )
    description: str = ""


class Refund(_Event):
    """Money returned against a purchase object (an invoice) or one of its lines."""

    kind: Literal["refund"] = "refund"
    target_object: str = Field(min_length=1, description="the purchase's source object id")
    target_line: str | None = Field(default=None, description="None: spread over all lines")
    amount: MinorUnits = Field(gt=0)


class CreditNote(Refund):
    """A credit note against a paid invoice; for the ledger it acts as a refund of its amount."""

    kind: Literal["credit_note"] = "credit_note"  # type: ignore[assignment]


class DisputeOutcome(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Dispute(_Event):
    """A chargeback. Only a lost dispute takes credits back; a won or open one changes nothing."""

    kind: Literal["dispute"] = "dispute"
    target_object: str = Field(min_length=1)
    amount: MinorUnits = Field(gt=0)
    outcome: DisputeOutcome


class Void(_Event):
    """A purchase object cancelled after the fact: every pool it granted loses what remains."""

    kind: Literal["void"] = "void"
    target_object: str = Field(min_length=1)


class RefundFailed(_Event):
    """A refund (or credit note refund) that the platform reports as failed after the fact.

    The money never left, so the clawback the refund made is undone: its credits and deferred
    revenue come back. ``refund`` is the source key of the refund event being undone.
    """

    kind: Literal["refund_failed"] = "refund_failed"
    refund: SourceKey
    target_object: str = Field(min_length=1, description="the purchase's source object id")


class Unreadable(_Event):
    """A platform object (or one of its lines) that carries money but cannot be read.

    It changes nothing in the ledger: it is kept as an exception that names the object, the line
    and what is missing, so a purchase is never dropped in silence.
    """

    kind: Literal["unreadable"] = "unreadable"
    reason: str = Field(min_length=1, description="what could not be read, and where")


CanonicalEvent = Annotated[
    Purchase | CreditNote | Refund | Dispute | Void | RefundFailed | Unreadable,
    Field(discriminator="kind"),
]
