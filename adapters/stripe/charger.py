"""Auto-refill through Stripe: an invoice for the refill price, finalized and charged at once.

Four writes (create the invoice, add the price, finalize, pay), each with an idempotency key
derived from the refill request, so a retried or re-run refill converges on the same invoice
instead of charging twice (Stripe keeps keys for 24 hours). The paid invoice comes back through
the sync or the ``invoice.paid`` webhook as an ordinary purchase; nothing is granted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from adapters.stripe.client import StripeApi, build_client
from adapters.stripe.retry import RetryPolicy
from adapters.stripe.settings import StripeSettings, load_settings
from connector.errors import InvalidInput
from connector.platform.requests import check_refill
from connector.ports import RefillRequest


class StripeCharger:
    def __init__(
        self,
        settings: StripeSettings,
        *,
        client: stripe.StripeClient | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._settings = settings
        self._api = StripeApi(
            client or build_client(settings.secret_key),
            retry or RetryPolicy(max_attempts=settings.max_attempts),
        )

    def charge(self, request: RefillRequest) -> str:
        """Create, finalize and pay a refill invoice; return its id.

        A declined card raises StripeRequestFailed with Stripe's message; the invoice stays
        open and Stripe's own retry schedule (auto_advance) keeps trying to collect it.
        """
        price = request.item_id or self._settings.refill_price
        if not price:
            raise InvalidInput(
                "item_id", "the refill names no Stripe price", "set refill_price or map one"
            )
        check_refill(request, "Stripe", "link a cus_ id")
        price = self._price_id(price)
        metadata = {"creditsync_refill": request.key, "creditsync_account": request.account_id}
        invoice = self._api.post(
            "/v1/invoices",
            {
                "customer": request.external_customer_id,
                "collection_method": "charge_automatically",
                "auto_advance": True,
                "pending_invoice_items_behavior": "exclude",
                "metadata": metadata,
            },
            idempotency_key=f"{request.key}:invoice",
        )
        invoice_id = str(invoice["id"])
        self._api.post(
            "/v1/invoiceitems",
            {
                "customer": request.external_customer_id,
                "invoice": invoice_id,
                "pricing": {"price": price},
                "quantity": request.quantity,
                "metadata": metadata,
            },
            idempotency_key=f"{request.key}:item",
        )
        self._api.post(
            f"/v1/invoices/{invoice_id}/finalize",
            {"auto_advance": True},
            idempotency_key=f"{request.key}:finalize",
        )
        paid = self._api.post(
            f"/v1/invoices/{invoice_id}/pay",
            {"off_session": True},
            idempotency_key=f"{request.key}:pay",
        )
        return str(paid.get("id") or invoice_id)

    def _price_id(self, item: str) -> str:
        """Mappings may name a price by its lookup key; Stripe's invoice items want the id."""
        if item.startswith("price_"):
            return item
        found = self._api.get("/v1/prices", {"lookup_keys": [item], "active": True, "limit": 1})
        prices = found.get("data") or []
        if not prices:
            raise InvalidInput(
                "item_id",
                f"no active Stripe price has the lookup key {item!r}",
                "map the refill to a price id or set the lookup key on the price",
            )
        return str(prices[0]["id"])


def make_charger(settings: Mapping[str, Any]) -> StripeCharger:
    return StripeCharger(load_settings(settings))
