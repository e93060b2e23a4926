"""Deterministic names creditsync gives the objects it writes to Chargebee.

Chargebee keeps idempotency keys for 30 minutes only and caps them, a PO number and a usage id
at 100 characters; these names derive from creditsync's own request keys, so a retry hours
later finds (a refill's PO number) or is deduplicated into (a usage id) what the first attempt
wrote. A key too long to fit is replaced by a digest of it, stable across processes.
"""

from __future__ import annotations

import hashlib

LIMIT = 100
PREFIX = "creditsync"
LINK_FIX = "link the account to its Chargebee customer id"


def mark(kind: str, key: str) -> str:
    """``creditsync-<kind>-<key>``, or its digest form when that exceeds 100 characters."""
    plain = f"{PREFIX}-{kind}-{key}"
    if len(plain) <= LIMIT and plain.isascii():
        return plain
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:48]
    return f"{PREFIX}-{kind}-sha256-{digest}"
