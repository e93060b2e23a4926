"""The mapping step: purchases to grants (or Unmapped / Held), and refunds spread over pools."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from connector.errors import InvalidInput
from connector.events import Customer, Purchase, SourceKey
from connector.ingest.plan import (
    Granted,
    Held,
    Unmapped,
    plan_grants,
    plan_many,
    plan_purchases,
    split_refund,
)
from connector.ledger import pools
from connector.ledger.models import BreakageMethod, PoolKind
from connector.settings import EXAMPLE_MAPPINGS
from mappings.loader import load_mappings
from mappings.model import ITEM_KINDS, MappingSet

PAID_AT = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KWD")


def gl(currency: str, entity: str | None = None) -> dict[str, Any]:
    code = currency + (f"-{entity}" if entity else "")
    return {
        "currency": currency,
        "entity": entity,
        "deferred_revenue": f"{code}-2350",
        "revenue": f"{code}-4010",
        "breakage_revenue": f"{code}-4015",
        "refunds": f"{code}-4090",
        "clearing": f"{code}-1205",
    }


def entry(item_id: str = "price_1", **fields: Any) -> dict[str, Any]:
    return {
        "platform": "stripe",
        "item_id": item_id,
        "credits": 1000,
        "expiry": "P12M",
        "currencies": ["USD"],
        **fields,
    }


def mapping_set(*entries: dict[str, Any], **top: Any) -> MappingSet:
    return MappingSet.model_validate(
        {
            "catalog": list(entries),
            "gl": [gl(c) for c in CURRENCIES] + [gl("EUR", "acme-gmbh")],
            "plans": [{"name": "standard"}, {"name": "pro"}],
            "defaults": {"plan": "standard"},
            **top,
        }
    )


def purchase(
    item_id: str = "price_1",
    *,
    quantity: int = 1,
    net: int = 10_000,
    currency: str = "USD",
    line: str = "il_1",
    platform: str = "stripe",
    **fields: Any,
) -> Purchase:
    return Purchase(
        source=SourceKey(platform=platform, object_id="in_1", line_id=line),
        occurred_at=fields.pop("occurred_at", PAID_AT),
        currency=currency,
        customer=Customer(external_id="cus_1"),
        item_id=item_id,
        quantity=quantity,
        net_amount=net,
        **fields,
    )


def granted(result: object) -> Granted:
    assert isinstance(result, Granted), result
    return result


# --- grants -------------------------------------------------------------------------------


def test_bonus_sharing_the_price_splits_the_revenue_worked_example_4() -> None:
    mappings = mapping_set(entry(credits=1000, bonus_credits=200, bonus_revenue="share_price"))
    plan = granted(plan_grants(purchase(net=10_000), mappings, "acct_1"))
    paid, bonus = plan.grants
    assert (paid.kind, paid.part, paid.credits, paid.revenue_amount) == (
        PoolKind.PAID,
        "paid",
        1000,
        8333,
    )
    assert (bonus.kind, bonus.part, bonus.credits, bonus.revenue_amount) == (
        PoolKind.BONUS,
        "bonus",
        200,
        1667,
    )
    for grant in plan.grants:
        assert grant.account_id == "acct_1"
        assert grant.source == SourceKey(platform="stripe", object_id="in_1", line_id="il_1")
        assert grant.effective_at == PAID_AT
        assert grant.expires_at == datetime(2027, 1, 15, 9, 30, tzinfo=UTC)
        assert grant.mapping_version == mappings.version
        assert grant.item_id == "price_1"
        assert grant.currency == "USD"


def test_bonus_without_revenue_leaves_the_whole_price_on_the_paid_pool() -> None:
    mappings = mapping_set(entry(credits=1000, bonus_credits=250, bonus_revenue="no_revenue"))
    paid, bonus = granted(plan_grants(purchase(quantity=4, net=9_999), mappings, "a")).grants
    assert (paid.credits, paid.revenue_amount) == (4000, 9_999)
    assert (bonus.credits, bonus.revenue_amount) == (1000, 0)


def test_quantity_multiplies_credits_and_no_bonus_means_one_pool() -> None:
    mappings = mapping_set(entry(credits=10_000, priority=70))
    plan = granted(plan_grants(purchase(quantity=3, net=30_000), mappings, "a"))
    assert [(g.credits, g.revenue_amount, g.priority) for g in plan.grants] == [
        (30_000, 30_000, 70)
    ]


def test_promotional_credits_carry_no_revenue() -> None:
    mappings = mapping_set(entry(kind="promotional", credits=500, bonus_credits=100, expiry="P30D"))
    plan = granted(plan_grants(purchase(net=0), mappings, "a"))
    assert [(g.kind, g.credits, g.revenue_amount) for g in plan.grants] == [
        (PoolKind.PROMOTIONAL, 500, 0),
        (PoolKind.BONUS, 100, 0),
    ]
    assert plan.grants[0].expires_at == PAID_AT + timedelta(days=30)


def test_a_paid_line_for_a_promotional_item_is_held() -> None:
    mappings = mapping_set(entry(kind="promotional"))
    held = plan_grants(purchase(net=500), mappings, "a")
    assert isinstance(held, Held)
    assert held.field == "net_amount"
    assert "grants promotional credits, which carry no revenue, but the line was paid 500" in (
        held.reason
    )


def test_allowance_expires_at_the_end_of_the_paid_period() -> None:
    mappings = mapping_set(entry(kind="allowance", expiry="end_of_period", plan="pro"))
    period_end = datetime(2026, 2, 15, tzinfo=UTC)
    plan = granted(plan_grants(purchase(period_end=period_end), mappings, "a"))
    assert plan.grants[0].kind is PoolKind.ALLOWANCE
    assert plan.grants[0].expires_at == period_end
    assert plan.plan == "pro"
    held = plan_grants(purchase(), mappings, "a")
    assert isinstance(held, Held) and held.field == "period_end"
    assert "the purchase has no period_end" in held.reason


def test_calendar_month_expiry_is_clamped() -> None:
    mappings = mapping_set(entry(expiry="P1M"))
    paid_at = datetime(2026, 1, 31, 12, tzinfo=UTC)
    plan = granted(plan_grants(purchase(occurred_at=paid_at), mappings, "a"))
    assert plan.grants[0].expires_at == datetime(2026, 2, 28, 12, tzinfo=UTC)


def test_fixed_expiry_and_one_already_past() -> None:
    mappings = mapping_set(entry(expiry="2026-06-30T00:00:00Z"))
    plan = granted(plan_grants(purchase(), mappings, "a"))
    assert plan.grants[0].expires_at == datetime(2026, 6, 30, tzinfo=UTC)
    late = plan_grants(purchase(occurred_at=datetime(2026, 7, 1, tzinfo=UTC)), mappings, "a")
    assert isinstance(late, Held) and late.field == "expiry"
    assert "expires at 2026-06-30T00:00:00+00:00, not after the purchase" in late.reason


def test_no_expiry() -> None:
    mappings = mapping_set(entry(expiry="none"))
    assert granted(plan_grants(purchase(), mappings, "a")).grants[0].expires_at is None


def test_breakage_comes_from_the_entry_or_the_default() -> None:
    mappings = mapping_set(
        entry("price_1", breakage={"method": "proportional", "rate": "0.25"}),
        entry("price_2"),
        defaults={"breakage": {"method": "proportional", "rate": "0.1"}},
    )
    first = granted(plan_grants(purchase("price_1"), mappings, "a")).grants[0]
    second = granted(plan_grants(purchase("price_2"), mappings, "a")).grants[0]
    assert (first.breakage_method, first.breakage_rate) == (BreakageMethod.PROPORTIONAL, "0.25")
    assert (second.breakage_method, second.breakage_rate) == (BreakageMethod.PROPORTIONAL, "0.1")
    remote = mapping_set(entry())
    third = granted(plan_grants(purchase(), remote, "a")).grants[0]
    assert (third.breakage_method, third.breakage_rate) == (BreakageMethod.REMOTE, "0")


def test_entity_is_carried_to_the_pool() -> None:
    mappings = mapping_set(entry(currencies=["EUR"], entity="acme-gmbh"))
    grant = granted(plan_grants(purchase(currency="EUR"), mappings, "a")).grants[0]
    assert grant.entity == "acme-gmbh"
    assert mappings.gl_accounts("EUR", grant.entity).revenue == "EUR-acme-gmbh-4010"


def test_an_alias_matches_and_the_pool_records_the_catalog_key() -> None:
    mappings = mapping_set(entry("credits_1k"))
    plan = granted(plan_grants(purchase("price_1QpX", item_aliases=("credits_1k",)), mappings, "a"))
    assert plan.grants[0].item_id == "credits_1k"


def test_an_item_matching_two_entries_is_held_not_guessed() -> None:
    mappings = mapping_set(entry("price_1QpX"), entry("credits_1k"))
    held = plan_grants(purchase("price_1QpX", item_aliases=("credits_1k",)), mappings, "a")
    assert isinstance(held, Held) and held.field == "item_id"
    assert "stripe:price_1QpX, stripe:credits_1k" in held.reason


def test_unmapped_items_are_skipped_and_reported() -> None:
    mappings = mapping_set(entry("price_1"))
    unknown = plan_grants(purchase("price_2", item_aliases=("gold",)), mappings, "a")
    assert isinstance(unknown, Unmapped)
    assert (unknown.platform, unknown.item_ids) == ("stripe", ("price_2", "gold"))
    assert "stripe item price_2 / gold is not in the catalog" in unknown.reason
    other_platform = plan_grants(purchase("price_1", platform="chargebee"), mappings, "a")
    assert isinstance(other_platform, Unmapped)


def test_a_currency_without_gl_accounts_is_held() -> None:
    mappings = mapping_set(entry())
    held = plan_grants(purchase(currency="CHF"), mappings, "a")
    assert isinstance(held, Held) and held.field == "currency"
    assert "stripe:price_1 paid in CHF: currency: no GL accounts for CHF" in held.reason
    assert 'add a [[gl]] table with currency = "CHF"' in held.reason


def test_a_currency_the_entry_is_not_sold_in_is_held() -> None:
    mappings = mapping_set(entry())
    held = plan_grants(purchase(currency="GBP"), mappings, "a")
    assert isinstance(held, Held) and held.field == "currency"
    assert "is not mapped for GBP (its currencies: USD)" in held.reason


def test_each_mapped_line_of_an_invoice_gets_its_own_grants() -> None:
    mappings = mapping_set(entry("price_1"), entry("price_2", credits=50, bonus_credits=5))
    lines = [
        purchase("price_1", line="il_1", net=1000),
        purchase("price_2", line="il_2", net=600, quantity=2),
        purchase("price_x", line="il_3"),
    ]
    first, second, third = plan_purchases(lines, mappings, "a")
    assert [g.source.line_id for g in granted(first).grants] == ["il_1"]
    assert [
        (g.source.line_id, g.part, g.credits, g.revenue_amount) for g in granted(second).grants
    ] == [
        ("il_2", "paid", 100, 545),
        ("il_2", "bonus", 10, 55),
    ]
    assert isinstance(third, Unmapped)


def test_example_files_map_a_files_purchase() -> None:
    mappings = load_mappings([EXAMPLE_MAPPINGS])
    plan = granted(
        plan_grants(purchase("credits-10k", platform="files", net=12_000), mappings, "a")
    )
    assert [(g.kind, g.credits, g.revenue_amount) for g in plan.grants] == [
        (PoolKind.PAID, 10_000, 10_000),
        (PoolKind.BONUS, 2_000, 2_000),
    ]


def test_the_ledger_accepts_the_grants_once(engine: Engine) -> None:
    mappings = mapping_set(entry(credits=1000, bonus_credits=200))
    plan = granted(plan_grants(purchase(net=10_000), mappings, "acct_1"))
    with engine.begin() as conn:
        created = [pools.grant(conn, g) for g in plan.grants]
    with engine.begin() as conn:
        again = [pools.grant(conn, g) for g in plan.grants]
    assert [fresh for _, fresh in created] == [True, True]
    assert [fresh for _, fresh in again] == [False, False]
    stored = [pool for pool, _ in created]
    assert [(p.kind, p.credits_granted, p.revenue_amount) for p in stored] == [
        (PoolKind.PAID, 1000, 8333),
        (PoolKind.BONUS, 200, 1667),
    ]
    assert {p.mapping_version for p in stored} == {mappings.version}


def test_a_page_planned_at_once_gets_the_plans_of_one_purchase_at_a_time() -> None:
    mappings = mapping_set(
        entry(bonus_credits=200),
        entry("price_promo", kind="promotional"),
        entry("price_eur", currencies=["EUR", "USD"], expiry="2026-02-01T00:00:00Z"),
    )
    page = [
        (purchase(line="l1"), "acct_1"),
        (purchase(line="l2", quantity=3, net=30_000), "acct_2"),  # same item: lookup reused
        (purchase("price_unknown", line="l3"), "acct_1"),
        (purchase("price_1", line="l4", currency="EUR"), "acct_1"),  # not sold in EUR
        (purchase("price_promo", line="l5", net=100), "acct_1"),  # paid promotional: held
        (purchase("price_promo", line="l6", net=0), "acct_3"),
        (purchase("price_eur", line="l7", currency="EUR"), "acct_1"),
        (purchase("price_eur", line="l8", occurred_at=PAID_AT + timedelta(days=30)), "acct_1"),
    ]
    one_at_a_time = [plan_grants(bought, mappings, account) for bought, account in page]
    assert plan_many(page, mappings) == one_at_a_time
    assert [type(plan).__name__ for plan in one_at_a_time] == [
        "Granted",
        "Granted",
        "Unmapped",
        "Held",
        "Held",
        "Granted",
        "Granted",
        "Held",
    ]


# --- properties ---------------------------------------------------------------------------


@st.composite
def entries_and_purchases(draw: st.DrawFn) -> tuple[MappingSet, Purchase]:
    kind = draw(st.sampled_from(ITEM_KINDS))
    credits = draw(st.integers(min_value=1, max_value=1_000_000))
    bonus = draw(st.integers(min_value=0, max_value=1_000_000))
    treatment = draw(st.sampled_from(["share_price", "no_revenue"]))
    currency = draw(st.sampled_from(CURRENCIES))
    mappings = mapping_set(
        entry(
            credits=credits,
            bonus_credits=bonus,
            kind=kind.value,
            bonus_revenue=treatment,
            currencies=[currency],
            expiry=draw(st.sampled_from(["P12M", "P1M", "PT1H", "none"])),
        )
    )
    net = 0 if kind is PoolKind.PROMOTIONAL else draw(st.integers(0, 10**12))
    quantity = draw(st.integers(min_value=1, max_value=10_000))
    return mappings, purchase(quantity=quantity, net=net, currency=currency)


@given(entries_and_purchases())
def test_credits_and_revenue_add_up_for_any_purchase(case: tuple[MappingSet, Purchase]) -> None:
    mappings, bought = case
    (item,) = mappings.catalog
    plan = granted(plan_grants(bought, mappings, "a"))
    assert sum(g.credits for g in plan.grants) == bought.quantity * (
        item.credits + item.bonus_credits
    )
    assert sum(g.revenue_amount for g in plan.grants) == bought.net_amount
    assert all(g.credits > 0 and g.revenue_amount >= 0 for g in plan.grants)
    assert len({(g.source, g.part) for g in plan.grants}) == len(plan.grants)
    if len(plan.grants) == 2 and item.bonus_revenue.value == "share_price":
        paid, bonus = plan.grants
        total = paid.credits + bonus.credits
        # the paid pool is the price's exact share of its credits, rounded once
        assert abs(
            Fraction(paid.revenue_amount) - Fraction(bought.net_amount * paid.credits, total)
        ) <= Fraction(1, 2)


@given(
    st.integers(min_value=0, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12),
)
def test_split_refund_adds_up_and_stays_within_one_unit(amount: int, revenues: list[int]) -> None:
    pools_ = [(100 + i, revenue) for i, revenue in enumerate(revenues)]
    parts = split_refund(amount, pools_)
    assert [pool_id for pool_id, _ in parts] == [pool_id for pool_id, _ in pools_]
    assert sum(part for _, part in parts) == amount
    total = sum(revenues)
    for (_, part), revenue in zip(parts, revenues, strict=True):
        assert part >= 0
        if total:
            exact = Fraction(amount * revenue, total)
            assert part < exact + 1 and part > exact - 1
    if total == 0:
        assert [part for _, part in parts] == [amount] + [0] * (len(revenues) - 1)


def test_split_refund_examples() -> None:
    assert split_refund(100, [(1, 1), (2, 1), (3, 1)]) == [(1, 34), (2, 33), (3, 33)]
    assert split_refund(3000, [(7, 8333), (8, 1667)]) == [(7, 2500), (8, 500)]
    assert split_refund(10, [(1, 0), (2, 0)]) == [(1, 10), (2, 0)]
    assert split_refund(0, [(1, 5)]) == [(1, 0)]
    with pytest.raises(InvalidInput, match="amount: -1 is negative"):
        split_refund(-1, [(1, 5)])
    with pytest.raises(InvalidInput, match="no pools"):
        split_refund(1, [])
