"""Deferred revenue by customer (the auditors' list): for each account, its pools with money,
the credits they have left, the deferred revenue they hold and when they expire, as of a moment.

Its total per currency is the subledger's deferred revenue at that moment, so at a period's end
(with recognition run through it) it ties to the rollforward's closing balance of that period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from connector.recognition import subledger
from connector.reports.model import GL_COLUMNS, Column, GLAccountOf, Report, Row
from connector.timeutil import require_aware

COLUMNS = (
    Column("currency", "Currency"),
    Column("account", "Account"),
    Column("entity", "Entity"),
    *GL_COLUMNS,
    Column("pools", "Pools", summed=True),
    Column("credits", "Remaining credits", summed=True),
    Column("deferred", "Deferred revenue", money=True, summed=True),
    Column("next_expiry", "Next expiry"),
    Column("last_expiry", "Last expiry"),
)


@dataclass
class _Customer:
    pools: int = 0
    credits: int = 0
    deferred: int = 0
    expiries: list[datetime] = field(default_factory=list)
    never: bool = False


def deferred_by_customer(
    conn: Connection,
    at: datetime,
    gl_account: GLAccountOf | None = None,
    *,
    currency: str | None = None,
    entity: str | None = None,
) -> Report:
    at = require_aware(at, "at")
    found: dict[tuple[str, str, str, str], _Customer] = {}
    names: dict[str, str | None] = {}
    for info, (position,) in subledger.positions(conn, [at]):
        if position.deferred == 0 and position.credits_left <= 0:
            continue
        if (currency and info.currency != currency.upper()) or (entity and info.entity != entity):
            continue
        code, name = (
            gl_account(info.mapping_version, info.currency, info.entity)
            if gl_account
            else ("", None)
        )
        names[code] = name
        key = (info.currency, info.account_id, info.entity or "", code)
        customer = found.setdefault(key, _Customer())
        customer.pools += 1
        customer.credits += max(position.credits_left, 0)
        customer.deferred += position.deferred
        if info.expires_at is None:
            customer.never = True
        else:
            customer.expiries.append(info.expires_at)
    rows: list[Row] = []
    for (code_currency, account, entity_name, code), customer in sorted(found.items()):
        soonest = min(customer.expiries, default=None)
        latest = "never" if customer.never else _day(max(customer.expiries, default=None))
        rows.append(
            {
                "currency": code_currency,
                "account": account,
                "entity": entity_name or None,
                "gl_account": code or None,
                "gl_name": names.get(code),
                "pools": customer.pools,
                "credits": customer.credits,
                "deferred": customer.deferred,
                "next_expiry": _day(soonest) if soonest else "never",
                "last_expiry": latest,
            }
        )
    notes = (
        f"As of {at.isoformat()}: pools with revenue and the deferred revenue they hold.",
        "The total per currency is the subledger's deferred revenue at that moment: at a period "
        "end it equals the rollforward's closing balance for the period.",
    )
    return Report.single("deferred", "Deferred revenue by customer", COLUMNS, tuple(rows), notes)


def _day(moment: datetime | None) -> str | None:
    return f"{moment:%Y-%m-%d}" if moment else None
