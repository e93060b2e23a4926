"""The Chargebee PurchaseSource: incremental sync by ``updated_at``, caught up by the Events API.

Each listing is read with ``updated_at[after]`` and ``sort_by[asc]=updated_at``, 100 a page,
following Chargebee's opaque ``next_offset``; the cursor (:mod:`connector.platform.cursor`) keeps
the stream and the offset after every page, so a crash resumes with the next page, and each run
starts every stream ``overlap_seconds`` before where the last one ended. Disputes can only be
filtered by ``created_at`` and have no event, so every run re-reads the disputes created within
``dispute_lookback_days`` and reports those that closed; the source keys make that idempotent.
The Events API stream comes last, asking only for the event types creditsync handles (the SDK
sends ``event_type[in]`` as its list text): an event whose object this run's listing already
read (its ``updated_at`` falls inside the stream's window) is skipped; any other is re-read by
id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from chargebee import Chargebee

from adapters.chargebee.client import Json, api_for
from adapters.chargebee.cursor import SyncCursor, load_cursor
from adapters.chargebee.parse import (
    PLATFORM,
    InvoiceTotals,
    Obj,
    credit_note_events,
    customer_of,
    dispute_events,
    has_contact,
    invoice_purchases,
    paid_invoices,
    refund_counted_by_credit_note,
    refund_events,
    void_event,
)
from adapters.chargebee.retry import ChargebeeRequestFailed, RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings, load_settings
from connector.errors import InvalidInput
from connector.events import CanonicalEvent, Customer
from connector.ports import Page
from connector.timeutil import utcnow

log = logging.getLogger(__name__)

DAY = 86_400

# stream -> (listing, fixed filters); every one is windowed and sorted by updated_at
LISTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "paid_invoices": ("invoices", {"status": {"is": "paid"}}),
    "voided_invoices": ("invoices", {"status": {"is": "voided"}}),
    "credit_notes": ("credit_notes", {}),
    "refunds": ("transactions", {"type": {"is": "refund"}}),
}

# event type -> (the content key of the object to re-read, the stream whose listing covers it)
EVENT_OBJECTS: dict[str, tuple[str, str]] = {
    "invoice_generated": ("invoice", "paid_invoices"),
    "invoice_generated_with_backdating": ("invoice", "paid_invoices"),
    "invoice_updated": ("invoice", "paid_invoices"),
    "payment_succeeded": ("invoice", "paid_invoices"),
    "credit_note_created": ("credit_note", "credit_notes"),
    "credit_note_created_with_backdating": ("credit_note", "credit_notes"),
    "credit_note_updated": ("credit_note", "credit_notes"),
    "transaction_created": ("transaction", "refunds"),
    "transaction_updated": ("transaction", "refunds"),
    "refund_initiated": ("transaction", "refunds"),
    "payment_refunded": ("transaction", "refunds"),
}

# the kinds of object a fetch hint ("kind:id") names, and the listing that retrieves each
HINT_LISTINGS: dict[str, str] = {
    "invoice": "invoices",
    "credit_note": "credit_notes",
    "transaction": "transactions",
    "dispute": "disputes",
}
HINT_KIND: dict[str, str] = {listing: kind for kind, listing in HINT_LISTINGS.items()}


def hint(kind: str, object_id: str) -> str:
    """A fetch hint: the object's kind and id (Chargebee ids carry no type prefix)."""
    return f"{kind}:{object_id}"


class ChargebeeSource:
    platform = PLATFORM

    def __init__(
        self,
        settings: ChargebeeSettings,
        *,
        client: Chargebee | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        settings.require("backfill_from", "the Chargebee source (the first sync starts there)")
        self._settings = settings
        self._api = api_for(settings, client, retry)
        self._clock = clock
        self._customers: dict[str, Customer] = {}
        self._invoices: dict[str, InvoiceTotals] = {}
        self._payments: dict[str, list[tuple[str, int]]] = {}

    # -- PurchaseSource -----------------------------------------------------------------------

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        assert self._settings.backfill_from is not None
        state = load_cursor(cursor).begin(
            self._clock(), self._settings.overlap_seconds, self._settings.backfill_from
        )
        seen: set[str] = set()  # the Events API names one object many times
        while state.run is not None:
            run = state.run
            stream = run.stream
            listing, params = self._query(state, stream)
            objects, next_offset = self._api.page(listing, params, run.page_after)
            events: list[CanonicalEvent] = []
            if stream == "events":
                for event in objects:
                    events.extend(self._event_events(event, state, seen))
            else:
                for obj in objects:
                    events.extend(self._events(HINT_KIND[listing], obj))
            state = state.after_page(stream, next_offset, next_offset is not None)
            yield Page(events=events, cursor=state.dump(), fetched=len(objects))

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        wanted: list[tuple[str, str]] = []
        for text in object_ids:
            kind, _, object_id = text.partition(":")
            if kind not in HINT_LISTINGS or not object_id:
                raise InvalidInput(
                    "object_ids",
                    f"{text!r} is not a Chargebee object the source reads",
                    f"give kind:id with kind one of {', '.join(HINT_LISTINGS)}",
                )
            wanted.append((kind, object_id))
        events: list[CanonicalEvent] = []
        for kind, object_id in wanted:
            obj = self._api.retrieve(HINT_LISTINGS[kind], object_id)
            events.extend(self._events(kind, obj))
        return events

    # -- listings -----------------------------------------------------------------------------

    def _query(self, state: SyncCursor, stream: str) -> tuple[str, dict[str, Any]]:
        assert state.run is not None
        start, until = state.run.window(stream)
        # after/before are strict: widen by a second so both bounds are included
        if stream == "events":
            window = {"after": start - 1, "before": until + 1}
            return "events", {
                "occurred_at": window,
                "event_type": {"in": sorted(EVENT_OBJECTS)},
                "sort_by": {"asc": "occurred_at"},
            }
        if stream == "disputes":
            lookback = until - self._settings.dispute_lookback_days * DAY
            window = {"after": max(min(start, lookback), 0) - 1, "before": until + 1}
            return "disputes", {"created_at": window}
        listing, fixed = LISTINGS[stream]
        window = {"after": start - 1, "before": until + 1}
        return listing, {**fixed, "updated_at": window, "sort_by": {"asc": "updated_at"}}

    def _event_events(self, event: Obj, state: SyncCursor, seen: set[str]) -> list[CanonicalEvent]:
        found = EVENT_OBJECTS.get(str(event.get("event_type")))
        content = event.get("content") or {}
        if found is None:
            return []
        content_key, stream = found
        obj = content.get(content_key)
        if not isinstance(obj, Mapping) or not obj.get("id"):
            return []
        assert state.run is not None
        start, until = state.run.window(stream)
        if start <= int(obj.get("updated_at") or 0) <= until:
            return []  # this run's listing read the object after the event
        name = hint(content_key, str(obj["id"]))
        if name in seen:
            return []
        seen.add(name)
        return self.fetch_objects([name])  # the event's copy may be stale: read the newest

    # -- one object -> events -----------------------------------------------------------------

    def _events(self, kind: str, obj: Json) -> list[CanonicalEvent]:
        if kind == "invoice":
            return self._invoice(obj)
        if kind == "credit_note":
            return list(credit_note_events(obj, self._api.complete_lines("credit_notes", obj)))
        if kind == "transaction":
            if obj.get("type") != "refund" or refund_counted_by_credit_note(obj):
                return []
            return list(refund_events(obj, self._targets(obj)))
        if kind == "dispute":
            if obj.get("status") not in ("lost", "won"):
                return []
            payment = self._payment(str(obj.get("transaction_id") or ""))
            return list(dispute_events(obj, self._totals(payment)))
        return []

    def _invoice(self, invoice: Json) -> list[CanonicalEvent]:
        if invoice.get("status") == "voided":
            void = void_event(invoice)
            return [void] if void else []
        if invoice.get("status") != "paid":
            return []
        lines = self._api.complete_lines("invoices", invoice)
        customer = self._customer(str(invoice["customer_id"]), invoice.get("billing_address"))
        return list(invoice_purchases(invoice, lines, customer))

    def _customer(self, customer_id: str, address: Obj | None) -> Customer:
        if customer_id in self._customers:
            return self._customers[customer_id]
        details = address if has_contact(address) else self._retrieve("customers", customer_id)
        found = customer_of(customer_id, details)
        self._customers[customer_id] = found
        return found

    def _payment(self, transaction_id: str) -> list[tuple[str, int]]:
        """The invoices a payment transaction paid (read once: a payment's links never change)."""
        if not transaction_id:
            return []
        if transaction_id not in self._payments:
            payment = self._retrieve("transactions", transaction_id)
            self._payments[transaction_id] = paid_invoices(payment) if payment else []
        return self._payments[transaction_id]

    def _targets(self, refund: Obj) -> list[tuple[InvoiceTotals, int]]:
        links = paid_invoices(refund) or self._payment(str(refund.get("refunded_txn_id") or ""))
        return self._totals(links)

    def _totals(self, links: list[tuple[str, int]]) -> list[tuple[InvoiceTotals, int]]:
        found: list[tuple[InvoiceTotals, int]] = []
        for invoice_id, applied in links:
            if invoice_id not in self._invoices:
                invoice = self._retrieve("invoices", invoice_id)
                if invoice is None:
                    continue
                self._invoices[invoice_id] = InvoiceTotals.of(invoice)
            found.append((self._invoices[invoice_id], applied))
        return found

    def _retrieve(self, listing: str, object_id: str) -> Json | None:
        """An object another one points at, or None when Chargebee no longer has it (deleted):
        the pointing object then yields what it can, instead of stopping the sync for good."""
        try:
            return self._api.retrieve(listing, object_id)
        except ChargebeeRequestFailed as exc:
            if exc.status != 404:
                raise
            log.warning("chargebee %s %s is gone (404); read without it", listing, object_id)
            return None


def make_source(settings: Mapping[str, Any]) -> ChargebeeSource:
    return ChargebeeSource(load_settings(settings))
