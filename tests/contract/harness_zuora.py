"""Zuora in the contract suite: the respx stand-in of tests/zuora, seeded with paid invoices of
a mapped charge (one account each) and a refund of part of the first, read through Object
Query; callouts authenticated with basic credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import respx

import tests.zuora.zuora_payloads as p
from adapters.zuora.client import PAGE_SIZE
from adapters.zuora.settings import load_settings
from adapters.zuora.source import ZuoraSource
from connector.platform.retry import RetryPolicy
from connector.ports import PurchaseSource
from tests.contract.harness import Delivery, Harness
from tests.zuora.zuora_fake import (
    CALLOUT_PASSWORD,
    CALLOUT_USER,
    NOW,
    ZuoraFake,
    callout,
    connection_settings,
)

REMOTE = True  # reached over HTTP

TOKEN_PATH = "/oauth/token"


def _invoice_id(n: int) -> str:
    return f"8ad0inv{n:025d}"


def _account_id(n: int) -> str:
    return f"8ad0acc{n:025d}"


class ZuoraHarness:
    platform = "zuora"
    remote = REMOTE
    page_size = PAGE_SIZE

    def __init__(self, router: respx.MockRouter) -> None:
        self.fake = ZuoraFake(router)

    def connection_settings(self) -> dict[str, Any]:
        return connection_settings()

    def seed(self, purchases: int) -> None:
        for n in range(purchases):
            invoice_id = _invoice_id(n)
            paid = p.stamp(minute=n // 60, second=n % 60)
            self.fake.add(
                "invoices",
                p.invoice(
                    invoice_id,
                    items=[p.invoice_item(f"{invoice_id}-i1", invoice_id=invoice_id)],
                    account_id=_account_id(n),
                    paid_at=paid,
                    updated=paid,
                ),
            )
        application = p.refund_application("rf1-a1", amount=2500.0, invoice_id=_invoice_id(0))
        self.fake.add("refunds", p.refund("rf1", amount=2500.0, applications=[application]))

    def source(self, retry: RetryPolicy | None = None) -> PurchaseSource:
        return ZuoraSource(
            load_settings(self.connection_settings()), retry=retry, clock=lambda: NOW
        )

    def deliveries(self) -> list[Delivery]:
        return [
            callout(
                "Invoice", _invoice_id(0), "n-paid", user=CALLOUT_USER, password=CALLOUT_PASSWORD
            ),
            callout("Refund", "rf1", "n-refund", user=CALLOUT_USER, password=CALLOUT_PASSWORD),
        ]

    def forged(self) -> Delivery:
        return callout(
            "Invoice", _invoice_id(0), "n-forged", user=CALLOUT_USER, password="not-the-password"
        )

    def fail_requests(self, status: int, times: int, retry_after: float | None = None) -> None:
        wait = f"{retry_after:g}" if retry_after is not None else None
        self.fake.fail("/", status, count=times, retry_after=wait)

    def request_count(self) -> int:
        """API requests; the OAuth token exchange before the first is not one the suite counts."""
        return sum(1 for r in self.fake.requests if r.url.path != TOKEN_PATH)


def make(router: respx.MockRouter, folder: Path) -> Harness:
    return ZuoraHarness(router)
