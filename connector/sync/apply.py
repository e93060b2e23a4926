"""Applying canonical events to the ledger: the one path shared by sync runs, webhooks,
file imports and exception retries.

Purchases of a page are applied in bulk (a few statements for the whole page); refunds,
disputes and voids one by one, each in a savepoint so that one that cannot apply becomes an
exception without spoiling the rest. Every write is keyed by the event's source key, so a page
applied twice changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection

from connector.events import (
    CanonicalEvent,
    Dispute,
    DisputeOutcome,
    Purchase,
    Refund,
    RefundFailed,
    Unreadable,
    Void,
)
from connector.ingest.plan import Granted, Held, Unmapped, plan_grants
from connector.ledger import accounts, pools
from connector.ledger.models import GrantRequest, Pool
from connector.recognition.line_refunds import apply_line_refund
from connector.recognition.refunds import apply_void
from connector.store.mapping_versions import record_version
from connector.store.sql import insert_ignoring_duplicates
from connector.sync import exceptions
from connector.sync.refund_failures import apply_failure, apply_waiting_failures
from connector.sync.tables import source_events
from connector.timeutil import utcnow
from mappings.model import MappingSet


@dataclass
class ApplyReport:
    """What a batch of events did, counted as ``kind.outcome`` (``purchase.granted``...)."""

    counts: Counter[str] = field(default_factory=Counter)
    pools_created: int = 0

    def add(self, other: ApplyReport) -> None:
        self.counts.update(other.counts)
        self.pools_created += other.pools_created

    @property
    def exceptions(self) -> int:
        return sum(n for key, n in self.counts.items() if key.split(".")[1] in EXCEPTION_OUTCOMES)


EXCEPTION_OUTCOMES = frozenset({"unmapped", "held", "orphan", "invalid", "unreadable"})


def apply_events(
    conn: Connection, connection: str, events: Sequence[CanonicalEvent], mappings: MappingSet
) -> ApplyReport:
    """Apply ``events`` in the caller's transaction (purchases first, then the rest in order)."""
    report = ApplyReport()
    _remember(conn, connection, events)
    purchases = [e for e in events if isinstance(e, Purchase)]
    if purchases:
        _apply_purchases(conn, connection, purchases, mappings, report)
    for event in events:
        if not isinstance(event, Purchase):
            with conn.begin_nested():
                outcome = _apply_adjustment(conn, connection, event)
            report.counts[f"{event.kind}.{outcome}"] += 1
    return report


def _remember(conn: Connection, connection: str, events: Sequence[CanonicalEvent]) -> None:
    """Keep each event as first received (a replay of the same source key is not stored)."""
    if not events:
        return
    now = utcnow()
    conn.execute(
        insert_ignoring_duplicates(conn, source_events, ["source_key", "event_kind"]),
        [
            {
                "connection": connection,
                "source_key": str(e.source),
                "event_kind": e.kind,
                "occurred_at": e.occurred_at,
                "payload": e.model_dump(mode="json"),
                "applied_at": now,
            }
            for e in events
        ],
    )


def _apply_purchases(
    conn: Connection,
    connection: str,
    purchases: Sequence[Purchase],
    mappings: MappingSet,
    report: ApplyReport,
) -> None:
    by_platform: dict[str, dict[str, tuple[str | None, str | None]]] = {}
    for p in purchases:
        by_platform.setdefault(p.source.platform, {})[p.customer.external_id] = (
            p.customer.name,
            p.customer.email,
        )
    account_of = {
        (platform, external): account
        for platform, customers in by_platform.items()
        for external, account in accounts.link_many(conn, platform, customers).items()
    }
    grants: list[GrantRequest] = []
    applied: list[Purchase] = []
    plans: dict[str, str] = {}
    for purchase in purchases:
        account_id = account_of[(purchase.source.platform, purchase.customer.external_id)]
        plan = plan_grants(purchase, mappings, account_id)
        if isinstance(plan, Granted):
            grants.extend(plan.grants)
            applied.append(purchase)
            if plan.plan:
                plans[account_id] = plan.plan
            report.counts["purchase.granted"] += 1
        elif isinstance(plan, Unmapped):
            exceptions.record(conn, connection, purchase, "unmapped", plan.reason)
            report.counts["purchase.unmapped"] += 1
        elif isinstance(plan, Held):
            reason = f"{plan.field}: {plan.reason}"
            exceptions.record(conn, connection, purchase, "held", reason)
            report.counts["purchase.held"] += 1
    if grants:
        record_version(conn, mappings)
        report.pools_created += pools.grant_many(conn, grants)
        exceptions.resolve(conn, connection, applied)
    for account_id, plan_name in plans.items():
        accounts.set_plan(conn, account_id, plan_name)


def _target_pools(conn: Connection, event: Refund | Dispute | Void) -> list[Pool]:
    found = pools.pools_for_object(conn, event.source.platform, event.target_object)
    line = getattr(event, "target_line", None)
    if line:
        found = [p for p in found if p.source.line_id == line]
    return found


def _record_unreadable(conn: Connection, connection: str, event: Unreadable) -> str:
    """What an adapter could not read applies nothing and stays an open exception."""
    exceptions.record(conn, connection, event, "unreadable", event.reason)
    return "unreadable"


def _apply_adjustment(conn: Connection, connection: str, event: CanonicalEvent) -> str:
    """Apply one refund, credit note, dispute or void; return its outcome word."""
    if isinstance(event, Unreadable):
        return _record_unreadable(conn, connection, event)
    if isinstance(event, Dispute) and event.outcome is not DisputeOutcome.LOST:
        return "ignored"  # an open or won dispute moves no credits and no money
    if isinstance(event, RefundFailed):
        return apply_failure(conn, connection, event)
    assert isinstance(event, Refund | Dispute | Void)
    targets = _target_pools(conn, event)
    if not targets:
        what = f"{event.target_object}" + (
            f" line {event.target_line}" if isinstance(event, Refund) and event.target_line else ""
        )
        exceptions.record(
            conn,
            connection,
            event,
            "orphan",
            f"{event.kind} for {event.source.platform} purchase {what}, which was never applied "
            "(unmapped, held or not synced yet); it is retried when the purchase applies",
        )
        return "orphan"
    mismatched = [p.id for p in targets if p.currency != event.currency]
    if mismatched:
        exceptions.record(
            conn,
            connection,
            event,
            "invalid",
            f"{event.kind} in {event.currency} against pools {mismatched} in "
            f"{targets[0].currency}; the currencies must match",
        )
        return "invalid"
    reference = str(event.source)
    if isinstance(event, Void):
        for pool in targets:
            apply_void(conn, pool.id, reference, event.occurred_at)
    else:
        apply_line_refund(conn, targets, event.amount, reference, event.occurred_at)
        apply_waiting_failures(conn, event.source)
    exceptions.resolve(conn, connection, [event])
    return "applied"
