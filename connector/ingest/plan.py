"""The mapping step: a canonical Purchase and the mappings in force become pool grants.

Pure: no store, no clock. The result is one of three things, never a guess: the grants to make,
an Unmapped report (the item is not in the catalog), or a Held exception (the purchase cannot be
booked as the mappings stand, with the reason and the field to fix). Revenue is split over the
paid and bonus pools of a line with one half-even rounding, so the pools add up to the net amount
exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from connector.errors import InvalidInput
from connector.events import Purchase, SourceKey
from connector.ledger.models import GrantRequest, PoolKind
from connector.money import require_minor_units, round_half_even
from mappings.model import BonusRevenue, CatalogEntry, MappingSet, NoGLAccounts

PAID_PART = "paid"
BONUS_PART = "bonus"


@dataclass(frozen=True)
class Granted:
    """The pools one purchase line creates (paid, and bonus when the item has bonus credits)."""

    source: SourceKey
    grants: list[GrantRequest]
    entry: CatalogEntry
    plan: str | None  # the plan the buying account moves to, when the item names one


@dataclass(frozen=True)
class Unmapped:
    """The item is not in the catalog: skipped and reported, never guessed."""

    source: SourceKey
    platform: str
    item_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Held:
    """The purchase cannot be booked as the mappings stand; an operator fixes ``field``."""

    source: SourceKey
    field: str
    reason: str


GrantPlan = Granted | Unmapped | Held


def plan_grants(purchase: Purchase, mappings: MappingSet, account_id: str) -> GrantPlan:
    """What pools ``purchase`` grants to ``account_id`` under ``mappings``."""
    source = purchase.source
    platform = source.platform
    item_ids = (purchase.item_id, *purchase.item_aliases)
    found = mappings.matches(platform, item_ids)
    if not found:
        names = " / ".join(item_ids)
        return Unmapped(
            source,
            platform,
            item_ids,
            f"{platform} item {names} is not in the catalog (mapping {mappings.version[:12]}); "
            "add a [[catalog]] entry for it to grant credits",
        )
    if len(found) > 1:
        keys = ", ".join(f"{e.platform}:{e.item_id}" for e in found)
        return Held(
            source,
            "item_id",
            f"the item and its aliases match several catalog entries ({keys}); "
            "keep one entry for this item",
        )
    entry = found[0]
    label = f"{entry.platform}:{entry.item_id}"
    try:
        mappings.gl_accounts(purchase.currency, entry.entity)
    except NoGLAccounts as exc:
        return Held(source, "currency", f"{label} paid in {purchase.currency}: {exc.message}")
    if purchase.currency not in entry.currencies:
        return Held(
            source,
            "currency",
            f"{label} is not mapped for {purchase.currency} (its currencies: "
            f"{', '.join(entry.currencies)}); add the currency to the entry",
        )
    if entry.kind is PoolKind.PROMOTIONAL and purchase.net_amount != 0:
        return Held(
            source,
            "net_amount",
            f"{label} grants promotional credits, which carry no revenue, but the line was paid "
            f"{purchase.net_amount}; map the item to a paid kind or fix its price",
        )
    try:
        expires_at = entry.expiry_rule.resolve(purchase.occurred_at, purchase.period_end)
    except ValueError as exc:
        return Held(source, "period_end", f"{label}: {exc}")
    if expires_at is not None and expires_at <= purchase.occurred_at:
        return Held(
            source,
            "expiry",
            f"{label} expires at {expires_at.isoformat()}, not after the purchase at "
            f"{purchase.occurred_at.isoformat()}; fix the entry's expiry",
        )

    paid_credits = purchase.quantity * entry.credits
    bonus_credits = purchase.quantity * entry.bonus_credits
    paid_amount, bonus_amount = allocate_revenue(
        purchase.net_amount, paid_credits, bonus_credits, entry
    )
    breakage = mappings.breakage_for(entry)

    def grant(kind: PoolKind, credits: int, amount: int, part: str) -> GrantRequest:
        return GrantRequest(
            account_id=account_id,
            kind=kind,
            credits=credits,
            revenue_amount=amount,
            currency=purchase.currency,
            effective_at=purchase.occurred_at,
            source=source,
            part=part,
            expires_at=expires_at,
            priority=entry.priority,
            item_id=entry.item_id,  # the catalog key, so the rule can be found in its version
            mapping_version=mappings.version,
            entity=entry.entity,
            breakage_method=breakage.method,
            breakage_rate=breakage.rate,
        )

    grants = [grant(entry.kind, paid_credits, paid_amount, PAID_PART)]
    if bonus_credits:
        grants.append(grant(PoolKind.BONUS, bonus_credits, bonus_amount, BONUS_PART))
    return Granted(source, grants, entry, entry.plan)


def plan_purchases(
    purchases: Sequence[Purchase], mappings: MappingSet, account_id: str
) -> list[GrantPlan]:
    """One plan per line of an invoice (each line is its own Purchase and source key)."""
    return [plan_grants(purchase, mappings, account_id) for purchase in purchases]


def allocate_revenue(
    amount: int, paid_credits: int, bonus_credits: int, entry: CatalogEntry
) -> tuple[int, int]:
    """(paid pool, bonus pool) amounts adding up to ``amount`` (0 and 0 for promotional)."""
    if entry.kind is PoolKind.PROMOTIONAL:
        return 0, 0
    if bonus_credits == 0 or entry.bonus_revenue is BonusRevenue.NO_REVENUE:
        return amount, 0
    paid = round_half_even(Fraction(amount * paid_credits, paid_credits + bonus_credits))
    return paid, amount - paid


def split_refund(amount: int, pools: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spread ``amount`` over (pool id, pool revenue) pairs in proportion to revenue.

    Largest remainder: each pool gets the floor of its exact share, and the units left over go
    to the largest fractional remainders (the earlier pool on a tie), so the parts add up to
    ``amount`` exactly and none exceeds its exact share by a whole unit. With no revenue at all
    (promotional or zero-priced pools) the whole amount goes to the first pool.
    """
    if require_minor_units(amount, "amount") < 0:
        raise InvalidInput("amount", f"{amount} is negative", "a refund amount is >= 0")
    if not pools:
        raise InvalidInput("pools", "there are no pools to spread the refund over")
    for pool_id, revenue in pools:
        if require_minor_units(revenue, "revenue") < 0:
            raise InvalidInput("revenue", f"pool {pool_id} has negative revenue {revenue}")
    total = sum(revenue for _, revenue in pools)
    if total == 0:
        return [(pool_id, amount if i == 0 else 0) for i, (pool_id, _) in enumerate(pools)]
    shares: list[int] = []
    remainders: list[int] = []
    for _, revenue in pools:
        whole, rest = divmod(amount * revenue, total)
        shares.append(whole)
        remainders.append(rest)
    left = amount - sum(shares)
    for i in sorted(range(len(pools)), key=lambda i: (-remainders[i], i))[:left]:
        shares[i] += 1
    return [(pool_id, share) for (pool_id, _), share in zip(pools, shares, strict=True)]
