"""What reconciliation finds: one difference per posting (or missing posting) that is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from connector.journal import JournalEntry, JournalLine, PostedEntry


class DifferenceKind(StrEnum):
    MISSING = "missing"  # produced by creditsync, not in the sink
    DUPLICATE = "duplicate"  # the same entry posted more than once
    AMOUNT_DIFFERS = "amount differs"  # same accounts, other amounts (or another currency)
    ACCOUNT_DIFFERS = "account differs"  # posted to other accounts
    UNKNOWN = "unknown"  # in the sink, but not an entry creditsync produced
    WRONG_PERIOD = "wrong period"  # an entry of creditsync's found in another period


@dataclass(frozen=True)
class Difference:
    kind: DifferenceKind
    sink: str
    period: str  # the period reconciled (where the posting was read back)
    entry_id: str | None
    expected: JournalEntry | None  # creditsync's entry (None: unknown posting)
    posting: PostedEntry | None  # what the sink holds (None: missing)
    detail: str

    @property
    def sink_id(self) -> str | None:
        return self.posting.sink_id if self.posting else None

    @property
    def currency(self) -> str:
        if self.expected is not None:
            return self.expected.currency
        assert self.posting is not None
        return self.posting.currency


def describe(lines: tuple[JournalLine, ...], currency: str) -> str:
    """Lines in minor units, e.g. ``USD Dr 1205 1000 / Cr 2350 1000``."""
    parts = [
        f"Dr {line.account} {line.debit}" if line.debit else f"Cr {line.account} {line.credit}"
        for line in lines
    ]
    return f"{currency} " + " / ".join(parts)
