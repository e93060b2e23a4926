"""Stripe in the contract suite: the respx stand-in of tests/stripe, seeded with paid invoices
of a mapped price and a refund, reached through the SDK."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import respx

import tests.stripe.stripe_payloads as p
from adapters.stripe.client import PAGE_LIMIT
from adapters.stripe.settings import load_settings
from adapters.stripe.source import StripeSource
from connector.platform.retry import RetryPolicy
from connector.ports import PurchaseSource
from tests.contract.harness import Delivery, Harness
from tests.stripe.stripe_fake import API_KEY, NOW, FakeStripe

REMOTE = True  # reached over HTTP

SECRET = "whsec_contract_0123456789"
PRICE = "price_1QpX7rLkd8Hs2mFa0bN7Tq4e"  # mapped in mappings/examples/stripe.toml


def _signed(payload: dict[str, Any], secret: str = SECRET) -> Delivery:
    body = p.dumps(payload)
    return {"Stripe-Signature": p.sign(body, secret, int(time.time()))}, body


class StripeHarness:
    platform = "stripe"
    remote = REMOTE
    page_size = PAGE_LIMIT

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeStripe(router)

    def connection_settings(self) -> dict[str, Any]:
        return {"api_key": API_KEY, "backfill_from": "2026-01-01", "webhook_secrets": [SECRET]}

    def seed(self, purchases: int) -> None:
        for n in range(purchases):
            invoice_id = f"in_{n:05d}"
            line = p.invoice_line(f"il_{n:05d}", invoice_id=invoice_id, price=PRICE)
            invoice = p.invoice(
                invoice_id, lines=[line], customer=f"cus_{n:05d}", created=p.CREATED + n
            )
            self.fake.add_invoice(invoice)
            self.fake.add(
                "/v1/invoice_payments",
                p.invoice_payment(invoice_id, payment_intent=f"pi_{n:05d}"),
            )
        self.fake.add("/v1/refunds", p.refund("re_1", amount=4_000, payment_intent="pi_00000"))

    def source(self, retry: RetryPolicy | None = None) -> PurchaseSource:
        settings = load_settings(self.connection_settings())
        return StripeSource(settings, retry=retry, clock=lambda: NOW)

    def deliveries(self) -> list[Delivery]:
        invoice = self.fake.objects["/v1/invoices/in_00000"]
        refund = self.fake.objects["/v1/refunds/re_1"]
        return [
            _signed(p.event("evt_paid", "invoice.paid", invoice)),
            _signed(p.event("evt_refund", "refund.created", refund)),
        ]

    def forged(self) -> Delivery:
        invoice = p.invoice("in_forged", lines=[p.invoice_line(invoice_id="in_forged")])
        return _signed(p.event("evt_forged", "invoice.paid", invoice), "whsec_someone_else")

    def fail_requests(self, status: int, times: int, retry_after: float | None = None) -> None:
        left = [times]
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        kind = "rate_limit_error" if status == 429 else "api_error"

        def intercept(request: httpx.Request, _: int) -> httpx.Response | None:
            if left[0] <= 0:
                return None
            left[0] -= 1
            body = p.error_body("Try again later", type_=kind)
            return httpx.Response(status, json=body, headers=headers)

        self.fake.interceptors.append(intercept)

    def request_count(self) -> int:
        return len(self.fake.requests)


def make(router: respx.MockRouter, folder: Path) -> Harness:
    return StripeHarness(router)
