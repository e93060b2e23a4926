"""Chargebee in the contract suite: the respx stand-in of tests/chargebee, seeded with paid
invoices of a mapped item price and a credit note, reached through the SDK."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import respx

import tests.chargebee.chargebee_payloads as p
from adapters.chargebee.client import PAGE_LIMIT
from adapters.chargebee.settings import load_settings
from adapters.chargebee.source import ChargebeeSource
from connector.platform.retry import RetryPolicy
from connector.ports import PurchaseSource
from tests.chargebee.chargebee_fake import API_KEY, NOW, SITE, FakeChargebee, failing
from tests.contract.harness import Delivery, Harness

REMOTE = True  # reached over HTTP

USER, PASSWORD = "chargebee", "contract-password-1"


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


class ChargebeeHarness:
    platform = "chargebee"
    remote = REMOTE
    page_size = PAGE_LIMIT

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = FakeChargebee(router)

    def connection_settings(self) -> dict[str, Any]:
        return {
            "api_key": API_KEY,
            "site": SITE,
            "backfill_from": "2026-01-01",
            "webhook_credentials": [{"user": USER, "password": PASSWORD}],
        }

    def seed(self, purchases: int) -> None:
        for n in range(purchases):
            customer = f"cust_{n:05d}"
            self.fake.add(
                "invoices",
                p.invoice(
                    f"inv_{n:05d}",
                    lines=[p.line_item(f"li_{n:05d}", customer_id=customer)],
                    customer_id=customer,
                    address=p.billing_address(f"{customer}@example.com"),
                    updated_at=p.PAID_AT + n,
                ),
            )
        line = p.line_item("cn_li_1", amount=4_000, reference_line_item_id="li_00000")
        self.fake.add("credit_notes", p.credit_note(invoice_id="inv_00000", lines=[line]))

    def source(self, retry: RetryPolicy | None = None) -> PurchaseSource:
        settings = load_settings(self.connection_settings())
        return ChargebeeSource(settings, retry=retry, clock=lambda: NOW)

    def deliveries(self) -> list[Delivery]:
        invoice = self.fake.objects["invoices"]["inv_00000"]
        note = self.fake.objects["credit_notes"]["cn_1"]
        events = [
            p.event("ev_paid", "payment_succeeded", {"invoice": invoice}),
            p.event("ev_note", "credit_note_created", {"credit_note": note}),
        ]
        return [(_basic(USER, PASSWORD), json.dumps(e).encode()) for e in events]

    def forged(self) -> Delivery:
        event = p.event("ev_forged", "payment_succeeded", {"invoice": p.invoice("inv_forged")})
        return _basic(USER, "not-the-password"), json.dumps(event).encode()

    def fail_requests(self, status: int, times: int, retry_after: float | None = None) -> None:
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
        self.fake.interceptors.append(failing(status, times=times, headers=headers))

    def request_count(self) -> int:
        return len(self.fake.requests)


def make(router: respx.MockRouter, folder: Path) -> Harness:
    return ChargebeeHarness(router)
