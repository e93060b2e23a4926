"""Burn rates: how many credits one unit of an action costs, versioned and effective-dated.

A burn records the rate version it used, so a new version only applies to burns that occur
from its ``effective_from`` on; past burns never change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import lru_cache

from sqlalchemy import Connection, RowMapping, func, select

from connector.errors import InvalidInput
from connector.ledger.models import BurnRate
from connector.store.tables import burn_rates
from connector.timeutil import require_aware, utcnow

MAX_DECIMALS = 6
MAX_RATE = 10**12  # exclusive: with six decimals, at most 18 digits, exact on every database
MAX_BIGINT = 2**63 - 1  # the ledger's 64-bit integer columns (units, credits)


def parse_rate(text: str) -> Decimal:
    """A positive decimal below MAX_RATE with at most six decimals, e.g. '10', '0.5', '0.002'.

    A rate is stored as exact decimal text; bounding both ends of it keeps that text short and
    the same on SQLite and PostgreSQL, instead of one database refusing what the other keeps.
    """
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise InvalidInput(
            "credits_per_unit", f"{text!r} is not a decimal number", "send e.g. '0.5'"
        ) from None
    if not value.is_finite() or value <= 0:
        raise InvalidInput("credits_per_unit", f"{text!r} is not a positive number")
    if value >= MAX_RATE:
        raise InvalidInput(
            "credits_per_unit",
            f"{text!r} is too large",
            f"send less than {MAX_RATE:,} credits per unit",
        )
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise InvalidInput(
            "credits_per_unit", f"{text!r} has more than {MAX_DECIMALS} decimals", "round it"
        )
    return value.normalize()


@lru_cache(maxsize=1024)
def _per_unit(credits_per_unit: str) -> tuple[int, int]:
    """A rate's text as an exact fraction (numerator, denominator); a handful of rates serve
    every burn, and integer arithmetic on the pair costs a burn less than ``Fraction``'s."""
    exact = Fraction(credits_per_unit)
    return exact.numerator, exact.denominator


def credits_for(units: int, credits_per_unit: str) -> int:
    """Credits a burn of ``units`` costs: exact product, rounded up to whole credits.

    Refused when the units or the credits would not fit the ledger's 64-bit columns.
    """
    if units > MAX_BIGINT:
        raise InvalidInput("units", f"{units} is too large", f"burn at most {MAX_BIGINT} units")
    numerator, denominator = _per_unit(credits_per_unit)
    credits = -(-units * numerator // denominator)  # the exact product, rounded up
    if credits > MAX_BIGINT:
        raise InvalidInput(
            "units",
            f"{units} units at {credits_per_unit} credits each cost {credits} credits, "
            f"more than one burn can hold ({MAX_BIGINT})",
            "split the burn into smaller ones",
        )
    return credits


def _require_action(action: str) -> str:
    if not isinstance(action, str) or not action.strip():
        raise InvalidInput("action", "is empty", "name the AI action, e.g. 'query'")
    if len(action) > 200:
        raise InvalidInput("action", "is longer than 200 characters")
    return action.strip()


def _rate(row: RowMapping) -> BurnRate:
    return BurnRate(
        action=row["action"],
        version=row["version"],
        credits_per_unit=row["credits_per_unit"],
        effective_from=row["effective_from"],
        created_at=row["created_at"],
        note=row["note"],
    )


def set_rate(
    conn: Connection,
    action: str,
    credits_per_unit: str,
    effective_from: datetime | None = None,
    note: str | None = None,
) -> BurnRate:
    """Add the next version of ``action``'s rate (nothing earlier is edited)."""
    action = _require_action(action)
    rate = parse_rate(credits_per_unit)
    now = utcnow()
    effective_from = require_aware(effective_from or now, "effective_from")
    version = (
        conn.execute(
            select(func.max(burn_rates.c.version)).where(burn_rates.c.action == action)
        ).scalar()
        or 0
    ) + 1
    values = {
        "action": action,
        "version": version,
        "credits_per_unit": format(rate, "f"),
        "effective_from": effective_from,
        "created_at": now,
        "note": note,
    }
    conn.execute(burn_rates.insert().values(**values))
    return BurnRate(**values)  # type: ignore[arg-type]


def rate_row_at(conn: Connection, action: str, at: datetime) -> RowMapping:
    """The rate in force for ``action`` at ``at`` (latest effective_from, then latest version)."""
    row = (
        conn.execute(
            select(burn_rates)
            .where(burn_rates.c.action == action, burn_rates.c.effective_from <= at)
            .order_by(burn_rates.c.effective_from.desc(), burn_rates.c.version.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        known = conn.execute(select(burn_rates.c.action).where(burn_rates.c.action == action))
        if known.first() is None:
            raise InvalidInput("action", f"unknown action {action!r}", "set a rate for it first")
        raise InvalidInput(
            "occurred_at", f"no rate for {action!r} was in force at {at:%Y-%m-%dT%H:%M:%SZ}"
        )
    return row


def rate_at(conn: Connection, action: str, at: datetime) -> BurnRate:
    return _rate(rate_row_at(conn, action, at))


def current_rates(conn: Connection, at: datetime | None = None) -> list[BurnRate]:
    """The rate in force now for every action that has one."""
    at = at or utcnow()
    actions = conn.execute(select(burn_rates.c.action).distinct().order_by(burn_rates.c.action))
    result = []
    for (action,) in actions.all():
        try:
            result.append(rate_at(conn, action, at))
        except InvalidInput:
            continue  # only future versions so far
    return result


def history(conn: Connection, action: str) -> list[BurnRate]:
    rows = conn.execute(
        select(burn_rates)
        .where(burn_rates.c.action == _require_action(action))
        .order_by(burn_rates.c.version)
    ).mappings()
    found = [_rate(row) for row in rows]
    if not found:
        raise InvalidInput("action", f"unknown action {action!r}")
    return found
