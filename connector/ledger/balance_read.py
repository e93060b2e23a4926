"""``creditsync balance`` read through the bare database driver (``connector.store.direct``):
the same answer as ``connector.ledger.balance``, without loading SQLAlchemy or pydantic, which
take longer to import than the read takes to run. ``tests/test_balance_read.py`` holds the two
reads to one answer on both databases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.errors import NotFound
from connector.kinds import PoolKind
from connector.ledger.holdings import HeldPool, balance_of
from connector.ledger.models import Balance, PoolStatus
from connector.store.direct import DirectReader, open_direct
from connector.timeutil import require_aware, utcnow

_COLUMNS = "p.id, p.kind, {held}, p.credits_granted, p.effective_at, p.expires_at, p.priority"
_NOW = (
    f"SELECT {_COLUMNS.format(held='p.credits_remaining')} FROM pools p "
    f"WHERE p.account_id = ? AND p.status = '{PoolStatus.ACTIVE.value}' "
    "AND p.credits_remaining > 0"
)
# as the ledger entries dated up to the moment add up, whatever was recorded since
_AS_OF = (
    f"SELECT {_COLUMNS.format(held='h.credits')} FROM pools p JOIN ("
    "SELECT pool_id, SUM(credits) AS credits FROM ledger_entries "
    "WHERE account_id = ? AND occurred_at <= ? GROUP BY pool_id"
    ") h ON h.pool_id = p.id WHERE p.account_id = ? AND h.credits > 0"
)


def read_balance(reader: DirectReader, account_id: str, at: datetime | None) -> Balance:
    found = reader.rows("SELECT consumption_order FROM accounts WHERE id = ?", [account_id])
    if not found:
        raise NotFound(f"account {account_id!r} does not exist")
    if at is None:
        moment, rows = utcnow(), reader.rows(_NOW, [account_id])
    else:
        moment = require_aware(at, "at")
        rows = reader.rows(_AS_OF, [account_id, reader.bind_instant(moment), account_id])
    held = [_held(reader, row) for row in rows]
    return balance_of(account_id, held, found[0][0], moment)


def _held(reader: DirectReader, row: tuple[Any, ...]) -> HeldPool:
    pool_id, kind, remaining, granted, effective_at, expires_at, priority = row
    return HeldPool(
        id=pool_id,
        kind=PoolKind(kind),
        credits_remaining=int(remaining),
        credits_granted=granted,
        effective_at=reader.instant(effective_at),
        expires_at=None if expires_at is None else reader.instant(expires_at),
        priority=priority,
    )


def balance_directly(url: str, account_id: str, at: datetime | None) -> Balance | None:
    """The balance, or None when the driver alone cannot be trusted to read this database."""
    with open_direct(url) as reader:
        return None if reader is None else read_balance(reader, account_id, at)
