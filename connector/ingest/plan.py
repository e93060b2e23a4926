"""The mapping step: a canonical Purchase and the mappings in force become pool grants.

Pure: no store, no clock. The result is one of three things, never a guess: the grants to make,
an Unmapped report (the item is not in the catalog), or a Held exception (the purchase cannot be
booked as the mappings stand, with the reason and the field to fix). Revenue is split over the
paid and bonus pools of a line with one half-even rounding, so the pools add up to the net amount
exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from connector.errors import InvalidInput
from connector.events import Purchase, SourceKey
from connector.ledger.models import GrantRequest, PoolKind
from connector.money import require_minor_units, round_half_even
from mappings.expiry import Expiry
from mappings.model import BonusRevenue, Breakage, CatalogEntry, MappingSet, NoGLAccounts

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


@dataclass(frozen=True)
class _Rule:
    """What an item in a currency resolves to under the mappings: the same for every purchase
    of it, so a page looks it up once (see ``plan_many``)."""

    entry: CatalogEntry
    label: str
    expiry: Expiry
    breakage: Breakage
    version: str


@dataclass(frozen=True)
class _Refusal:
    """Why no purchase of an item in a currency can be granted (Unmapped or Held)."""

    held_field: str | None  # None: unmapped
    reason: str
    item_ids: tuple[str, ...]

    def plan(self, source: SourceKey) -> Unmapped | Held:
        if self.held_field is None:
            return Unmapped(source, source.platform, self.item_ids, self.reason)
        return Held(source, self.held_field, self.reason)


def plan_grants(purchase: Purchase, mappings: MappingSet, account_id: str) -> GrantPlan:
    """What pools ``purchase`` grants to ``account_id`` under ``mappings``."""
    item_ids = (purchase.item_id, *purchase.item_aliases)
    rule = _rule(mappings, purchase.source.platform, item_ids, purchase.currency)
    return _plan(purchase, rule, account_id)


def plan_many(purchases: Sequence[tuple[Purchase, str]], mappings: MappingSet) -> list[GrantPlan]:
    """``plan_grants`` for each (purchase, account id) of a page, in order, with the catalog and
    GL lookups made once per distinct item and currency rather than once per purchase."""
    rules: dict[tuple[str, tuple[str, ...], str], _Rule | _Refusal] = {}
    plans: list[GrantPlan] = []
    for purchase, account_id in purchases:
        key = (
            purchase.source.platform,
            (purchase.item_id, *purchase.item_aliases),
            purchase.currency,
        )
        rule = rules.get(key)
        if rule is None:
            rule = rules[key] = _rule(mappings, *key)
        plans.append(_plan(purchase, rule, account_id))
    return plans


def _rule(
    mappings: MappingSet, platform: str, item_ids: tuple[str, ...], currency: str
) -> _Rule | _Refusal:
    """The catalog entry, expiry and breakage an item in a currency grants under, or why it
    cannot be granted at all."""
    found = mappings.matches(platform, item_ids)
    if not found:
        names = " / ".join(item_ids)
        return _Refusal(
            None,
            f"{platform} item {names} is not in the catalog (mapping {mappings.version[:12]}); "
            "add a [[catalog]] entry for it to grant credits",
            item_ids,
        )
    if len(found) > 1:
        keys = ", ".join(f"{e.platform}:{e.item_id}" for e in found)
        return _Refusal(
            "item_id",
            f"the item and its aliases match several catalog entries ({keys}); "
            "keep one entry for this item",
            item_ids,
        )
    entry = found[0]
    label = f"{entry.platform}:{entry.item_id}"
    try:
        mappings.gl_accounts(currency, entry.entity)
    except NoGLAccounts as exc:
        return _Refusal("currency", f"{label} paid in {currency}: {exc.message}", item_ids)
    if currency not in entry.currencies:
        return _Refusal(
            "currency",
            f"{label} is not mapped for {currency} (its currencies: "
            f"{', '.join(entry.currencies)}); add the currency to the entry",
            item_ids,
        )
    return _Rule(entry, label, entry.expiry_rule, mappings.breakage_for(entry), mappings.version)


def _plan(purchase: Purchase, rule: _Rule | _Refusal, account_id: str) -> GrantPlan:
    """The checks and grants that depend on the purchase itself (amount, dates, quantity)."""
    source = purchase.source
    if isinstance(rule, _Refusal):
        return rule.plan(source)
    entry, label = rule.entry, rule.label
    if entry.kind is PoolKind.PROMOTIONAL and purchase.net_amount != 0:
        return Held(
            source,
            "net_amount",
            f"{label} grants promotional credits, which carry no revenue, but the line was paid "
            f"{purchase.net_amount}; map the item to a paid kind or fix its price",
        )
    try:
        expires_at = rule.expiry.resolve(purchase.occurred_at, purchase.period_end)
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
    breakage = rule.breakage
    grants = [
        GrantRequest(
            account_id=account_id,
            kind=entry.kind,
            credits=paid_credits,
            revenue_amount=paid_amount,
            currency=purchase.currency,
            effective_at=purchase.occurred_at,
            source=source,
            part=PAID_PART,
            expires_at=expires_at,
            priority=entry.priority,
            item_id=entry.item_id,  # the catalog key, so the rule can be found in its version
            mapping_version=rule.version,
            entity=entry.entity,
            breakage_method=breakage.method,
            breakage_rate=breakage.rate,
        )
    ]
    if bonus_credits:
        grants.append(
            replace(
                grants[0],
                kind=PoolKind.BONUS,
                credits=bonus_credits,
                revenue_amount=bonus_amount,
                part=BONUS_PART,
            )
        )
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
