"""Applying canonical events to the ledger: the one path shared by sync runs, webhooks,
file imports and exception retries.

Purchases of a page are applied in bulk (a few statements for the whole page); refunds, credit
notes, disputes, voids and refund failures one by one. No single event can block a connection:
each applies in a savepoint, and one that cannot apply (an over-refund, a reference reused, a
purchase line with no pool, any refusal of the ledger) is rolled back alone and kept as an
exception with its reason, while the rest of the page and the cursor go on.

Order of arrival does not matter: an adjustment whose purchase has not applied yet waits as an
``orphan`` exception, and the purchase applies it in the same transaction as its own grant, so
credits already refunded are never spendable, not even for a moment. Every write is keyed by
the event's source key, so a page applied twice changes nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from connector.errors import CreditsyncError
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
from connector.ingest.plan import Granted, Held, Unmapped, plan_many
from connector.ledger import accounts, pools
from connector.ledger.models import Pool
from connector.recognition.line_refunds import apply_line_refund
from connector.recognition.refunds import apply_void
from connector.store.bulk import insert_rows
from connector.store.mapping_versions import record_version
from connector.sync import exceptions
from connector.sync.refund_failures import apply_failure, apply_waiting_failures
from connector.sync.tables import source_events
from connector.timeutil import utcnow
from mappings.model import MappingSet

Adjustment = Refund | Dispute | Void | RefundFailed | Unreadable


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


# refused: the ledger could not apply the event (kept with the ledger's reason)
EXCEPTION_OUTCOMES = frozenset({"unmapped", "held", "orphan", "invalid", "refused", "unreadable"})


def apply_events(
    conn: Connection, connection: str, events: Sequence[CanonicalEvent], mappings: MappingSet
) -> ApplyReport:
    """Apply ``events`` in the caller's transaction: purchases first (each with the orphans
    waiting for it), then the other events in order. Nothing here raises for one bad event."""
    report = ApplyReport()
    _remember(conn, connection, events)
    purchases = [e for e in events if isinstance(e, Purchase)]
    if purchases:
        waiting = _apply_purchases(conn, connection, purchases, mappings, report)
        in_batch: set[tuple[str, str]] = {(str(e.source), e.kind) for e in events}
        _apply_waiting(conn, waiting, in_batch, report)
    for event in events:
        if not isinstance(event, Purchase):
            report.counts[f"{event.kind}.{apply_one(conn, connection, event)}"] += 1
    return report


def apply_one(conn: Connection, connection: str, event: Adjustment) -> str:
    """Apply one adjustment in a savepoint; return its outcome word. One the ledger refuses
    is rolled back alone and kept as a ``refused`` exception with the ledger's reason."""
    try:
        with conn.begin_nested():
            return _apply_adjustment(conn, connection, event)
    except (CreditsyncError, IntegrityError) as exc:
        exceptions.record(conn, connection, event, "refused", _refusal(event, exc))
        return "refused"


def _refusal(event: CanonicalEvent, exc: CreditsyncError | IntegrityError) -> str:
    why = exc.message if isinstance(exc, CreditsyncError) else f"the store refused it ({exc.orig})"
    return f"{event.kind} {event.source} could not apply: {why}"


REMEMBERED = ("connection", "source_key", "event_kind", "occurred_at", "payload", "applied_at")


def _remember(conn: Connection, connection: str, events: Sequence[CanonicalEvent]) -> None:
    """Keep each event as first received (a replay of the same source key is not stored), in
    one statement, the payload serialized by pydantic straight to JSON text."""
    now = utcnow()
    insert_rows(
        conn,
        source_events,
        REMEMBERED,
        [
            (connection, str(e.source), e.kind, e.occurred_at, e.model_dump_json(), now)
            for e in events
        ],
        conflict=("source_key", "event_kind"),
    )


def _apply_purchases(
    conn: Connection,
    connection: str,
    purchases: Sequence[Purchase],
    mappings: MappingSet,
    report: ApplyReport,
) -> list[exceptions.ExceptionRecord]:
    """Grant the pools of every purchase that maps, resolve the exceptions of those that
    applied, and return the orphans that were waiting for them."""
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
    planned: list[tuple[Purchase, Granted]] = []
    plans = plan_many(
        [(p, account_of[(p.source.platform, p.customer.external_id)]) for p in purchases],
        mappings,
    )
    for purchase, plan in zip(purchases, plans, strict=True):
        if isinstance(plan, Granted):
            planned.append((purchase, plan))
        elif isinstance(plan, Unmapped):
            exceptions.record(conn, connection, purchase, "unmapped", plan.reason)
            report.counts["purchase.unmapped"] += 1
        elif isinstance(plan, Held):
            reason = f"{plan.field}: {plan.reason}"
            exceptions.record(conn, connection, purchase, "held", reason)
            report.counts["purchase.held"] += 1
    if not planned:
        return []
    record_version(conn, mappings)
    applied = _grant(conn, connection, planned, report)
    waiting = exceptions.settle(conn, connection, applied)
    granted = {id(purchase) for purchase in applied}
    for purchase, plan in planned:
        if plan.plan and id(purchase) in granted:
            accounts.set_plan(conn, plan.grants[0].account_id, plan.plan)
    return waiting


def _grant(
    conn: Connection,
    connection: str,
    planned: Sequence[tuple[Purchase, Granted]],
    report: ApplyReport,
) -> list[Purchase]:
    """All the grants in one bulk write; if the ledger refuses that, each purchase alone in a
    savepoint of its own, so one it refuses becomes an exception and holds up no other."""
    try:
        with conn.begin_nested():
            report.pools_created += pools.grant_many(
                conn, [g for _, plan in planned for g in plan.grants]
            )
        report.counts["purchase.granted"] += len(planned)
        return [purchase for purchase, _ in planned]
    except (CreditsyncError, IntegrityError):
        pass
    applied: list[Purchase] = []
    for purchase, plan in planned:
        try:
            with conn.begin_nested():
                report.pools_created += pools.grant_many(conn, plan.grants)
        except (CreditsyncError, IntegrityError) as exc:
            exceptions.record(conn, connection, purchase, "refused", _refusal(purchase, exc))
            report.counts["purchase.refused"] += 1
            continue
        applied.append(purchase)
        report.counts["purchase.granted"] += 1
    return applied


def _apply_waiting(
    conn: Connection,
    orphans: Sequence[exceptions.ExceptionRecord],
    in_batch: set[tuple[str, str]],
    report: ApplyReport,
) -> None:
    """Apply the orphans that were waiting for the purchases just applied, oldest occurrence
    first, in the purchases' own transaction (the batch's own adjustments follow in the
    caller)."""
    for waiting in orphans:
        event = waiting.event()
        if isinstance(event, Purchase) or (str(event.source), event.kind) in in_batch:
            continue
        report.counts[f"{event.kind}.{apply_one(conn, waiting.connection, event)}"] += 1


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


def _apply_adjustment(conn: Connection, connection: str, event: Adjustment) -> str:
    """Apply one refund, credit note, dispute, void or refund failure (or keep what could not
    be read); return its outcome word."""
    if isinstance(event, Unreadable):
        return _record_unreadable(conn, connection, event)
    if isinstance(event, RefundFailed):
        return apply_failure(conn, connection, event)
    if isinstance(event, Dispute) and event.outcome is not DisputeOutcome.LOST:
        return "ignored"  # an open or won dispute moves no credits and no money
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
            "(unmapped, held or not synced yet); it applies together with the purchase",
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
