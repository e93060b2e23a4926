"""The decisions of the low-balance policy, as pure functions: did a burn cross a threshold, and
which platform (and item) can charge a refill or bill overage for an account."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass


def crossed(before: int, after: int, threshold: int) -> bool:
    """True only for the burn that took the balance from at-or-above to below ``threshold``.

    Burning further below does not cross again; a grant that lifts the balance back re-arms it.
    """
    return before >= threshold > after


@dataclass(frozen=True)
class RefillRoute:
    platform: str
    item_id: str
    problem: str | None = None  # set: the refill cannot be charged, and this says why


@dataclass(frozen=True)
class UsageRoute:
    platform: str | None
    problem: str | None = None


def refill_route(
    account_id: str,
    items: Mapping[str, str],
    linked: Collection[str],
    chargers: Collection[str],
) -> RefillRoute:
    """The first platform of the plan's refill items (in the plan's order) that the account is
    linked to and a connection can charge on."""
    for platform, item_id in items.items():
        if platform in linked and platform in chargers:
            return RefillRoute(platform, item_id)
    on_linked = [platform for platform in items if platform in linked]
    if on_linked:
        first = on_linked[0]
        return RefillRoute(
            first,
            items[first],
            f"no enabled connection can charge a refill on {', '.join(on_linked)}; "
            f'add a connection with platform = "{first}" whose adapter has a charger',
        )
    first = next(iter(items))
    return RefillRoute(
        first,
        items[first],
        f"account {account_id!r} has no customer id on {', '.join(items)} (the platforms its "
        "plan's auto_refill names); link one so that refills can be charged",
    )


def usage_route(account_id: str, linked: Collection[str], usage: Collection[str]) -> UsageRoute:
    """The first usage-billing platform (in connection order) the account is linked to."""
    for platform in usage:
        if platform in linked:
            return UsageRoute(platform)
    if not usage:
        return UsageRoute(
            None,
            "no enabled connection bills usage; configure one whose adapter has a usage sink "
            "(e.g. stripe with meter_event_name)",
        )
    return UsageRoute(
        None,
        f"account {account_id!r} has no customer id on {', '.join(usage)}; "
        "link one so that its overage can be billed",
    )
