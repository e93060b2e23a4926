"""Auto-refill through Chargebee: a one-off invoice for the refill charge item price, charged
at once to the customer's primary payment source.

``create_for_charge_items_and_charges`` with ``payment_initiator=merchant`` (an off-session
charge) and Chargebee's idempotency key. That key lives 30 minutes only, so the invoice also
carries the refill's mark as its PO number, and every attempt first looks for an invoice of
the customer with that PO number among those dated within ``refill_lookback_days``: a retry
hours later returns the invoice the first attempt created instead of charging twice. The paid
invoice comes back through the sync or a webhook as an ordinary purchase; nothing is granted
here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from chargebee import Chargebee

from adapters.chargebee.client import api_for
from adapters.chargebee.marks import LINK_FIX, mark
from adapters.chargebee.retry import RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings, load_settings
from connector.errors import InvalidInput
from connector.platform.paging import first_item
from connector.platform.requests import check_refill
from connector.ports import RefillRequest
from connector.timeutil import utcnow

DAY = 86_400


class ChargebeeCharger:
    def __init__(
        self,
        settings: ChargebeeSettings,
        *,
        client: Chargebee | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._settings = settings
        self._api = api_for(settings, client, retry)
        self._clock = clock
        self._currencies: dict[str, str] = {}

    def charge(self, request: RefillRequest) -> str:
        """Create and charge a refill invoice (or find the one a first attempt made); its id.

        A declined payment raises ChargebeeRequestFailed with Chargebee's message.
        """
        item_price = request.item_id or self._settings.refill_item_price
        if not item_price:
            raise InvalidInput(
                "item_id",
                "the refill names no Chargebee item price",
                "set refill_item_price or map the refill to a charge item price",
            )
        check_refill(request, "Chargebee", LINK_FIX)
        customer_id = request.external_customer_id
        marker = mark("refill", request.key)
        existing = self._created_before(customer_id, marker)
        if existing is not None:
            return existing
        customer = self._api.retrieve("customers", customer_id)
        payment_source = customer.get("primary_payment_source_id")
        if not payment_source:
            raise InvalidInput(
                "external_customer_id",
                f"Chargebee customer {customer_id} has no primary payment source to charge",
                "add a card or direct debit as the customer's primary payment source",
            )
        params: dict[str, Any] = {
            "customer_id": customer_id,
            "currency_code": self._currency(item_price),
            "item_prices": [{"item_price_id": item_price, "quantity": request.quantity}],
            "payment_source_id": payment_source,
            "payment_initiator": "merchant",
            "auto_collection": "on",
            "po_number": marker,
        }
        invoices = self._api.sdk.Invoice
        created = self._api.post(
            "/invoices/create_for_charge_items_and_charges",
            lambda headers: invoices.create_for_charge_items_and_charges(params, headers),
            idempotency_key=marker,
        )
        return str(created.invoice.id)

    def _created_before(self, customer_id: str, marker: str) -> str | None:
        """The id of the customer's recent invoice marked with ``marker``, if one exists."""
        since = int(self._clock().timestamp()) - self._settings.refill_lookback_days * DAY
        params = {
            "customer_id": {"is": customer_id},
            "date": {"after": since},
            "sort_by": {"desc": "date"},
        }
        found = first_item(
            self._api.pages_of("invoices", params), lambda i: i.get("po_number") == marker
        )
        return None if found is None else str(found["id"])

    def _currency(self, item_price: str) -> str:
        """The currency of an item price (Chargebee wants it on multi-currency sites), one of
        the connection's ``currencies`` when those are set."""
        if item_price not in self._currencies:
            found = self._api.retrieve("item_prices", item_price)
            self._currencies[item_price] = str(found["currency_code"])
        currency = self._currencies[item_price]
        allowed = self._settings.currencies
        if allowed and currency not in allowed:
            raise InvalidInput(
                "item_id",
                f"the refill item price {item_price} is in {currency}, not in {', '.join(allowed)}",
                "map the refill to an item price in one of the connection's currencies",
            )
        return currency


def make_charger(settings: Mapping[str, Any]) -> ChargebeeCharger:
    return ChargebeeCharger(load_settings(settings))
