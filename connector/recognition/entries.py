"""Journal entries from per-pool deltas (pure): grouping, GL lines, deterministic ids.

| kind        | figures            | lines (a positive delta; a negative one posts the mirror)   |
| deferral    | billed             | Dr clearing / Cr deferred revenue                           |
| recognition | revenue            | Dr deferred revenue / Cr revenue                            |
| breakage    | breakage           | Dr deferred revenue / Cr breakage revenue                   |
| refund      | refunded, contra   | Dr deferred revenue + Dr refunds (contra) / Cr clearing     |

Summarized mode groups every pool of a (period, late, kind, currency, entity, account set) into
one entry; detailed mode makes one entry per pool. The id hashes that group key; a later delta
for the same key gets the next sequence number, so ids never collide and re-running a
recognition over unchanged data yields no delta and therefore no entry.

Each entry names the legal entity of its pools and the dimensions the GL rule books them under
(for every line, and per account); dimensions enter the id only when a rule sets them, so the
ids of entries made before dimensions existed do not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from connector.errors import InvalidInput
from connector.journal import EntryKind, JournalEntry, JournalLine
from connector.recognition.state import Figures
from connector.text import counted
from mappings.gl import GLAccounts


class Mode(StrEnum):
    SUMMARIZED = "summarized"
    DETAILED = "detailed"


KIND_FIGURES: dict[EntryKind, tuple[str, ...]] = {
    EntryKind.DEFERRAL: ("billed",),
    EntryKind.RECOGNITION: ("revenue",),
    EntryKind.BREAKAGE: ("breakage",),
    EntryKind.REFUND: ("refunded", "contra"),
}


@dataclass(frozen=True, slots=True)
class PoolDelta:
    """What one pool adds to one period, with what the entry needs to know about the pool."""

    pool_id: int
    period: str
    late: bool
    figures: Figures
    currency: str
    entity: str | None
    accounts: GLAccounts
    source_key: str
    cohort: str  # the period the pool was bought in, for the waterfall


def account_key(accounts: GLAccounts) -> list[object]:
    """What of the accounts makes entries distinct: the codes, and dimensions when set."""
    key: list[object] = list(accounts.codes().values())
    if accounts.dimensions or accounts.line_dimensions:
        key.append(accounts.model_dump(mode="json", include={"dimensions", "line_dimensions"}))
    return key


def signed_amounts(
    kind: EntryKind, figures: dict[str, int], gl: GLAccounts
) -> list[tuple[str, int]]:
    """(account, amount) with debits positive and credits negative; they sum to zero."""
    if kind is EntryKind.DEFERRAL:
        billed = figures["billed"]
        return [(gl.clearing, billed), (gl.deferred_revenue, -billed)]
    if kind is EntryKind.RECOGNITION:
        revenue = figures["revenue"]
        return [(gl.deferred_revenue, revenue), (gl.revenue, -revenue)]
    if kind is EntryKind.BREAKAGE:
        breakage = figures["breakage"]
        return [(gl.deferred_revenue, breakage), (gl.breakage_revenue, -breakage)]
    refunded, contra = figures["refunded"], figures["contra"]
    return [
        (gl.deferred_revenue, refunded),
        (gl.refunds, contra),
        (gl.clearing, -(refunded + contra)),
    ]


def lines(kind: EntryKind, figures: dict[str, int], gl: GLAccounts) -> tuple[JournalLine, ...]:
    merged: dict[str, int] = {}
    for account, amount in signed_amounts(kind, figures, gl):
        merged[account] = merged.get(account, 0) + amount
    out = tuple(
        JournalLine(account=account, debit=amount, dimensions=gl.dimensions_of(account))
        if amount > 0
        else JournalLine(account=account, credit=-amount, dimensions=gl.dimensions_of(account))
        for account, amount in merged.items()
        if amount != 0
    )
    if len(out) == 1:  # pragma: no cover - a one-line entry cannot balance; kept as a guard
        raise AssertionError("an entry cannot have one line")
    return out


@dataclass
class Draft:
    """An entry before it has its sequence number."""

    base_key: str
    kind: EntryKind
    period: str
    late: bool
    currency: str
    entity: str | None
    accounts: GLAccounts
    scope: str  # "pool:<id>" or "summary"
    figures: dict[str, int] = field(default_factory=dict)
    members: list[tuple[int, str, int]] = field(default_factory=list)  # (pool, figure, amount)
    source_keys: list[str] = field(default_factory=list)

    @property
    def pool_ids(self) -> tuple[int, ...]:
        return tuple(sorted({pool for pool, _f, _a in self.members}))

    def entry_id(self, seq: int) -> str:
        return f"je-{self.base_key[:24]}-{seq}"

    def is_empty(self) -> bool:
        return not any(self.figures.values())

    def entry(self, seq: int, entry_date: date) -> JournalEntry:
        gl_lines = lines(self.kind, self.figures, self.accounts)
        if len(gl_lines) < 2:
            raise InvalidInput(
                "gl_accounts",
                f"{self.kind} entries for {self.currency} post to a single account",
                "give deferred revenue, revenue, breakage, refunds and clearing distinct codes",
            )
        pools = self.pool_ids
        what = f"pool {pools[0]}" if self.scope != "summary" else counted(len(pools), "pool")
        memo = f"creditsync {self.kind} {self.period} {self.currency} ({what})"
        if self.late:
            memo += "; late: from periods closed before it was known"
        detailed = self.scope != "summary"
        return JournalEntry(
            id=self.entry_id(seq),
            kind=self.kind,
            period=self.period,
            entry_date=entry_date,
            currency=self.currency,
            lines=gl_lines,
            memo=memo,
            entity=self.entity,
            dimensions=self.accounts.dimensions,
            late=self.late,
            pool_ids=pools if detailed else (),
            source_keys=tuple(sorted(set(self.source_keys))) if detailed else (),
        )


def base_key(
    kind: EntryKind,
    period: str,
    late: bool,
    currency: str,
    entity: str | None,
    accounts: GLAccounts,
    scope: str,
) -> str:
    text = json.dumps(
        [kind.value, period, late, currency, entity, account_key(accounts), scope],
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


def drafts(deltas: Iterable[PoolDelta], mode: Mode) -> list[Draft]:
    """Group pool deltas into entry drafts, in a deterministic order. A summarized draft whose
    pools cancel out (``is_empty``) makes no entry, but its members are still recorded as posted."""
    groups: dict[tuple[object, ...], Draft] = {}
    for delta in deltas:
        values = delta.figures._asdict()
        scope = f"pool:{delta.pool_id}" if mode is Mode.DETAILED else "summary"
        for kind, names in KIND_FIGURES.items():
            if not any(values[name] for name in names):
                continue
            group = (
                kind,
                delta.period,
                delta.late,
                delta.currency,
                delta.entity,
                delta.accounts,
                scope,
            )
            draft = groups.get(group)
            if draft is None:
                draft = groups[group] = Draft(
                    base_key=base_key(*group),
                    kind=kind,
                    period=delta.period,
                    late=delta.late,
                    currency=delta.currency,
                    entity=delta.entity,
                    accounts=delta.accounts,
                    scope=scope,
                    figures={name: 0 for name in names},
                )
            for name in names:
                amount = values[name]
                if amount:
                    draft.figures[name] += amount
                    draft.members.append((delta.pool_id, name, amount))
            draft.source_keys.append(delta.source_key)
    kinds = list(KIND_FIGURES)
    return sorted(
        groups.values(),
        key=lambda d: (d.period, not d.late, d.currency, kinds.index(d.kind), d.scope, d.base_key),
    )
