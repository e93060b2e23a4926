"""Consumption-order policies: which pool a burn takes credits from first.

The order changes *when* revenue is recognized, never how much in total, so it is policy, chosen
per plan or account. Each policy is a sort key over pools; ties always end on the oldest pool
(then the lowest id) so that the order is total and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, Protocol, TypeVar

from connector.errors import InvalidInput
from connector.kinds import DEFAULT_POLICY as DEFAULT_POLICY  # named there for the mappings
from connector.kinds import PoolKind


class Orderable(Protocol):
    """What a policy looks at: a ledger ``Pool``, or a pool as the balance command reads it."""

    @property
    def id(self) -> int: ...
    @property
    def kind(self) -> PoolKind: ...
    @property
    def priority(self) -> int: ...
    @property
    def effective_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime | None: ...


P = TypeVar("P", bound=Orderable)

# promotional, bonus, allowance first; paid and refill (money paid for them) last
KIND_RANK: Final[dict[PoolKind, int]] = {
    PoolKind.PROMOTIONAL: 0,
    PoolKind.BONUS: 1,
    PoolKind.ALLOWANCE: 2,
    PoolKind.PAID: 3,
    PoolKind.REFILL: 3,
}

SortKey = tuple[object, ...]


def _expiry(pool: Orderable) -> float:
    return pool.expires_at.timestamp() if pool.expires_at else float("inf")


def soonest_expiry(pool: Orderable) -> SortKey:
    """The default: soonest expiry, then priority, then promotional before paid, then oldest."""
    return (_expiry(pool), pool.priority, KIND_RANK[pool.kind], pool.effective_at, pool.id)


def priority_first(pool: Orderable) -> SortKey:
    """Priority decides; expiry only breaks ties."""
    return (pool.priority, _expiry(pool), KIND_RANK[pool.kind], pool.effective_at, pool.id)


def oldest_first(pool: Orderable) -> SortKey:
    """Plain FIFO by the moment the credits became effective."""
    return (pool.effective_at, pool.id)


def free_first(pool: Orderable) -> SortKey:
    """Credits that carry no money before paid ones, then soonest expiry."""
    return (KIND_RANK[pool.kind], _expiry(pool), pool.priority, pool.effective_at, pool.id)


POLICIES: Final[dict[str, Callable[[Orderable], SortKey]]] = {
    "soonest_expiry": soonest_expiry,
    "priority_first": priority_first,
    "oldest_first": oldest_first,
    "free_first": free_first,
}


def policy(name: str | None) -> Callable[[Orderable], SortKey]:
    if name is None:
        return POLICIES[DEFAULT_POLICY]
    try:
        return POLICIES[name]
    except KeyError:
        raise InvalidInput(
            "consumption_order", f"unknown policy {name!r}", f"one of {', '.join(POLICIES)}"
        ) from None


def in_order(pools: Sequence[P], name: str | None = None) -> list[P]:
    return sorted(pools, key=policy(name))
