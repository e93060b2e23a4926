"""Reading and settling policy records.

A settle is guarded on the record still being pending and runs in a short transaction of the
caller's after the platform call, so a crash between the call and its settle only means the
call is made again next run, with the same idempotency key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, Select, Table, func, select, update

from connector.errors import InvalidInput
from connector.policy.model import (
    Alert,
    AlertStatus,
    Overage,
    OverageStatus,
    Refill,
    RefillStatus,
)
from connector.policy.tables import balance_alerts, overage_reports, refill_requests
from connector.timeutil import as_utc

PAGE = 200


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def alert_from(row: RowMapping) -> Alert:
    return Alert(
        id=row["id"],
        account_id=row["account_id"],
        kind=row["kind"],
        threshold=row["threshold"],
        balance=row["balance"],
        burn_id=row["burn_id"],
        key=row["key"],
        status=row["status"],
        created_at=as_utc(row["created_at"]),
        delivered_at=_aware(row["delivered_at"]),
    )


def refill_from(row: RowMapping) -> Refill:
    return Refill(
        id=row["id"],
        account_id=row["account_id"],
        key=row["key"],
        platform=row["platform"],
        item_id=row["item_id"],
        quantity=row["quantity"],
        balance=row["balance"],
        status=row["status"],
        external_id=row["external_id"],
        attempts=row["attempts"],
        error=row["error"],
        created_at=as_utc(row["created_at"]),
        updated_at=as_utc(row["updated_at"]),
    )


def overage_from(row: RowMapping) -> Overage:
    return Overage(
        burn_id=row["burn_id"],
        account_id=row["account_id"],
        credits=row["credits"],
        occurred_at=as_utc(row["occurred_at"]),
        platform=row["platform"],
        status=row["status"],
        external_id=row["external_id"],
        attempts=row["attempts"],
        error=row["error"],
        created_at=as_utc(row["created_at"]),
        reported_at=_aware(row["reported_at"]),
    )


def _check_status(status: str | None, allowed: type[Any], field: str = "status") -> None:
    values = [member.value for member in allowed]
    if status is not None and status not in values:
        raise InvalidInput(field, f"unknown status {status!r}", f"one of {', '.join(values)}")


def _filtered(
    table: Table, order: Any, status: str | None, account_id: str | None, limit: int
) -> Select[Any]:
    if isinstance(limit, bool) or limit <= 0:
        raise InvalidInput("limit", f"{limit!r} is not a positive count", "ask for at least 1")
    query = select(table).order_by(order.desc()).limit(limit)
    if status is not None:
        query = query.where(table.c.status == status)
    if account_id is not None:
        query = query.where(table.c.account_id == account_id)
    return query


def list_alerts(
    engine: Engine, status: str | None = None, account_id: str | None = None, limit: int = 100
) -> list[Alert]:
    """Newest first."""
    _check_status(status, AlertStatus)
    query = _filtered(balance_alerts, balance_alerts.c.id, status, account_id, limit)
    with engine.connect() as conn:
        return [alert_from(row) for row in conn.execute(query).mappings()]


def list_refills(
    engine: Engine, status: str | None = None, account_id: str | None = None, limit: int = 100
) -> list[Refill]:
    _check_status(status, RefillStatus)
    query = _filtered(refill_requests, refill_requests.c.id, status, account_id, limit)
    with engine.connect() as conn:
        return [refill_from(row) for row in conn.execute(query).mappings()]


def list_overage(
    engine: Engine, status: str | None = None, account_id: str | None = None, limit: int = 100
) -> list[Overage]:
    _check_status(status, OverageStatus)
    query = _filtered(overage_reports, overage_reports.c.burn_id, status, account_id, limit)
    with engine.connect() as conn:
        return [overage_from(row) for row in conn.execute(query).mappings()]


def counts(engine: Engine, table: Table) -> dict[str, int]:
    """Records per status."""
    query = select(table.c.status, func.count()).group_by(table.c.status)
    with engine.connect() as conn:
        return {status: count for status, count in conn.execute(query)}


def _pending(engine: Engine, table: Table, order: Any) -> Iterator[RowMapping]:
    """Every record pending when the pass began, oldest first, a page at a time; one left
    pending for a retry is not met again in the same pass."""
    after: Any = None
    while True:
        query = select(table).where(table.c.status == "pending").order_by(order).limit(PAGE)
        if after is not None:
            query = query.where(order > after)
        with engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1][order.name]


def pending_alerts(engine: Engine) -> Iterator[Alert]:
    return (alert_from(row) for row in _pending(engine, balance_alerts, balance_alerts.c.id))


def pending_refills(engine: Engine) -> Iterator[Refill]:
    return (refill_from(row) for row in _pending(engine, refill_requests, refill_requests.c.id))


def pending_overage(engine: Engine) -> Iterator[Overage]:
    return (
        overage_from(row) for row in _pending(engine, overage_reports, overage_reports.c.burn_id)
    )


def settle_alert(conn: Connection, alert_id: int, status: AlertStatus, now: datetime) -> bool:
    done = conn.execute(
        update(balance_alerts)
        .where(
            balance_alerts.c.id == alert_id,
            balance_alerts.c.status == AlertStatus.PENDING.value,
        )
        .values(status=status.value, delivered_at=now)
        .returning(balance_alerts.c.id)
    ).first()
    return done is not None


def settle_refill(
    conn: Connection,
    refill_id: int,
    status: RefillStatus,
    now: datetime,
    *,
    external_id: str | None = None,
    error: str | None = None,
) -> bool:
    """Count the attempt; a failure that may still be retried keeps status pending."""
    done = conn.execute(
        update(refill_requests)
        .where(
            refill_requests.c.id == refill_id,
            refill_requests.c.status == RefillStatus.PENDING.value,
        )
        .values(
            status=status.value,
            external_id=external_id,
            error=error,
            attempts=refill_requests.c.attempts + 1,
            updated_at=now,
        )
        .returning(refill_requests.c.id)
    ).first()
    return done is not None


def settle_overage(
    conn: Connection,
    burn_id: int,
    status: OverageStatus,
    now: datetime,
    *,
    external_id: str | None = None,
    error: str | None = None,
) -> bool:
    done = conn.execute(
        update(overage_reports)
        .where(
            overage_reports.c.burn_id == burn_id,
            overage_reports.c.status == OverageStatus.PENDING.value,
        )
        .values(
            status=status.value,
            external_id=external_id,
            error=error,
            attempts=overage_reports.c.attempts + 1,
            reported_at=now if status is OverageStatus.REPORTED else None,
        )
        .returning(overage_reports.c.burn_id)
    ).first()
    return done is not None
