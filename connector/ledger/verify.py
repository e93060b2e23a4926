"""The ledger's own audit: every pool's counters must follow from its append-only entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, case, func, select

from connector.ledger.models import EntryKind
from connector.store.tables import burns, ledger_entries, pools


@dataclass(frozen=True)
class Violation:
    subject: str  # "pool 12" or "burn 40"
    problem: str


def _taken(kind: EntryKind) -> Any:
    return func.coalesce(
        func.sum(case((ledger_entries.c.kind == kind.value, -ledger_entries.c.credits), else_=0)),
        0,
    )


def verify(conn: Connection) -> list[Violation]:
    """Check granted = remaining + burned + expired + clawed back (+ voided, adjusted) per pool,
    that the grant entry matches the pool, and that each burn's allocations add up."""
    totals = (
        select(
            ledger_entries.c.pool_id,
            func.sum(
                case(
                    (ledger_entries.c.kind == EntryKind.GRANT.value, ledger_entries.c.credits),
                    else_=0,
                )
            ).label("granted"),
            _taken(EntryKind.BURN).label("burned"),
            _taken(EntryKind.EXPIRE).label("expired"),
            _taken(EntryKind.CLAWBACK).label("clawed"),
            _taken(EntryKind.VOID).label("voided"),
            _taken(EntryKind.ADJUST).label("adjusted"),
        )
        .group_by(ledger_entries.c.pool_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            pools.c.id,
            pools.c.credits_granted,
            pools.c.credits_remaining,
            totals.c.granted,
            totals.c.burned,
            totals.c.expired,
            totals.c.clawed,
            totals.c.voided,
            totals.c.adjusted,
        ).outerjoin(totals, totals.c.pool_id == pools.c.id)
    ).all()
    violations = []
    for r in rows:
        granted = r.granted or 0
        taken = sum(int(x or 0) for x in (r.burned, r.expired, r.clawed, r.voided, r.adjusted))
        if granted != r.credits_granted:
            violations.append(
                Violation(f"pool {r.id}", f"grant entries {granted} != granted {r.credits_granted}")
            )
        if r.credits_granted != r.credits_remaining + taken:
            violations.append(
                Violation(
                    f"pool {r.id}",
                    f"granted {r.credits_granted} != remaining {r.credits_remaining} + burned "
                    f"{r.burned or 0} + expired {r.expired or 0} + clawed back {r.clawed or 0} "
                    f"+ voided {r.voided or 0} + adjusted {r.adjusted or 0}",
                )
            )
    allocated = (
        select(ledger_entries.c.burn_id, func.sum(-ledger_entries.c.credits).label("allocated"))
        .where(ledger_entries.c.kind == EntryKind.BURN.value)
        .group_by(ledger_entries.c.burn_id)
        .subquery()
    )
    for b in conn.execute(
        select(
            burns.c.id, burns.c.credits, burns.c.overage_credits, allocated.c.allocated
        ).outerjoin(allocated, allocated.c.burn_id == burns.c.id)
    ).all():
        if (b.allocated or 0) + b.overage_credits != b.credits:
            violations.append(
                Violation(
                    f"burn {b.id}",
                    f"allocations {b.allocated or 0} + overage {b.overage_credits} != {b.credits}",
                )
            )
    return violations
