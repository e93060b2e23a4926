"""The Stripe PurchaseSource: incremental sync by created time, caught up by the Events API.

Listing an object type by ``created`` finds every new object but misses one that changed after
its window had passed (an invoice created in January and paid in February, a dispute closed
weeks after it opened). The Events API covers exactly those: it lists what happened, when it
happened. An event about an object that this run also listed (its ``created`` falls inside the
stream's window) is skipped: the listing, made after the event, already saw the result.

An event's ``data.object`` is rendered in the event's ``api_version`` (the account's or the
endpoint's), which need not be the version the client pins; such an object is never parsed, it
is read again through the API. Objects are named by their type and id (``dispute:dp_123``, see
:mod:`adapters.stripe.hints`), never by the id's prefix alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import stripe

from adapters.stripe.client import Json, StripeApi, build_client
from adapters.stripe.cursor import SyncCursor, load_cursor
from adapters.stripe.hints import ObjectRef, parse_hint
from adapters.stripe.lookups import PriceCatalog, PurchaseLookup
from adapters.stripe.parse import (
    API_VERSION,
    PLATFORM,
    Obj,
    credit_note_events,
    credit_note_refund_failed,
    dispute_event,
    invoice_events,
    invoice_price_ids,
    payment_of,
    refund_event,
    refund_failed_event,
    refunded_before,
    session_is_purchase,
    session_purchases,
)
from adapters.stripe.retry import RetryPolicy
from adapters.stripe.settings import StripeSettings, load_settings
from connector.events import CanonicalEvent
from connector.ports import Page
from connector.timeutil import utcnow

log = logging.getLogger(__name__)

# stream -> (list path, fixed filters)
LISTINGS: dict[str, tuple[str, dict[str, Any]]] = {
    "paid_invoices": ("/v1/invoices", {"status": "paid"}),
    "checkout_sessions": (
        "/v1/checkout/sessions",
        {"status": "complete", "expand": ["data.line_items"]},
    ),
    "void_invoices": ("/v1/invoices", {"status": "void"}),
    "credit_notes": ("/v1/credit_notes", {}),
    "refunds": ("/v1/refunds", {}),
    "disputes": ("/v1/disputes", {}),
}

# event type -> the stream whose listing covers the event's object
EVENT_STREAMS: dict[str, str] = {
    "invoice.paid": "paid_invoices",
    "invoice.voided": "void_invoices",
    "checkout.session.completed": "checkout_sessions",
    "checkout.session.async_payment_succeeded": "checkout_sessions",
    "credit_note.created": "credit_notes",
    "refund.created": "refunds",
    "refund.updated": "refunds",
    "refund.failed": "refunds",
    "charge.dispute.closed": "disputes",
}


class StripeSource:
    platform = PLATFORM

    def __init__(
        self,
        settings: StripeSettings,
        *,
        client: stripe.StripeClient | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        settings.require("backfill_from", "the Stripe source (the first sync starts there)")
        self._settings = settings
        self._api = StripeApi(
            client or build_client(settings.secret_key),
            retry or RetryPolicy(max_attempts=settings.max_attempts),
        )
        self._clock = clock
        self._purchases = PurchaseLookup(self._api)
        self._prices = PriceCatalog(self._api) if settings.price_lookup_keys else None

    # -- PurchaseSource -----------------------------------------------------------------------

    def pages(self, cursor: Mapping[str, Any] | None) -> Iterator[Page]:
        assert self._settings.backfill_from is not None
        state = load_cursor(cursor).begin(
            self._clock(), self._settings.overlap_seconds, self._settings.backfill_from
        )
        # A listing never repeats an object; the Events API may (refund.created, then
        # refund.updated), so its events are de-duplicated within the run.
        seen: set[tuple[str, str]] = set()
        while state.run is not None:
            run = state.run
            stream = run.stream
            gte, lte = run.window(stream)
            if stream == "events":
                path, params = "/v1/events", {"types": sorted(EVENT_STREAMS)}
            else:
                path, params = LISTINGS[stream]
            objects, has_more = self._api.page(
                path, {**params, "created": {"gte": gte, "lte": lte}}, run.page_after
            )
            events: list[CanonicalEvent] = []
            if stream != "events":
                for obj in objects:
                    events.extend(self._events(obj))
            else:
                for obj in objects:
                    for event in self._event_events(obj, state):
                        if (str(event.source), event.kind) not in seen:
                            seen.add((str(event.source), event.kind))
                            events.append(event)
            last_id = str(objects[-1]["id"]) if objects else None
            state = state.after_page(stream, last_id, has_more)
            yield Page(events=events, cursor=state.dump(), fetched=len(objects))

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        """Re-read objects named by webhook hints: ``type:id`` or, from older hints, a bare id."""
        refs = [parse_hint(hint) for hint in object_ids]  # refuse a bad one before any request
        events: list[CanonicalEvent] = []
        for ref in refs:
            events.extend(self._read(ref))
        return events

    def _read(self, ref: ObjectRef) -> list[CanonicalEvent]:
        """An object's events, read through the API in the pinned version."""
        if ref.type == "charge":  # a charge's refunds are listed, not embedded
            found: list[CanonicalEvent] = []
            for refund in self._api.iterate("/v1/refunds", {"charge": ref.id}):
                found.extend(self._refund(refund))
            return found
        params = {"expand": ["line_items"]} if ref.type == "checkout.session" else None
        return self._events(self._api.get(ref.path, params))

    # -- one object -> events -----------------------------------------------------------------

    def _events(self, obj: Obj) -> list[CanonicalEvent]:
        kind = obj.get("object")
        if kind == "invoice":
            return self._invoice(obj)
        if kind == "checkout.session":
            return list(self._session(obj))
        if kind == "credit_note":
            return self._credit_note(obj)
        if kind == "refund":
            return self._refund(obj)
        if kind == "dispute":
            return self._dispute(obj)
        return []

    def _event_events(self, event: Obj, state: SyncCursor) -> list[CanonicalEvent]:
        stream = EVENT_STREAMS.get(str(event.get("type")))
        obj = (event.get("data") or {}).get("object")
        if stream is None or not isinstance(obj, Mapping):
            return []
        assert state.run is not None
        gte, lte = state.run.window(stream)
        if gte <= int(obj.get("created") or 0) <= lte:
            return []  # this run's listing of the stream read the object after the event
        if event.get("api_version") != API_VERSION:
            return self._read(ObjectRef.of(obj))  # another version's shape: read ours
        return self._events(obj)

    def _invoice(self, invoice: Obj) -> list[CanonicalEvent]:
        if invoice.get("status") not in ("paid", "void"):
            return []
        if invoice.get("status") == "void":
            return invoice_events(invoice)
        path = f"/v1/invoices/{invoice['id']}/lines"
        lines: list[Json] = self._api.complete_list(invoice.get("lines"), path)
        lookups = self._prices.lookup_keys(invoice_price_ids(lines)) if self._prices else None
        return invoice_events(invoice, lines, lookups)

    def _session(self, session: Obj) -> list[CanonicalEvent]:
        if not session_is_purchase(session):
            return []
        items = self._api.complete_list(
            session.get("line_items"), f"/v1/checkout/sessions/{session['id']}/line_items"
        )
        return list(session_purchases(session, items))

    def _credit_note(self, note: Obj) -> list[CanonicalEvent]:
        if note.get("status") != "issued" or note.get("type") == "pre_payment":
            return []
        lines = self._api.complete_list(note.get("lines"), f"/v1/credit_notes/{note['id']}/lines")
        return list(credit_note_events(note, lines))

    def _refund(self, refund: Obj) -> list[CanonicalEvent]:
        status = refund.get("status")
        if status not in ("succeeded", "failed"):
            return []
        payment_intent = self._purchases.payment_intent(*payment_of(refund))
        target = self._purchases.target(payment_intent)
        if target is None or payment_intent is None:
            return []
        by_notes: set[str] = set()
        if target.object_id.startswith("in_"):
            by_notes = self._purchases.refunded_by_credit_notes(target.object_id)
            if refund["id"] in by_notes:  # the credit note that issued it is the event
                if status == "failed":
                    return [credit_note_refund_failed(refund, target, self._failed_at(refund))]
                return []
        if status == "failed":
            failed = refund_failed_event(refund, target, self._failed_at(refund))
            return [failed] if failed else []
        before = 0
        if target.net_total != target.gross_total:  # a proportional share: round cumulatively
            siblings = self._purchases.refunds_of(payment_intent)
            before = refunded_before(refund, siblings, by_notes)
        event = refund_event(refund, target, before)
        return [event] if event else []

    def _failed_at(self, refund: Obj) -> int:
        """When a refund's failure was booked: the balance transaction that reverses it.

        A refund that failed before any money moved has none; its own creation time serves.
        """
        reversal = refund.get("failure_balance_transaction")
        if isinstance(reversal, str) and reversal:
            reversal = self._api.get(f"/v1/balance_transactions/{reversal}")
        if isinstance(reversal, Mapping) and reversal.get("created"):
            return int(reversal["created"])
        return int(refund["created"])

    def _dispute(self, dispute: Obj) -> list[CanonicalEvent]:
        if dispute.get("status") not in ("lost", "won"):
            return []
        target = self._purchases.target(self._purchases.payment_intent(*payment_of(dispute)))
        event = dispute_event(dispute, target) if target else None
        return [event] if event else []


def make_source(settings: Mapping[str, Any]) -> StripeSource:
    return StripeSource(load_settings(settings))
