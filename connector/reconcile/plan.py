"""The repair plan for a sink's differences (pure): what to post, never what to delete.

- missing: post the entry as produced (the sink's idempotency on the entry id makes a repeat
  harmless);
- duplicate, unknown: reverse the extra posting;
- amount or account differs: reverse the posting as the sink holds it and re-post the right
  version under a derived id;
- wrong period: reverse the posting; re-post the right version in its own period unless the
  sink already holds it there.

Every new entry has a deterministic id derived from the sink and what it repairs, so a repair
carried out twice posts each entry once. Corrections go in the period reconciled when it is
open, else in the first open period: a closed period never receives new entries.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from pydantic import ValidationError

from connector.journal import EntryKind, JournalEntry, JournalLine, PostedEntry
from connector.reconcile.model import Difference, DifferenceKind

ID_HEX = 32


class Action(StrEnum):
    POST = "post"  # post creditsync's entry as produced
    REVERSE = "reverse"  # a reversing entry for one posting
    REPOST = "repost"  # the right version of an entry under a derived id
    LEAVE = "leave"  # nothing can be done automatically; a person decides


@dataclass(frozen=True)
class RepairAction:
    action: Action
    sink: str
    difference: Difference
    entry: JournalEntry | None  # what gets posted (None: LEAVE)
    note: str

    @property
    def original_entry_id(self) -> str | None:
        return self.difference.entry_id

    @property
    def original_sink_id(self) -> str | None:
        return self.difference.sink_id if self.action is Action.REVERSE else None


def _derived(prefix: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{prefix}-{digest[:ID_HEX]}"


def reversal_id(sink: str, entry_id: str | None, sink_id: str, period: str) -> str:
    """One reversal per posting (``period``: where it was read back), never two."""
    return _derived("rv", sink, entry_id or "", sink_id, period)


def repost_id(sink: str, entry_id: str) -> str:
    return _derived("rp", sink, entry_id)


def correction_period(period: str, first_open: str | None) -> str:
    """Where an entry for ``period`` may go: itself when open, else the first open period."""
    return first_open if first_open is not None and first_open > period else period


def booking_date(period: str, today: date) -> date:
    """Today when it falls in ``period``; else the period's last day (past) or first (future)."""
    year, month = (int(part) for part in period.split("-"))
    if (today.year, today.month) == (year, month):
        return today
    if (today.year, today.month) > (year, month):
        return date(year, month, calendar.monthrange(year, month)[1])
    return date(year, month, 1)


def mirror(posting: PostedEntry) -> tuple[JournalLine, ...]:
    return tuple(
        JournalLine(
            account=line.account,
            debit=line.credit,
            credit=line.debit,
            dimensions=line.dimensions,
        )
        for line in posting.lines
    )


def reversal(
    sink: str, difference: Difference, first_open: str | None, today: date
) -> JournalEntry:
    posting = difference.posting
    assert posting is not None
    period = correction_period(difference.period, first_open)
    what = difference.entry_id or "an entry without id"
    return JournalEntry(
        id=reversal_id(sink, difference.entry_id, posting.sink_id, difference.period),
        kind=EntryKind.REVERSAL,
        period=period,
        entry_date=booking_date(period, today),
        currency=posting.currency,
        lines=mirror(posting),
        entity=posting.entity,  # a reversal books in the entity that holds the posting
        memo=(
            f"creditsync reconciliation: reverses {what} posted as {posting.sink_id} in "
            f"{difference.period} ({difference.kind})"
        ),
    )


def repost(sink: str, entry: JournalEntry, first_open: str | None, today: date) -> JournalEntry:
    period = correction_period(entry.period, first_open)
    return entry.model_copy(
        update={
            "id": repost_id(sink, entry.id),
            "period": period,
            "entry_date": entry.entry_date
            if period == entry.period
            else booking_date(period, today),
            "memo": f"{entry.memo}; re-posted by reconciliation for {entry.id} of "
            f"{entry.period}".lstrip("; "),
        }
    )


def _missing(
    sink: str,
    difference: Difference,
    entry: JournalEntry,
    first_open: str | None,
    today: date,
) -> RepairAction:
    """Post a missing entry as produced, or, when its period is closed, its copy in the first
    open period (a closed period never receives an entry)."""
    if correction_period(entry.period, first_open) == entry.period:
        return RepairAction(Action.POST, sink, difference, entry, "post as produced")
    moved = repost(sink, entry, first_open, today)
    return RepairAction(
        Action.REPOST, sink, difference, moved, f"{entry.period} is closed: post in {moved.period}"
    )


def plan(
    differences: Collection[Difference],
    *,
    first_open: str | None,
    today: date,
    held_in_own_period: Collection[str] = (),
    keep_unknown: bool = False,
) -> list[RepairAction]:
    """The actions that repair ``differences``.

    ``held_in_own_period``: ids of entries found in the wrong period that the sink also holds
    in their own period (those are only reversed). ``keep_unknown`` leaves postings that are not
    creditsync's for a person to review instead of reversing them.
    """
    actions: list[RepairAction] = []
    for difference in differences:
        sink = difference.sink
        kind = difference.kind
        if kind is DifferenceKind.MISSING:
            assert difference.expected is not None
            actions.append(_missing(sink, difference, difference.expected, first_open, today))
            continue
        if kind is DifferenceKind.UNKNOWN and keep_unknown:
            actions.append(
                RepairAction(Action.LEAVE, sink, difference, None, "not creditsync's: review it")
            )
            continue
        try:
            reverse = reversal(sink, difference, first_open, today)
        except ValidationError:
            actions.append(
                RepairAction(
                    Action.LEAVE,
                    sink,
                    difference,
                    None,
                    "the posting does not balance, so no entry can mirror it: review it",
                )
            )
            continue
        actions.append(
            RepairAction(Action.REVERSE, sink, difference, reverse, f"reverse {difference.sink_id}")
        )
        needs_repost = kind in (DifferenceKind.AMOUNT_DIFFERS, DifferenceKind.ACCOUNT_DIFFERS) or (
            kind is DifferenceKind.WRONG_PERIOD and difference.entry_id not in held_in_own_period
        )
        if needs_repost:
            assert difference.expected is not None
            entry = repost(sink, difference.expected, first_open, today)
            if any(a.entry is not None and a.entry.id == entry.id for a in actions):
                continue  # two wrong postings of one entry: one right version
            actions.append(
                RepairAction(
                    Action.REPOST,
                    sink,
                    difference,
                    entry,
                    f"right version of {difference.entry_id}",
                )
            )
    return actions
