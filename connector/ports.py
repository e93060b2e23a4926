"""The ports an adapter may implement, and the registry that finds adapters by platform name.

The core never imports an adapter: it asks the registry, which imports ``adapters.<platform>``
on first use. A new platform is a new folder under adapters/ exposing ``ADAPTER``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from connector.errors import InvalidInput
from connector.events import CanonicalEvent
from connector.journal import JournalEntry, PostedEntry


@dataclass(frozen=True)
class Page:
    """One page of canonical events and the cursor to resume after it."""

    events: list[CanonicalEvent]
    cursor: dict[str, Any]
    fetched: int = 0  # platform objects read for this page (events may be fewer: unpaid, ...)


@dataclass(frozen=True)
class WebhookResult:
    """A verified webhook delivery: its event id, what it says, and what to fetch to learn more."""

    event_id: str
    event_type: str
    events: list[CanonicalEvent] = field(default_factory=list)
    fetch_hints: list[str] = field(default_factory=list)  # object ids to re-read from the API
    ignored: bool = False  # a verified event of a type creditsync does not act on


class WebhookRejected(Exception):
    """Signature, authentication or freshness check failed: answer 400 and store nothing."""


class WebhookInvalid(WebhookRejected):
    """Authentic (the signature verified) but not an event creditsync can read: answer 400 and
    keep the delivery as a rejected delivery, so that a platform's bug is seen, not lost.

    ``event_id`` and ``event_type`` are what the delivery said, when it said them usably.
    """

    def __init__(
        self, reason: str, *, event_id: str | None = None, event_type: str | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id
        self.event_type = event_type


class WebhookChallenge(WebhookRejected):
    """The delivery came without credentials: answer 401 with ``headers`` and store nothing.

    Platforms with non-preemptive basic auth (Zuora callouts) send a request without credentials
    first and only resend it with them after a ``WWW-Authenticate`` challenge.
    """

    def __init__(self, message: str, headers: Mapping[str, str]) -> None:
        super().__init__(message)
        self.headers = dict(headers)


@runtime_checkable
class PurchaseSource(Protocol):
    platform: str

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        """Yield pages of events changed since ``cursor`` (None: backfill from the start date)."""
        ...

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        """Re-read named objects (webhook hints) and return their canonical events."""
        ...


@runtime_checkable
class WebhookReceiver(Protocol):
    def receive(self, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookResult:
        """Verify and parse one delivery; raise WebhookRejected when it is not authentic, and
        WebhookInvalid when it is authentic but cannot be read as an event."""
        ...


class EntryBlocked(Exception):
    """The book refuses an entry until a person acts, typically because its period is closed
    or locked there. Waiting does not help, so it is not retried: the entry stays in the outbox
    as blocked with the book's message, until it is re-dated (``creditsync post --redate-to``)
    or the period is reopened in the book (``creditsync post --retry-failed``)."""

    def __init__(self, message: str, period: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.period = period


@runtime_checkable
class JournalSink(Protocol):
    name: str

    def post(self, entry: JournalEntry) -> str:
        """Post ``entry`` idempotently (key = entry.id) and return the sink's own id for it;
        raise EntryBlocked when the book refuses it until a person acts."""
        ...

    def posted(self, period: str) -> list[PostedEntry]:
        """Everything the sink holds for ``period``, for reconciliation."""
        ...


@dataclass(frozen=True)
class OverageUsage:
    key: str  # idempotency key, stable across retries
    account_id: str
    external_customer_id: str
    credits: int
    occurred_at: datetime


@runtime_checkable
class UsageSink(Protocol):
    def report(self, usage: OverageUsage) -> str: ...


@dataclass(frozen=True)
class RefillRequest:
    key: str  # idempotency key derived from the refill request
    account_id: str
    external_customer_id: str
    item_id: str
    quantity: int = 1


@runtime_checkable
class Charger(Protocol):
    def charge(self, request: RefillRequest) -> str:
        """Create (and finalize) a charge for a refill; return the platform's object id."""
        ...


@dataclass(frozen=True)
class AdapterContext:
    """What the core hands a journal sink's factory, so that no adapter reaches into the global
    settings: the folder configured for outputs and the clock to stamp postings with."""

    output_dir: Path
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class AdapterSpec:
    """What an adapter package offers. Factories take the connection's settings mapping; the
    journal sink's factory also takes the core's ``AdapterContext``."""

    platform: str
    source: Callable[[Mapping[str, Any]], PurchaseSource] | None = None
    receiver: Callable[[Mapping[str, Any]], WebhookReceiver] | None = None
    sink: Callable[[Mapping[str, Any], AdapterContext], JournalSink] | None = None
    usage: Callable[[Mapping[str, Any]], UsageSink] | None = None
    charger: Callable[[Mapping[str, Any]], Charger] | None = None


def available_platforms() -> list[str]:
    import adapters  # the namespace of adapter packages, never a specific adapter

    return sorted(m.name for m in pkgutil.iter_modules(adapters.__path__) if m.ispkg)


def adapter(platform: str) -> AdapterSpec:
    """The AdapterSpec of ``adapters.<platform>``; a clear error for an unknown platform."""
    if platform not in available_platforms():
        raise InvalidInput(
            "platform",
            f"no adapter named {platform!r}",
            f"one of {', '.join(available_platforms())}",
        )
    module = importlib.import_module(f"adapters.{platform}")
    spec: AdapterSpec = module.ADAPTER
    return spec
