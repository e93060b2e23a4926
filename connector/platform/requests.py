"""Checks every platform's UsageSink and Charger make before their first request.

A report of overage or a refill charge that cannot be right (no credits, no key, no customer on
the platform) is refused with the field and the fix before anything is sent, the same way on
every platform; only the way a customer is linked differs, so the adapter says that.
"""

from __future__ import annotations

from connector.errors import InvalidInput
from connector.ports import OverageUsage, RefillRequest


def check_overage(usage: OverageUsage, platform: str, link_fix: str) -> None:
    """Refuse overage that is not a positive whole number of credits, keyed, for a customer."""
    if isinstance(usage.credits, bool) or not isinstance(usage.credits, int):
        raise InvalidInput("credits", f"{usage.credits!r} is not a whole number of credits")
    if usage.credits <= 0:
        raise InvalidInput("credits", "overage must be positive", "report only credits used")
    if not usage.key:
        raise InvalidInput("key", "overage needs an idempotency key", "derive one per burn")
    if not usage.external_customer_id:
        raise InvalidInput(
            "external_customer_id", f"the account has no {platform} customer", link_fix
        )


def check_refill(request: RefillRequest, platform: str, link_fix: str) -> None:
    """Refuse a refill without a key, a customer on the platform or a positive quantity."""
    if not request.key:
        raise InvalidInput("key", "a refill needs an idempotency key", "derive one per refill")
    if not request.external_customer_id:
        raise InvalidInput(
            "external_customer_id", f"the account has no {platform} customer", link_fix
        )
    if isinstance(request.quantity, bool) or request.quantity <= 0:
        raise InvalidInput("quantity", f"{request.quantity!r} is not a positive count")
