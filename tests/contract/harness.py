"""What the contract suite needs from one platform: a small, documented Protocol.

The suite in this folder holds every adapter to the same promises (see test_contract.py). It
knows nothing about any platform: each ``harness_<platform>.py`` module exposes
``make(router, folder) -> Harness`` that stands the platform in (respx for an HTTP platform, a
file for the files adapter) and seeds it. Which contracts apply follows from the adapter's
``AdapterSpec`` (a source, a webhook receiver) and from ``remote`` (reached over HTTP, so
retries apply); nothing is skipped. Adding a platform means adding its harness module; the
suite fails until there is one.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from connector.platform.retry import RetryPolicy
from connector.ports import PurchaseSource

Delivery = tuple[dict[str, str], bytes]  # (headers, raw body) of one webhook request


class Harness(Protocol):
    platform: str
    remote: bool  # reached over HTTP: the bounded-retry contract applies
    page_size: int  # objects per page of the source's first listing

    def connection_settings(self) -> dict[str, Any]:
        """A connection's settings that reach this stand-in (credentials, base URL, path)."""
        ...

    def seed(self, purchases: int) -> None:
        """Hold ``purchases`` paid purchases of an item the example mappings map, one customer
        each, and a refund (or credit note) returning part of the first one."""
        ...

    def source(self, retry: RetryPolicy | None = None) -> PurchaseSource:
        """A source on the stand-in; ``retry`` replaces its retry policy (remote only)."""
        ...

    def deliveries(self) -> list[Delivery]:
        """Authentic webhook deliveries (distinct event ids) describing what ``seed`` holds,
        in the order the platform sent them. Receivers only."""
        ...

    def forged(self) -> Delivery:
        """A delivery with wrong credentials or signature. Receivers only."""
        ...

    def fail_requests(self, status: int, times: int, retry_after: float | None = None) -> None:
        """Answer the next ``times`` requests with ``status`` (and Retry-After). Remote only."""
        ...

    def request_count(self) -> int:
        """Requests the stand-in has received so far. Remote only."""
        ...


def harness_module(platform: str) -> Any:
    """The module ``harness_<platform>``: ``make(router, folder)`` and ``REMOTE``."""
    return importlib.import_module(f"tests.contract.harness_{platform}")
