"""``creditsync balance`` read through the bare database driver (``connector.store.direct``):
the same answer as ``connector.ledger.balance``, without loading SQLAlchemy or pydantic, which
take longer to import than the read takes to run. ``tests/test_balance_read.py`` holds the two
reads to one answer on both databases."""

from __future__ import annotations

from datetime import datetime

from connector.errors import NotFound
from connector.ledger.holdings import HELD_COLUMNS, SPENDABLE_POOLS, HeldPool, balance_of
from connector.ledger.models import Balance
from connector.store.direct import DirectReader, open_direct
from connector.timeutil import require_aware, utcnow

_NOW = SPENDABLE_POOLS.format(accounts="= ?")
# as the ledger entries dated up to the moment add up, whatever was recorded since
_AS_OF = (
    f"SELECT p.account_id, {HELD_COLUMNS.format(held='h.credits')} FROM pools p JOIN ("
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
    held = [HeldPool.of(row[1:]) for row in rows]
    return balance_of(account_id, held, found[0][0], moment)


def balance_directly(url: str, account_id: str, at: datetime | None) -> Balance | None:
    """The balance, or None when the driver alone cannot be trusted to read this database."""
    with open_direct(url) as reader:
        return None if reader is None else read_balance(reader, account_id, at)
