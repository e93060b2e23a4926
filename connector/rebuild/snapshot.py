"""What a rebuild compares, read the same way from the live and the scratch database: pools by
source key and part, burns by idempotency key, refunds by pool and reference, journal entries
by id. Values are plain text or numbers, so that the two databases' types never matter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from connector.recognition.tables import journal_entries, recognition_money
from connector.store.tables import burn_rates, burns, ledger_entries, pools
from connector.timeutil import as_utc

Record = dict[str, Any]

POOL_FIELDS = (
    "account_id",
    "kind",
    "credits_granted",
    "credits_remaining",
    "revenue_amount",
    "currency",
    "effective_at",
    "expires_at",
    "priority",
    "status",
    "item_id",
    "mapping_version",
    "entity",
    "breakage_method",
    "breakage_rate",
)


@dataclass(frozen=True)
class Snapshot:
    pools: dict[str, Record]
    burns: dict[str, Record]
    refunds: dict[str, Record]
    journal: dict[str, Record]


def _plain(value: Any) -> Any:
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def _pool_names(conn: Connection) -> dict[int, str]:
    p = pools.c
    return {
        row[0]: f"{row[1]}:{row[2]}:{row[3]}:{row[4]}"
        for row in conn.execute(
            select(p.id, p.source_platform, p.source_object, p.source_line, p.source_part)
        )
    }


def _pools(conn: Connection, names: dict[int, str]) -> dict[str, Record]:
    return {
        names[row["id"]]: {name: _plain(row[name]) for name in POOL_FIELDS}
        for row in conn.execute(select(pools)).mappings()
    }


def _burns(conn: Connection, names: dict[int, str]) -> dict[str, Record]:
    allocations: dict[int, list[tuple[str, int]]] = {}
    le = ledger_entries.c
    for burn_id, pool_id, credits in conn.execute(
        select(le.burn_id, le.pool_id, le.credits).where(le.kind == "burn")
    ):
        allocations.setdefault(burn_id, []).append((names[pool_id], -credits))
    out = {}
    b = burns.c
    for row in conn.execute(
        select(
            b.id,
            b.account_id,
            b.idempotency_key,
            b.action,
            b.units,
            b.credits,
            b.overage_credits,
            b.occurred_at,
            burn_rates.c.version,
        ).join(burn_rates, burn_rates.c.id == b.rate_id)
    ):
        out[f"{row.account_id}/{row.idempotency_key}"] = {
            "action": row.action,
            "units": row.units,
            "credits": row.credits,
            "overage_credits": row.overage_credits,
            "rate_version": row.version,
            "occurred_at": _plain(row.occurred_at),
            "allocations": sorted(allocations.get(row.id, [])),
        }
    return out


def _refunds(conn: Connection, names: dict[int, str]) -> dict[str, Record]:
    m = recognition_money.c
    return {
        f"{names[row.pool_id]} {row.reference}": {
            "kind": row.kind,
            "amount": row.amount,
            "credits": row.credits,
            "to_deferred": row.to_deferred,
            "contra": row.contra,
            "occurred_at": _plain(row.occurred_at),
        }
        for row in conn.execute(
            select(
                m.pool_id,
                m.reference,
                m.kind,
                m.amount,
                m.credits,
                m.to_deferred,
                m.contra,
                m.occurred_at,
            )
        )
    }


def _journal(conn: Connection) -> dict[str, Record]:
    return {
        entry_id: dict(payload)
        for entry_id, payload in conn.execute(
            select(journal_entries.c.id, journal_entries.c.payload)
        )
    }


def snapshot(conn: Connection) -> Snapshot:
    names = _pool_names(conn)
    return Snapshot(
        pools=_pools(conn, names),
        burns=_burns(conn, names),
        refunds=_refunds(conn, names),
        journal=_journal(conn),
    )
