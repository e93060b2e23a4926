"""A deterministic year of purchases, refunds, a dispute and burns for the demo.

Pure: a seed in, canonical events and burn requests out, month by month, so the demo (and the
test that runs it small) always tells the same story.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from connector.events import (
    CanonicalEvent,
    Customer,
    Dispute,
    DisputeOutcome,
    Purchase,
    Refund,
    SourceKey,
)
from connector.ledger.models import BurnRequest

YEAR = 2025  # wholly in the past, so every command of the walkthrough is allowed on it
SELLING_MONTHS = 12  # purchases happen in 2025 ...
MONTHS = 15  # ... and the credits keep burning (and the first bundles expire) into 2026
# item id (files catalog in mappings/examples/files.toml), price in USD cents, weight
BUNDLES = [("credits-1k", 1_000, 6), ("credits-10k", 9_000, 3), ("credits-100k", 80_000, 1)]
ACTIONS = [("query", 60, 70), ("image", 8, 25), ("analysis", 2, 5)]  # (action, max units, weight)
# (effective month, action, credits per unit): burn rates that change as model costs change
RATE_CHANGES = [
    (1, "query", "1"),
    (1, "image", "10"),
    (1, "analysis", "50"),
    (5, "image", "12"),
    (9, "analysis", "40"),
]


@dataclass
class Month:
    number: int  # 1 = January 2025, 13 = January 2026
    start: datetime
    end: datetime
    events: list[CanonicalEvent] = field(default_factory=list)
    burns: list[BurnRequest] = field(default_factory=list)


def month_bounds(number: int) -> tuple[datetime, datetime]:
    """[start, end) of month ``number`` counted from January of YEAR."""
    year, month = YEAR + (number - 1) // 12, (number - 1) % 12 + 1
    start = datetime(year, month, 1, tzinfo=UTC)
    return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


def period_name(number: int) -> str:
    return f"{month_bounds(number)[0]:%Y-%m}"


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(seconds))


def story(customers: int = 24, burns_per_customer: int = 40, seed: int = 2026) -> list[Month]:
    """Fifteen months: a year of new customers with welcome credits, bundles bought and
    re-bought, a few refunds (one full), one lost dispute; burns all along, so the first
    bundles expire with credits left in the last months."""
    rng = random.Random(seed)
    months = [Month(n, *month_bounds(n)) for n in range(1, MONTHS + 1)]
    invoices: list[Purchase] = []  # paid purchases, some refunded or disputed later
    active: list[tuple[str, datetime]] = []
    # some customers use what they buy, some let a good part of it expire (breakage)
    appetite = {
        f"customer-{i + 1:02d}": rng.choice([0.05, 0.2, 0.6, 1.0]) for i in range(customers)
    }
    for index in range(customers):
        joined = months[index * SELLING_MONTHS // customers]
        name = f"customer-{index + 1:02d}"
        at = _moment(rng, joined.start, joined.end - timedelta(days=3))
        active.append((name, at))
        joined.events.append(_purchase(name, f"welcome-{name}", "welcome-credits", 1, 0, at))
        for number in range(joined.number, SELLING_MONTHS + 1):
            if number != joined.number and rng.random() > 0.45:
                continue
            month = months[number - 1]
            bought = at if number == joined.number else _moment(rng, month.start, month.end)
            item, price, _ = rng.choices(BUNDLES, weights=[w for *_, w in BUNDLES])[0]
            quantity = 1 if item != "credits-1k" else rng.randint(1, 3)
            purchase = _purchase(
                name, f"ord-{number:02d}-{name}", item, quantity, price * quantity, bought
            )
            month.events.append(purchase)
            invoices.append(purchase)
    _refunds_and_a_dispute(rng, months, invoices)
    for month in months:
        month.events.sort(key=lambda e: e.occurred_at)
        spenders = [(n, since) for n, since in active if since < month.end]
        for i in range(round(burns_per_customer * sum(appetite[n] for n, _ in spenders))):
            name, since = rng.choices(spenders, weights=[appetite[n] for n, _ in spenders])[0]
            at = _moment(rng, max(since + timedelta(hours=1), month.start), month.end)
            action, most, _ = rng.choices(ACTIONS, weights=[w for *_, w in ACTIONS])[0]
            key = f"burn-{month.number:02d}-{i:05d}"
            month.burns.append(BurnRequest(name, key, action, rng.randint(1, most), at))
        month.burns.sort(key=lambda b: b.occurred_at)
    return months


def _purchase(
    customer: str, order: str, item: str, quantity: int, amount: int, at: datetime
) -> Purchase:
    return Purchase(
        source=SourceKey(platform="files", object_id=order, line_id="1"),
        occurred_at=at,
        currency="USD",
        customer=Customer(external_id=customer, name=customer.replace("-", " ").title()),
        item_id=item,
        quantity=quantity,
        net_amount=amount,
    )


def _month_of(months: list[Month], when: datetime) -> Month:
    return months[(when.year - YEAR) * 12 + when.month - 1]


def _refunds_and_a_dispute(
    rng: random.Random, months: list[Month], invoices: list[Purchase]
) -> None:
    paid = [p for p in invoices if p.occurred_at < months[SELLING_MONTHS - 2].start]
    refunded = rng.sample(paid, min(4, len(paid)))
    for number, purchase in enumerate(refunded):
        when = purchase.occurred_at + timedelta(days=rng.randint(3, 20))
        target = _month_of(months, when)
        amount = (
            purchase.net_amount if number == 0 else purchase.net_amount * rng.randint(2, 5) // 10
        )
        target.events.append(
            Refund(
                source=SourceKey(platform="files", object_id=f"re-{purchase.source.object_id}"),
                occurred_at=when,
                currency="USD",
                target_object=purchase.source.object_id,
                amount=amount,
            )
        )
    # the middle purchase, or the next one no refund touched: a chargeback of money already
    # refunded would be an over-refund, not a story
    untouched = [p for p in paid[len(paid) // 2 :] + paid[: len(paid) // 2] if p not in refunded]
    if len(paid) > 5 and untouched:
        disputed = untouched[0]
        when = disputed.occurred_at + timedelta(days=25)
        target = _month_of(months, when)
        target.events.append(
            Dispute(
                source=SourceKey(platform="files", object_id=f"dp-{disputed.source.object_id}"),
                occurred_at=when,
                currency="USD",
                target_object=disputed.source.object_id,
                amount=disputed.net_amount,
                outcome=DisputeOutcome.LOST,
            )
        )
