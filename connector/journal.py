"""Journal entries as creditsync produces them and as sinks hold them.

An entry balances (debits = credits) by construction; its id is deterministic so that posting it
anywhere is idempotent on that id. It names the legal entity that books it (an ERP's subsidiary)
and may carry dimensions (department, class, location): on the entry for every line, and on a
line for that line alone.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from connector.events import Currency
from mappings.gl import Dimensions as Dimensions  # a mapping's dimensions, as entries carry them


class EntryKind(StrEnum):
    DEFERRAL = "deferral"  # purchase paid: Dr clearing / Cr deferred revenue
    RECOGNITION = "recognition"  # consumption: Dr deferred / Cr revenue
    BREAKAGE = "breakage"  # expiry or proportional estimate: Dr deferred / Cr breakage revenue
    REFUND = "refund"  # Dr deferred (+ Dr contra revenue) / Cr clearing
    REVERSAL = "reversal"  # mirror of an entry posted in error (reconciliation repair)


class JournalLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(min_length=1, description="GL account code from the mapping")
    debit: StrictInt = Field(default=0, ge=0)
    credit: StrictInt = Field(default=0, ge=0)
    memo: str = ""
    dimensions: Dimensions | None = Field(
        default=None, description="this line's own; else the entry's"
    )

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if (self.debit == 0) == (self.credit == 0):
            raise ValueError("a journal line has exactly one of debit or credit, non-zero")
        return self


class JournalEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    kind: EntryKind
    period: str = Field(pattern=r"^\d{4}-\d{2}$", description="accounting period, e.g. 2026-10")
    entry_date: date
    currency: Currency
    lines: tuple[JournalLine, ...] = Field(min_length=2)
    memo: str = ""
    entity: str | None = Field(
        default=None, description="legal entity from the mapping (None: the only one)"
    )
    dimensions: Dimensions | None = Field(
        default=None, description="for every line without its own"
    )
    late: bool = Field(default=False, description="consumption from a period closed before it")
    pool_ids: tuple[int, ...] = ()
    source_keys: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _balances(self) -> Self:
        debits = sum(line.debit for line in self.lines)
        credits = sum(line.credit for line in self.lines)
        if debits != credits:
            raise ValueError(
                f"entry {self.id} does not balance: debits {debits} != credits {credits}"
            )
        return self

    @property
    def total(self) -> int:
        return sum(line.debit for line in self.lines)

    def line_dimensions(self, line: JournalLine) -> Dimensions:
        """What a line is booked under: its own dimensions over the entry's."""
        return (line.dimensions or Dimensions()).over(self.dimensions)


class PostedEntry(BaseModel):
    """What a sink says it holds: read back for reconciliation."""

    model_config = ConfigDict(frozen=True)

    sink_id: str
    entry_id: str | None = Field(description="creditsync's id if the sink kept it, else None")
    period: str
    entry_date: date
    currency: Currency
    lines: tuple[JournalLine, ...]
    entity: str | None = None
