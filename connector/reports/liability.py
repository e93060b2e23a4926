"""Credit liability at a moment: outstanding credits and deferred revenue, by pool kind and by
time to expiry, with the breakage still expected (from each pool's breakage rate).

Promotional and no-revenue bonus credits appear with their credits and no money: they are a
liability in credits, not in revenue.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Connection

from connector.recognition import subledger
from connector.reports.model import GL_COLUMNS, Column, GLAccountOf, Report, Section, Value
from connector.timeutil import require_aware

SECTIONS = (("kind", "By pool kind", "Pool kind"), ("expiry", "By time to expiry", "Expires in"))


def _columns(group_header: str) -> tuple[Column, ...]:
    return (
        Column("currency", "Currency"),
        Column("group", group_header),
        Column("pools", "Pools", summed=True),
        Column("credits", "Outstanding credits", summed=True),
        Column("deferred", "Deferred revenue", money=True, summed=True),
        Column("expected_breakage_credits", "Expected breakage (credits)", summed=True),
        Column("expected_breakage", "Expected breakage", money=True, summed=True),
        *GL_COLUMNS,
    )


BUCKETS = (
    (timedelta(days=30), "0-30 days"),
    (timedelta(days=90), "31-90 days"),
    (timedelta(days=365), "91-365 days"),
)


def bucket(expires_at: datetime | None, at: datetime) -> str:
    if expires_at is None:
        return "no expiry"
    left = expires_at - at
    if left <= timedelta(0):
        return "past expiry"
    for limit, name in BUCKETS:
        if left <= limit:
            return name
    return "over 1 year"


def liability(
    conn: Connection,
    at: datetime,
    gl_account: GLAccountOf | None = None,
    *,
    currency: str | None = None,
    entity: str | None = None,
) -> Report:
    at = require_aware(at, "at")
    groups: dict[tuple[str, str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    names: dict[str, str | None] = {}
    for info, (position,) in subledger.positions(conn, [at], with_revenue_only=False):
        if position.credits_left <= 0 and position.deferred == 0:
            continue
        if (currency and info.currency != currency.upper()) or (entity and info.entity != entity):
            continue
        code, name = (
            gl_account(info.mapping_version, info.currency, info.entity)
            if gl_account
            else ("", None)
        )
        names[code] = name
        values = (
            1,
            max(position.credits_left, 0),
            position.deferred,
            position.expected_breakage_credits,
            position.expected_breakage_amount,
        )
        for section, group in (("kind", info.kind.value), ("expiry", bucket(info.expires_at, at))):
            totals = groups[(section, info.currency, code, group)]
            for i, value in enumerate(values):
                totals[i] += value
    order = {name: i for i, (_l, name) in enumerate(BUCKETS)}
    order.update({"past expiry": -1, "over 1 year": 98, "no expiry": 99})
    sections = []
    for key, title, header in SECTIONS:
        rows: list[dict[str, Value]] = [
            {
                "currency": currency,
                "gl_account": code or None,
                "gl_name": names[code],
                "group": group,
                "pools": n,
                "credits": credits,
                "deferred": deferred,
                "expected_breakage_credits": exp_credits,
                "expected_breakage": exp_amount,
            }
            for (section, currency, code, group), (
                n,
                credits,
                deferred,
                exp_credits,
                exp_amount,
            ) in sorted(
                groups.items(),
                key=lambda kv: (kv[0][1], kv[0][2], order.get(kv[0][3], 0), kv[0][3]),
            )
            if section == key
        ]
        sections.append(Section(key, title, _columns(header), tuple(rows)))
    notes = (
        f"As of {at.isoformat()}.",
        "Each table covers every pool once: the two breakdowns are separate tables, never added "
        "together.",
        "Expected breakage: credits beyond the expected use at the pool's breakage rate "
        "(0 under the remote method with no rate), and the deferred revenue they hold.",
    )
    return Report("liability", "Credit liability", tuple(sections), notes)
