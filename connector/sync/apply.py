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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

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
from connector.ingest.plan import Granted, GrantPlan, Held, Unmapped, plan_many
from connector.ledger import accounts, pools
from connector.ledger.models import Pool
from connector.recognition.line_refunds import apply_line_refund
from connector.recognition.refunds import apply_void
from connector.store.batch import Batch, Sent
from connector.store.bulk import rows_json, send_rows
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
    waiting for it), then the other events in order. Nothing here raises for one bad event.

    On PostgreSQL a page of purchases takes two round trips besides its transaction's BEGIN and
    COMMIT (see ``store.batch``): the links of its customers, read while the events to keep are
    serialized; then the events kept, the grants (planned and sent ``GRANTS_AT_ONCE`` purchases
    at a time, while the server writes what went before) and the query for the exceptions they
    settle."""
    report = ApplyReport()
    purchases = [e for e in events if isinstance(e, Purchase)]
    if not purchases:
        _remember(Batch(conn, together=False), _remembered(connection, events))
    else:
        customers = _customers(purchases)
        with Batch(conn) as batch:
            links = {p: accounts.find_links(batch, p, found) for p, found in customers.items()}
            remembered = _remembered(connection, events, batch.dialect)
        account_of = _accounts(conn, customers, {p: dict(s.rows()) for p, s in links.items()})
        waiting = _apply_purchases(
            conn, connection, purchases, mappings, report, account_of, remembered
        )
        in_batch: set[tuple[str, str]] = {(str(e.source), e.kind) for e in events}
        _apply_waiting(conn, waiting, in_batch, report)
    for event in events:
        if not isinstance(event, Purchase):
            report.counts[f"{event.kind}.{apply_one(conn, connection, event)}"] += 1
    return report


Customers = dict[str, dict[str, tuple[str | None, str | None]]]  # platform: id: (name, email)


def _customers(purchases: Sequence[Purchase]) -> Customers:
    by_platform: Customers = {}
    for p in purchases:
        by_platform.setdefault(p.source.platform, {})[p.customer.external_id] = (
            p.customer.name,
            p.customer.email,
        )
    return by_platform


def _accounts(
    conn: Connection, customers: Customers, linked: dict[str, dict[str, str]] | None = None
) -> dict[tuple[str, str], str]:
    """The account of each (platform, customer), linked now if need be."""
    return {
        (platform, external): account
        for platform, found in customers.items()
        for external, account in accounts.link_many(
            conn, platform, found, None if linked is None else linked[platform]
        ).items()
    }


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
REMEMBERED_KEY = ("source_key", "event_kind")  # a replay of the same key is not stored again


@dataclass(frozen=True)
class Remembered:
    """The events of a page as rows of ``source_events``, ready to send (``_remember``)."""

    rows: list[tuple[Any, ...]]
    encoded: str | None = None  # their JSON on PostgreSQL (see store.bulk), written already


def _remembered(
    connection: str, events: Sequence[CanonicalEvent], dialect: str | None = None
) -> Remembered:
    """Each event as first received, to keep (``_remember``), the payload serialized by
    pydantic straight to JSON text (and the rows as PostgreSQL is sent them, for ``dialect``
    postgresql)."""
    now = utcnow()
    rows = [
        (connection, str(e.source), e.kind, e.occurred_at, e.model_dump_json(), now) for e in events
    ]
    if dialect != "postgresql" or not rows:
        return Remembered(rows)
    return Remembered(rows, rows_json(source_events, REMEMBERED, rows))


def _remember(batch: Batch, remembered: Remembered) -> Sent:
    """Keep the events in one statement; a replay of the same source key is not stored."""
    return send_rows(
        batch,
        source_events,
        REMEMBERED,
        remembered.rows,
        conflict=REMEMBERED_KEY,
        encoded=remembered.encoded,
    )


def _apply_purchases(
    conn: Connection,
    connection: str,
    purchases: Sequence[Purchase],
    mappings: MappingSet,
    report: ApplyReport,
    account_of: dict[tuple[str, str], str] | None = None,
    remembered: Remembered | None = None,
) -> list[exceptions.ExceptionRecord]:
    """Grant the pools of every purchase that maps, resolve the exceptions of those that
    applied, and return the orphans that were waiting for them (``account_of``: the purchases'
    accounts, when the caller linked them already; ``remembered``: the events to keep, sent
    ahead of the grants)."""
    if account_of is None:
        account_of = _accounts(conn, _customers(purchases))
    page = _Page(connection)
    planned: list[tuple[Purchase, GrantPlan]] = []
    with page.sending(conn, remembered) as batch:  # no statement but the batch's in here
        at_once = GRANTS_AT_ONCE if batch.pipelined else len(purchases)
        for start in range(0, len(purchases), at_once):
            part = purchases[start : start + at_once]
            plans = plan_many(
                [(p, account_of[(p.source.platform, p.customer.external_id)]) for p in part],
                mappings,
            )
            part_planned = list(zip(part, plans, strict=True))
            planned += part_planned
            page.send_grants(
                batch, [(p, plan) for p, plan in part_planned if isinstance(plan, Granted)]
            )
        page.close(batch)
    recorded: set[str] = set()
    for purchase, plan in planned:
        if isinstance(plan, Unmapped):
            exceptions.record(conn, connection, purchase, "unmapped", plan.reason)
            report.counts["purchase.unmapped"] += 1
        elif isinstance(plan, Held):
            reason = f"{plan.field}: {plan.reason}"
            exceptions.record(conn, connection, purchase, "held", reason)
            report.counts["purchase.held"] += 1
        else:
            continue
        recorded.add(str(purchase.source))
    if not page.granted:
        return []
    record_version(conn, mappings)
    applied, settling = page.applied(conn, report)
    if settling is not None and recorded & {str(p.source) for p in applied}:
        settling = None  # a key both granted and kept as an exception here: settle reads again
    waiting = exceptions.settle(conn, connection, applied, settling)
    granted = {id(purchase) for purchase in applied}
    for purchase, plan in page.granted:
        if plan.plan and id(purchase) in granted:
            accounts.set_plan(conn, plan.grants[0].account_id, plan.plan)
    return waiting


GRANTS = "creditsync_grants"  # the savepoint of a page's grants
# Purchases planned and sent at a time in a pipeline: the server writes the first ones while the
# next are planned (measured on PostgreSQL: a page of 100 in two parts took 5 to 10 % less time)
GRANTS_AT_ONCE = 50

# PostgreSQL checks each foreign key of a row written with a query it plans once a session; the
# engine's plan_cache_mode=force_custom_plan (see store.engine) would plan it again for each of
# the page's 200 rows (measured: 6.3 ms of server time for the grants of a page, against 3.7).
# For the grant statements alone, whose own plan cannot go wrong, PostgreSQL may keep plans.
_CHECKS_PLANNED_ONCE = "SET LOCAL plan_cache_mode = auto"
_PLANS_AS_BEFORE = "SET LOCAL plan_cache_mode TO DEFAULT"


class _Page:
    """The writes of a page of purchases sent in one batch: the events kept, then the grants
    in bulk writes (one, or one for each ``GRANTS_AT_ONCE`` purchases in a pipeline) in one
    savepoint, and the query for the exceptions they settle (``exceptions.find_settling``). If
    the ledger refuses a bulk write (or a request is invalid), all of them are rolled back and
    each purchase goes alone in a savepoint of its own instead (``applied``), so one it refuses
    becomes an exception and holds up no other."""

    def __init__(self, connection: str) -> None:
        self.connection = connection
        self.granted: list[tuple[Purchase, Granted]] = []
        self.remembered: Sent | None = None
        self.granting = False  # the bulk write is being sent
        self.created: list[Sent] = []  # the bulk writes sent
        self.settling: Sent | None = None
        self.refused = False  # the bulk write was refused and rolled back

    @contextmanager
    def sending(self, conn: Connection, remembered: Remembered | None) -> Iterator[Batch]:
        """A batch for the page's writes: the events to keep sent first (the server writes
        them while the page is planned), then the savepoint of the grants opened (so that they
        go out the moment they are ready). A refused bulk write is rolled back."""
        try:
            with Batch(conn) as batch:
                if remembered is not None and remembered.rows:
                    self.remembered = _remember(batch, remembered)
                batch.execute(f"SAVEPOINT {GRANTS}")
                if batch.dialect == "postgresql":
                    batch.execute(_CHECKS_PLANNED_ONCE)
                yield batch
        except IntegrityError:
            kept = self.remembered is None or self.remembered.ok
            if not self.granting or not kept:
                raise  # not the grants'
            conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {GRANTS}")
            conn.exec_driver_sql(f"RELEASE SAVEPOINT {GRANTS}")
            self.refused = True

    def send_grants(self, batch: Batch, granted: list[tuple[Purchase, Granted]]) -> None:
        """The grants of some of the page's purchases, in one statement; once a request is
        invalid, the grants sent before are rolled back and the rest are not sent."""
        self.granted += granted
        if not granted or self.refused:
            return
        try:
            grants = pools.Grants.of([g for _, plan in granted for g in plan.grants])
        except CreditsyncError:
            self.refused = True
            if self.created:
                batch.execute(f"ROLLBACK TO SAVEPOINT {GRANTS}")
            return
        self.granting = True  # from here on, an integrity error is the grants'
        self.created.append(pools.send_grants(batch, grants))

    def close(self, batch: Batch) -> None:
        """The savepoint closed, then the query for the exceptions the grants settle."""
        if batch.dialect == "postgresql":
            batch.execute(_PLANS_AS_BEFORE)
        batch.execute(f"RELEASE SAVEPOINT {GRANTS}")
        if self.created and not self.refused:
            purchases = [p for p, _ in self.granted]
            self.settling = exceptions.find_settling(batch, self.connection, purchases)

    def applied(
        self, conn: Connection, report: ApplyReport
    ) -> tuple[list[Purchase], list[int] | None]:
        """The purchases applied and the ids of the exceptions they settle (None: not read)."""
        if self.refused:
            return _grant_one_by_one(conn, self.connection, self.granted, report), None
        assert self.settling is not None
        report.pools_created += sum(len(created.rows()) for created in self.created)
        report.counts["purchase.granted"] += len(self.granted)
        return [p for p, _ in self.granted], [found for (found,) in self.settling.rows()]


def _grant_one_by_one(
    conn: Connection,
    connection: str,
    planned: Sequence[tuple[Purchase, Granted]],
    report: ApplyReport,
) -> list[Purchase]:
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
