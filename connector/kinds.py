"""Names the ledger and the mapping model share: pool kinds, breakage methods, consumption orders.

A leaf module (it imports nothing of creditsync's), so that the mapping model can name these
without importing the ledger, and the ledger can keep them as its own.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class PoolKind(StrEnum):
    PAID = "paid"
    BONUS = "bonus"
    PROMOTIONAL = "promotional"
    ALLOWANCE = "allowance"
    REFILL = "refill"


class BreakageMethod(StrEnum):
    REMOTE = "remote"
    PROPORTIONAL = "proportional"


# the consumption-order policies connector.ledger.order implements, by name
POLICY_NAMES: Final = ("soonest_expiry", "priority_first", "oldest_first", "free_first")
DEFAULT_POLICY: Final = "soonest_expiry"
