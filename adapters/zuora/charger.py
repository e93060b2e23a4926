"""Auto-refill through Zuora: a standalone invoice for the refill charge, paid at once.

Two writes: the invoice (``POST /v1/invoices``, posted, one item of the refill's product rate
plan charge, priced from the charge's tier in the account's currency) and its payment
(``POST /v1/payments`` with the account's default payment method, applied to the invoice).
Each carries an Idempotency-Key, but Zuora keeps those for 24 hours
only, so the invoice also gets a number derived from the refill key: a retry, however late, first
looks the invoice up by that number, and pays only what it still owes. The paid invoice comes
back through the sync or a callout as an ordinary purchase; nothing is granted here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from adapters.zuora.client import Json, ZuoraApi
from adapters.zuora.settings import ZuoraSettings, load_settings
from connector.errors import InvalidInput
from connector.platform.requests import check_refill
from connector.platform.retry import RetryPolicy
from connector.ports import RefillRequest
from connector.timeutil import utcnow

INVOICE_PREFIX = "CSR-"


def invoice_number(refill_key: str) -> str:
    """A stable invoice number for a refill (Zuora invoice numbers hold 255 characters)."""
    return INVOICE_PREFIX + hashlib.sha256(refill_key.encode()).hexdigest()[:24].upper()


class ZuoraCharger:
    def __init__(
        self,
        settings: ZuoraSettings,
        *,
        api: ZuoraApi | None = None,
        retry: RetryPolicy | None = None,
        today: Callable[[], date] = lambda: utcnow().date(),
    ) -> None:
        self._api = api or ZuoraApi(settings, retry=retry)
        self._today = today

    def charge(self, request: RefillRequest) -> str:
        """Invoice and collect one refill; return the invoice id.

        A declined payment raises ZuoraRequestFailed with Zuora's reasons; the invoice stays
        posted and unpaid, and the next attempt pays it without invoicing again.
        """
        if not request.item_id:
            raise InvalidInput("item_id", "the refill names no Zuora product rate plan charge")
        check_refill(request, "Zuora", "link the account to its Zuora account id")
        number = invoice_number(request.key)
        invoice = self._existing(number) or self._create(request, number)
        balance = Decimal(str(invoice.get("balance") or 0))
        if balance > 0:
            self._api.post(
                "/v1/payments",
                {
                    "accountId": request.external_customer_id,
                    "amount": balance,
                    "currency": invoice.get("currency"),
                    "effectiveDate": self._today().isoformat(),
                    "type": "Electronic",
                    "invoices": [{"invoiceId": invoice["id"], "amount": balance}],
                    "comment": f"creditsync refill {request.key}"[:255],
                },
                idempotency_key=f"{request.key}:payment",
            )
        return str(invoice["id"])

    def _existing(self, number: str) -> Json | None:
        found, _ = self._api.query("invoices", filters=[f"invoicenumber.EQ:{number}"])
        live = [i for i in found if i.get("status") != "Canceled"]
        return live[0] if live else None

    def _amount(self, request: RefillRequest) -> tuple[Decimal, str]:
        """The refill's price in the account's currency, from the charge's first price tier."""
        account = self._api.record("accounts", request.external_customer_id)
        currency = str((account or {}).get("currency") or "")
        if not currency:
            raise InvalidInput(
                "external_customer_id",
                f"Zuora has no account {request.external_customer_id!r} with a currency",
                "link the account to its Zuora account id",
            )
        tiers, _ = self._api.query(
            "product-rate-plan-charge-tiers",
            filters=[f"productrateplanchargeid.EQ:{request.item_id}", f"currency.EQ:{currency}"],
        )
        tiers = sorted(
            (t for t in tiers if t.get("price") is not None and t.get("active") is not False),
            key=lambda t: int(t.get("tier") or 1),
        )
        if not tiers:
            raise InvalidInput(
                "item_id",
                f"the Zuora charge {request.item_id!r} has no price in {currency}",
                "add a price in that currency to the product rate plan charge",
            )
        price = Decimal(str(tiers[0]["price"]))
        per_unit = (
            str(tiers[0].get("priceFormat") or "Per Unit").replace(" ", "").lower() == "perunit"
        )
        return (price * request.quantity if per_unit else price), currency

    def _create(self, request: RefillRequest, number: str) -> Json:
        today = self._today().isoformat()
        amount, currency = self._amount(request)
        return self._api.post(
            "/v1/invoices",
            {
                "accountId": request.external_customer_id,
                "invoiceDate": today,
                "invoiceNumber": number,
                "status": "Posted",
                "currency": currency,
                "comments": f"creditsync refill {request.key}"[:255],
                "invoiceItems": [
                    {
                        "productRatePlanChargeId": request.item_id,
                        "quantity": request.quantity,
                        "amount": amount,
                        "serviceStartDate": today,
                    }
                ],
            },
            idempotency_key=f"{request.key}:invoice",
        )


def make_charger(settings: Mapping[str, Any]) -> ZuoraCharger:
    return ZuoraCharger(load_settings(settings))
