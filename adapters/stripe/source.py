"""The Stripe PurchaseSource: incremental sync by created time, caught up by the Events API.

Listing an object type by ``created`` finds every new object but misses one that changed after
its window had passed (an invoice created in January and paid in February, a dispute closed
weeks after it opened). The Events API covers exactly those: it lists what happened, when it
happened. An event about an object that this run also listed (its ``created`` falls inside the
stream's window) is skipped: the listing, made after the event, already saw the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

import stripe

from adapters.stripe.client import Json, StripeApi, build_client
from adapters.stripe.cursor import SyncCursor, load_cursor
from adapters.stripe.lookups import PriceCatalog, PurchaseLookup
from adapters.stripe.parse import (
    PLATFORM,
    Obj,
    credit_note_events,
    dispute_event,
    invoice_events,
    invoice_price_ids,
    payment_of,
    refund_event,
    refunded_before,
    session_is_purchase,
    session_purchases,
)
from adapters.stripe.retry import RetryPolicy
from adapters.stripe.settings import StripeSettings, load_settings
from connector.errors import InvalidInput
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
    "charge.dispute.closed": "disputes",
}

OBJECT_PREFIXES = ("in_", "re_", "ch_", "cn_", "du_", "cs_")


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
        seen: set[str] = set()
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
                        if str(event.source) not in seen:
                            seen.add(str(event.source))
                            events.append(event)
            last_id = str(objects[-1]["id"]) if objects else None
            state = state.after_page(stream, last_id, has_more)
            yield Page(events=events, cursor=state.dump(), fetched=len(objects))

    def fetch_objects(self, object_ids: list[str]) -> list[CanonicalEvent]:
        events: list[CanonicalEvent] = []
        for object_id in object_ids:
            if not object_id.startswith(OBJECT_PREFIXES):
                raise InvalidInput(
                    "object_ids",
                    f"{object_id!r} is not a Stripe object the source reads",
                    f"give ids starting with {', '.join(OBJECT_PREFIXES)}",
                )
        for object_id in object_ids:
            if object_id.startswith("ch_"):
                for refund in self._api.iterate("/v1/refunds", {"charge": object_id}):
                    events.extend(self._refund(refund))
            elif object_id.startswith("cs_"):
                session = self._api.get(
                    f"/v1/checkout/sessions/{object_id}", {"expand": ["line_items"]}
                )
                events.extend(self._session(session))
            else:
                path = {
                    "in_": "/v1/invoices/",
                    "re_": "/v1/refunds/",
                    "cn_": "/v1/credit_notes/",
                    "du_": "/v1/disputes/",
                }[object_id[:3]]
                events.extend(self._events(self._api.get(path + object_id)))
        return events

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
        if refund.get("status") != "succeeded":
            return []
        payment_intent = self._purchases.payment_intent(*payment_of(refund))
        target = self._purchases.target(payment_intent)
        if target is None or payment_intent is None:
            return []
        by_notes: set[str] = set()
        if target.object_id.startswith("in_"):
            by_notes = self._purchases.refunded_by_credit_notes(target.object_id)
            if refund["id"] in by_notes:
                return []  # the credit note that issued this refund is the event
        before = 0
        if target.net_total != target.gross_total:  # a proportional share: round cumulatively
            siblings = self._purchases.refunds_of(payment_intent)
            before = refunded_before(refund, siblings, by_notes)
        event = refund_event(refund, target, before)
        return [event] if event else []

    def _dispute(self, dispute: Obj) -> list[CanonicalEvent]:
        if dispute.get("status") not in ("lost", "won"):
            return []
        target = self._purchases.target(self._purchases.payment_intent(*payment_of(dispute)))
        event = dispute_event(dispute, target) if target else None
        return [event] if event else []


def make_source(settings: Mapping[str, Any]) -> StripeSource:
    return StripeSource(load_settings(settings))
