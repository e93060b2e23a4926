"""Checks every Charger and UsageSink makes before writing to a platform.

A refill or an overage report that reaches an adapter without an idempotency key, a platform
customer or a positive amount is a bug upstream; it is refused before any request, naming the
field, so nothing half-written is left on the platform.
"""

from __future__ import annotations

from datetime import datetime

from connector.errors import InvalidInput
from connector.ports import OverageUsage, RefillRequest
from connector.timeutil import require_aware


def _customer(external_customer_id: str, platform: str) -> None:
    if not external_customer_id:
        raise InvalidInput(
            "external_customer_id",
            f"the account has no {platform} customer",
            f"link the account to its {platform} customer id",
        )


def check_refill(request: RefillRequest, platform: str) -> None:
    """Refuse a refill without a key, a customer or a positive quantity."""
    if not request.key:
        raise InvalidInput("key", "a refill needs an idempotency key", "derive one per refill")
    _customer(request.external_customer_id, platform)
    if isinstance(request.quantity, bool) or request.quantity <= 0:
        raise InvalidInput("quantity", f"{request.quantity!r} is not a positive count")


def check_overage(usage: OverageUsage, platform: str) -> datetime:
    """Refuse overage that is not a positive whole number of credits, or lacks a key or a
    customer; return its aware ``occurred_at``."""
    if isinstance(usage.credits, bool) or not isinstance(usage.credits, int):
        raise InvalidInput("credits", f"{usage.credits!r} is not a whole number of credits")
    if usage.credits <= 0:
        raise InvalidInput("credits", "overage must be positive", "report only credits used")
    if not usage.key:
        raise InvalidInput("key", "overage needs an idempotency key", "derive one per burn")
    _customer(usage.external_customer_id, platform)
    return require_aware(usage.occurred_at, "occurred_at")
