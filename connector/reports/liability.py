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
from connector.reports.model import Column, Report, Value
from connector.timeutil import require_aware

COLUMNS = (
    Column("section", "By"),
    Column("currency", "Currency"),
    Column("group", "Group"),
    Column("pools", "Pools"),
    Column("credits", "Outstanding credits"),
    Column("deferred", "Deferred revenue", money=True),
    Column("expected_breakage_credits", "Expected breakage (credits)"),
    Column("expected_breakage", "Expected breakage", money=True),
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


def liability(conn: Connection, at: datetime) -> Report:
    at = require_aware(at, "at")
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for info, (position,) in subledger.positions(conn, [at], with_revenue_only=False):
        if position.credits_left <= 0 and position.deferred == 0:
            continue
        values = (
            1,
            max(position.credits_left, 0),
            position.deferred,
            position.expected_breakage_credits,
            position.expected_breakage_amount,
        )
        for section, group in (("kind", info.kind.value), ("expiry", bucket(info.expires_at, at))):
            totals = groups[(section, info.currency, group)]
            for i, value in enumerate(values):
                totals[i] += value
    order = {name: i for i, (_l, name) in enumerate(BUCKETS)}
    order.update({"past expiry": -1, "over 1 year": 98, "no expiry": 99})
    rows: list[dict[str, Value]] = []
    for (section, currency, group), (n, credits, deferred, exp_credits, exp_amount) in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0] != "kind", kv[0][1], order.get(kv[0][2], 0), kv[0][2]),
    ):
        rows.append(
            {
                "section": section,
                "currency": currency,
                "group": group,
                "pools": n,
                "credits": credits,
                "deferred": deferred,
                "expected_breakage_credits": exp_credits,
                "expected_breakage": exp_amount,
            }
        )
    notes = (
        f"As of {at.isoformat()}; amounts in minor units.",
        "Expected breakage: credits beyond the expected use at the pool's breakage rate "
        "(0 under the remote method with no rate), and the deferred revenue they hold.",
    )
    return Report("liability", "Credit liability", COLUMNS, tuple(rows), notes)
