"""Reads that connect one Stripe object to another: which purchase a payment paid, and the
lookup key of a price.

Since API version 2025-03-31 an invoice no longer names its payment intent; the link lives in
invoice payments, found with ``GET /v1/invoice_payments`` filtered by payment intent. A payment
that no invoice claims may be a Checkout Session's. Both answers never change once the payment
exists, so they are cached for the life of the source.
"""

from __future__ import annotations

import logging

from adapters.stripe.client import StripeApi
from adapters.stripe.parse import (
    Obj,
    PurchaseTarget,
    credit_note_refund_ids,
    invoice_target,
    object_id,
    session_is_purchase,
    session_target,
)

log = logging.getLogger(__name__)


class PurchaseLookup:
    """Payment intent (or charge) -> the invoice or checkout session it paid."""

    def __init__(self, api: StripeApi) -> None:
        self._api = api
        self._by_intent: dict[str, PurchaseTarget | None] = {}

    def payment_intent(self, payment_intent: str | None, charge: str | None) -> str | None:
        """The payment intent itself, or the one behind a charge (older integrations)."""
        if payment_intent is None and charge is not None:
            return object_id(self._api.get(f"/v1/charges/{charge}").get("payment_intent"))
        return payment_intent

    def target(self, payment_intent: str | None) -> PurchaseTarget | None:
        if payment_intent is None:
            return None
        if payment_intent not in self._by_intent:
            self._by_intent[payment_intent] = self._find(payment_intent)
        return self._by_intent[payment_intent]

    def _find(self, payment_intent: str) -> PurchaseTarget | None:
        payments, _ = self._api.page(
            "/v1/invoice_payments",
            {
                "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                "expand": ["data.invoice"],
            },
        )
        for payment in payments:
            invoice = payment.get("invoice")
            if payment.get("status") != "paid" or invoice is None:
                continue
            if not isinstance(invoice, dict):
                invoice = self._api.get(f"/v1/invoices/{invoice}")
            return invoice_target(invoice)
        sessions, _ = self._api.page("/v1/checkout/sessions", {"payment_intent": payment_intent})
        for session in sessions:
            if session_is_purchase(session):
                return session_target(session)
        log.debug("stripe payment %s paid no invoice or checkout purchase", payment_intent)
        return None

    def refunded_by_credit_notes(self, invoice_id: str) -> set[str]:
        """Refunds issued through the invoice's credit notes (those carry the money already).

        Not cached: a credit note can be issued at any time.
        """
        notes = self._api.iterate("/v1/credit_notes", {"invoice": invoice_id})
        return credit_note_refund_ids(notes)

    def refunds_of(self, payment_intent: str) -> list[Obj]:
        return list(self._api.iterate("/v1/refunds", {"payment_intent": payment_intent}))


class PriceCatalog:
    """Price id -> lookup key, read once per price."""

    def __init__(self, api: StripeApi) -> None:
        self._api = api
        self._keys: dict[str, str | None] = {}

    def lookup_keys(self, price_ids: set[str]) -> dict[str, str | None]:
        for price in sorted(price_ids - self._keys.keys()):
            found: Obj = self._api.get(f"/v1/prices/{price}")
            lookup = found.get("lookup_key")
            self._keys[price] = lookup if isinstance(lookup, str) and lookup else None
        return {price: self._keys[price] for price in price_ids}
