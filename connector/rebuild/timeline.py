"""Reading the live database's inputs into an ordered list of steps.

The inputs: the stored canonical events (``source_events``), pools granted directly, burns,
burn-rate versions, expiry runs (known by the entries they wrote), recognition runs (cutoff and
mode) and period closes. Nothing derived (allocations, revenue, entries) is read here, except the
one fact each derived row records about its input: when it took effect. A purchase takes
effect when its pools were created (a retried exception applies later than it arrived) and
under the mapping version they were created with; a refund or void when its money was recorded.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from connector.events import CanonicalEvent, Purchase, RefundFailed, SourceKey
from connector.ledger.models import BurnRequest
from connector.ledger.pools import grant_request_of, pool_from_row
from connector.rebuild.steps import (
    ApplyEvents,
    Burn,
    Close,
    Expire,
    Grant,
    Recognize,
    SetRate,
    Step,
    TakeBack,
    order,
)
from connector.recognition.failed_refunds import undo_reference
from connector.recognition.tables import (
    accounting_periods,
    recognition_control,
    recognition_money,
    recognition_runs,
)
from connector.store.tables import (
    burn_rates,
    burns,
    ledger_entries,
    manual_operations,
    mapping_versions,
    pools,
)
from connector.sync.exceptions import EVENT, OPEN
from connector.sync.tables import source_events, sync_exceptions

PoolKey = tuple[str, str, str, str]  # platform, object, line, part


@dataclass
class Timeline:
    steps: list[Step] = field(default_factory=list)
    timezone: str | None = None  # recognition's, when it has run
    expired_quietly: list[PoolKey] = field(default_factory=list)  # expired with nothing left
    skipped: int = 0  # purchases the live database holds as open exceptions


def _line(platform: str, object_id: str, line: str) -> str:
    return str(SourceKey(platform=platform, object_id=object_id, line_id=line))


@dataclass(frozen=True)
class _LivePurchase:
    created_at: datetime
    mapping_version: str | None


def _pools_by_line(conn: Connection) -> dict[str, _LivePurchase]:
    p = pools.c
    rows = conn.execute(
        select(
            p.source_platform,
            p.source_object,
            p.source_line,
            func.min(p.created_at),
            func.max(p.mapping_version),
        ).group_by(p.source_platform, p.source_object, p.source_line)
    )
    return {
        _line(platform, object_id, line): _LivePurchase(created_at, version)
        for platform, object_id, line, created_at, version in rows
    }


class _Versions:
    """The mapping version in force at a moment, for purchases that left no pool to say so."""

    def __init__(self, conn: Connection) -> None:
        rows = conn.execute(
            select(mapping_versions.c.loaded_at, mapping_versions.c.version).order_by(
                mapping_versions.c.loaded_at, mapping_versions.c.version
            )
        ).all()
        self.moments = [row[0] for row in rows]
        self.versions = [row[1] for row in rows]

    def at(self, moment: datetime) -> str | None:
        index = bisect.bisect_right(self.moments, moment)
        return self.versions[index - 1] if index else None


def _event_steps(conn: Connection, timeline: Timeline) -> None:
    live = _pools_by_line(conn)
    money_at = dict(
        conn.execute(
            select(
                recognition_money.c.reference, func.min(recognition_money.c.recorded_at)
            ).group_by(recognition_money.c.reference)
        ).all()
    )
    open_exceptions = set(
        conn.execute(
            select(
                sync_exceptions.c.connection,
                sync_exceptions.c.source_key,
                sync_exceptions.c.event_kind,
            ).where(sync_exceptions.c.status == OPEN)
        ).all()
    )
    versions = _Versions(conn)
    groups: dict[tuple[datetime, str, str | None], list[CanonicalEvent]] = defaultdict(list)
    first_seq: dict[tuple[datetime, str, str | None], int] = {}
    rows = conn.execute(select(source_events).order_by(source_events.c.id)).mappings()
    for row in rows:
        event: CanonicalEvent = EVENT.validate_python(row["payload"])
        at: datetime = row["applied_at"]
        version: str | None = None
        if isinstance(event, Purchase):
            found = live.get(row["source_key"])
            if found is not None:
                at, version = found.created_at, found.mapping_version
            elif (row["connection"], row["source_key"], row["event_kind"]) in open_exceptions:
                timeline.skipped += 1
                continue
            else:
                version = versions.at(at)
        else:
            at = money_at.get(_money_reference(event), at)
        key = (at, row["connection"], version)
        groups[key].append(event)
        first_seq.setdefault(key, row["id"])
    for key, events in groups.items():
        at, connection, version = key
        timeline.steps.append(ApplyEvents(at, first_seq[key], connection, tuple(events), version))
    timeline.steps.extend(_direct_grants(conn, set(_purchase_lines(conn))))


def _money_reference(event: CanonicalEvent) -> str:
    """The reference its money events carry: a failed refund's is its refund's undoing."""
    return undo_reference(event.refund) if isinstance(event, RefundFailed) else str(event.source)


def _purchase_lines(conn: Connection) -> list[str]:
    return list(
        conn.execute(
            select(source_events.c.source_key).where(source_events.c.event_kind == "purchase")
        ).scalars()
    )


def _direct_grants(conn: Connection, purchase_lines: set[str]) -> list[Grant]:
    """Pools granted without a billing event (the ledger API, promotions): replayed as is."""
    out = []
    for row in conn.execute(select(pools).order_by(pools.c.id)).mappings():
        pool = pool_from_row(row)
        if str(pool.source) not in purchase_lines:
            out.append(Grant(pool.created_at, pool.id, grant_request_of(pool)))
    return out


def _ledger_steps(conn: Connection, timeline: Timeline) -> None:
    for rate in conn.execute(select(burn_rates).order_by(burn_rates.c.id)).mappings():
        timeline.steps.append(
            SetRate(
                rate["created_at"],
                rate["id"],
                rate["action"],
                rate["credits_per_unit"],
                rate["effective_from"],
                rate["note"],
                rate["version"],
            )
        )
    b = burns.c
    for row in conn.execute(
        select(
            b.id, b.account_id, b.idempotency_key, b.action, b.units, b.occurred_at, b.recorded_at
        ).order_by(b.recorded_at, b.id)
    ):
        request = BurnRequest(
            account_id=row.account_id,
            idempotency_key=row.idempotency_key,
            action=row.action,
            units=row.units,
            occurred_at=row.occurred_at,
        )
        timeline.steps.append(Burn(row.recorded_at, row.id, request))
    le = ledger_entries.c
    for recorded_at, until, first_id in conn.execute(
        select(le.recorded_at, func.max(le.occurred_at), func.min(le.id))
        .where(le.kind == "expire")
        .group_by(le.recorded_at)
    ):
        timeline.steps.append(Expire(recorded_at, first_id, until))
    expired_with_entry = select(le.pool_id).where(le.kind == "expire")
    timeline.expired_quietly = [
        (row[0], row[1], row[2], row[3])
        for row in conn.execute(
            select(
                pools.c.source_platform,
                pools.c.source_object,
                pools.c.source_line,
                pools.c.source_part,
            ).where(pools.c.status == "expired", pools.c.id.not_in(expired_with_entry))
        )
    ]


def _manual_steps(conn: Connection, timeline: Timeline) -> None:
    """Manual voids and adjustments (manual grants are direct grants)."""
    mo, p = manual_operations.c, pools.c
    rows = conn.execute(
        select(
            mo.id,
            mo.operation,
            mo.credits,
            mo.idempotency_key,
            mo.actor,
            mo.reason,
            mo.occurred_at,
            mo.recorded_at,
            p.source_platform,
            p.source_object,
            p.source_line,
            p.source_part,
        )
        .join(pools, p.id == mo.pool_id)
        .where(mo.operation != "grant")
        .order_by(mo.id)
    )
    for row in rows:
        timeline.steps.append(
            TakeBack(
                row.recorded_at,
                row.id,
                row.operation,
                (row.source_platform, row.source_object, row.source_line, row.source_part),
                -row.credits,
                row.idempotency_key,
                row.actor,
                row.reason,
                row.occurred_at,
            )
        )


def _recognition_steps(conn: Connection, timeline: Timeline) -> None:
    timeline.timezone = conn.execute(select(recognition_control.c.timezone)).scalar()
    runs = []
    for row in conn.execute(select(recognition_runs).order_by(recognition_runs.c.id)).mappings():
        # at its start: a run reads the inputs recorded before it (watermarks taken then) and
        # commits in chunks, so inputs recorded while it ran belong after it
        run = Recognize(
            row["started_at"], row["id"], row["through"], row["mode"], row["started_at"]
        )
        runs.append(run)
        timeline.steps.append(run)
    for row in conn.execute(select(accounting_periods)).mappings():
        # A close needs recognition through the period's end; a close stamped earlier than the
        # run that covered it (a clock set by hand) goes right after that run.
        covering = next((r.at for r in runs if r.through >= row["ends_at"]), None)
        at = row["closed_at"] if covering is None else max(row["closed_at"], covering)
        timeline.steps.append(Close(at, 0, row["period"], row["timezone"], row["closed_at"]))


def build(conn: Connection) -> Timeline:
    """Every input of the live database as steps, in the order they took effect."""
    timeline = Timeline()
    _event_steps(conn, timeline)
    _ledger_steps(conn, timeline)
    _manual_steps(conn, timeline)
    _recognition_steps(conn, timeline)
    timeline.steps.sort(key=order)
    return timeline
