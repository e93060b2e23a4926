"""The balance an account's pools make at a moment: which pools count, in which order, and how
many credits they hold.

Pure, so that the ledger's own read (``connector.ledger.balance``) and the balance command's
read through the bare database driver (``connector.ledger.balance_read``) give one answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from connector.kinds import PoolKind
from connector.ledger.models import Balance, PoolBalance, PoolStatus
from connector.ledger.order import Orderable, in_order
from connector.timeutil import stored_instant


class Held(Orderable, Protocol):
    """A pool with the credits it holds at the moment asked about."""

    @property
    def credits_remaining(self) -> int: ...
    @property
    def credits_granted(self) -> int: ...


H = TypeVar("H", bound=Held)


@dataclass(frozen=True)
class HeldPool:
    """The part of a pool that burns and balances read: what a query of those columns alone
    builds, cheaper than a whole ``Pool`` where thousands are read a second."""

    id: int
    kind: PoolKind
    credits_remaining: int
    credits_granted: int
    effective_at: datetime
    expires_at: datetime | None
    priority: int

    @classmethod
    def of(cls, row: Sequence[Any]) -> HeldPool:
        """From a row of ``HELD_COLUMNS`` as either driver hands it back."""
        pool_id, kind, remaining, granted, effective_at, expires_at, priority = row
        return cls(
            pool_id,
            PoolKind(kind),
            int(remaining),  # a SUM on PostgreSQL comes back as a Decimal
            granted,
            stored_instant(effective_at),
            None if expires_at is None else stored_instant(expires_at),
            priority,
        )


# What burns and balances read of a pool, in ``HeldPool``'s order ({held}: the credits held)
HELD_COLUMNS = "p.id, p.kind, {held}, p.credits_granted, p.effective_at, p.expires_at, p.priority"
# The pools of the accounts ``{accounts}`` (an IN list or ``= ANY``) that a burn may take from
SPENDABLE_POOLS = (
    f"SELECT p.account_id, {HELD_COLUMNS.format(held='p.credits_remaining')} FROM pools p "
    f"WHERE p.account_id {{accounts}} AND p.status = '{PoolStatus.ACTIVE.value}' "
    "AND p.credits_remaining > 0"
)


def usable_at(pool: Orderable, at: datetime) -> bool:
    """Effective by ``at`` and not yet expired: credits a burn at ``at`` may take."""
    return pool.effective_at <= at and (pool.expires_at is None or at < pool.expires_at)


def balance_of(
    account_id: str, held: Sequence[H], consumption_order: str | None, at: datetime
) -> Balance:
    """The pools usable at ``at``, in the order burns take them, and their total."""
    ordered = in_order([pool for pool in held if usable_at(pool, at)], consumption_order)
    return Balance(
        account_id=account_id,
        total=sum(pool.credits_remaining for pool in ordered),
        pools=tuple(
            PoolBalance(
                pool_id=pool.id,
                kind=pool.kind,
                credits_remaining=pool.credits_remaining,
                credits_granted=pool.credits_granted,
                expires_at=pool.expires_at,
                priority=pool.priority,
            )
            for pool in ordered
        ),
    )
