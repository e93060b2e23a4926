"""Zuora sync throughput: paid invoices read through Object Query and parsed into Purchases.

    python -m bench.sync_zuora [--invoices N] [--latency-ms MS ...]

respx serves N paid invoices (default 50,000) in Object Query pages of 50 (Zuora's maximum),
each expanded with its items, payment applications, account and bill-to contact, shaped like
the zuora-sdk 3.21 models (the test builders' records, about 3 KB an invoice). A page's JSON is
serialized once as a template whose ids carry the page number, so serving costs next to nothing.
Printed side by side, in the same process:

- sync: ``ZuoraSource.pages`` end to end (token, httpx, respx, Decimal JSON, parsing, cursor);
- parse only: the same page bodies through ``json.loads`` and the parser, no HTTP.

Object Query hands out one page of 50 at a time and each page needs the ``nextPage`` cursor of
the one before, so a sync is a chain of round trips: at a round trip of L seconds it reads at
most 50 / (L + processing per page) invoices a second, whatever the tenant's rate limit
(50,000 requests a minute) would allow. The bench prints that ceiling for typical round trips
beside the processing rate, to show which one bounds a sync.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import respx

from adapters.zuora.client import PAGE_SIZE, ZuoraApi
from adapters.zuora.parse import invoice_events
from adapters.zuora.settings import ZuoraSettings
from adapters.zuora.source import ZuoraSource
from bench.pages import TemplatedPages, per_second
from connector.events import Purchase
from connector.platform.retry import RetryPolicy
from tests.zuora.zuora_payloads import invoice, invoice_item, token

BASE = "https://rest.bench.zuora.com"
NOW = datetime(2026, 2, 1, tzinfo=UTC)
MARK = "PAGENO"
RATE_LIMIT_PER_MINUTE = 50_000  # Zuora's default API limit per tenant


class InvoicePages(TemplatedPages):
    """N paid invoices as Object Query pages; page p's invoices are inv{p:06d}x{i:02d}."""

    marker = MARK
    digits = 6
    page_size = PAGE_SIZE

    @staticmethod
    def template(size: int, more: bool) -> bytes:
        rows = []
        for i in range(size):
            invoice_id = f"inv{MARK}x{i:02d}"
            tax = 800.0 if i % 4 == 0 else 0.0
            item = invoice_item(f"{invoice_id}-i1", invoice_id=invoice_id, tax=tax)
            rows.append(invoice(invoice_id, items=[item], account_id=f"acct{i:04d}"))
        body: dict[str, object] = {"data": rows}
        if more:
            body["nextPage"] = f"cursor-{MARK}"
        return json.dumps(body, separators=(",", ":")).encode()


def _serve(pages: InvoicePages) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        page = int(cursor.removeprefix("cursor-")) + 1 if cursor else 0
        return httpx.Response(200, content=pages.body(page))

    return answer


def zuora_purchases(n_invoices: int) -> Iterator[Purchase]:
    """Every Purchase a first sync of ``n_invoices`` paid invoices yields."""
    pages = InvoicePages(n_invoices)
    settings = ZuoraSettings.model_validate(
        {
            "base_url": BASE,
            "client_id": "bench",
            "client_secret": "bench-secret",
            "backfill_from": "2026-01-01",
        }
    )
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{BASE}/oauth/token").mock(return_value=httpx.Response(200, json=token("t")))
        router.get(f"{BASE}/object-query/invoices").mock(side_effect=_serve(pages))
        router.route(host="rest.bench.zuora.com", method="GET").mock(
            return_value=httpx.Response(200, content=b'{"data":[]}')
        )
        api = ZuoraApi(settings, retry=RetryPolicy(max_attempts=1))
        source = ZuoraSource(settings, api=api, clock=lambda: NOW)
        for page in source.pages(None):
            for event in page.events:
                if isinstance(event, Purchase):
                    yield event


def parsed_purchases(n_invoices: int) -> Iterator[Purchase]:
    """The same pages through json.loads and the parser only: the floor under the sync."""
    for body in InvoicePages(n_invoices).bodies():
        for row in json.loads(body, parse_float=Decimal)["data"]:
            for event in invoice_events(row):
                if isinstance(event, Purchase):
                    yield event


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument(
        "--latency-ms", type=float, action="append", default=None, help="round trips to chart"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    synced = sum(1 for _ in zuora_purchases(args.invoices))
    sync_s = time.perf_counter() - start
    start = time.perf_counter()
    parsed = sum(1 for _ in parsed_purchases(args.invoices))
    parse_s = time.perf_counter() - start
    assert synced == parsed == args.invoices, (synced, parsed, args.invoices)

    pages = -(-args.invoices // PAGE_SIZE)
    sync_rate = per_second(args.invoices, sync_s)
    parse_rate = per_second(args.invoices, parse_s)
    per_page_ms = sync_s / pages * 1000
    print(f"{args.invoices:,} paid invoices in {pages:,} Object Query pages of {PAGE_SIZE}")
    rows = [
        ("sync (httpx + Decimal JSON + parse)", sync_rate, sync_s),
        ("parse only (json + parser)", parse_rate, parse_s),
    ]
    for label, rate, seconds in rows:
        print(f"  {label:<38} {rate:>10,.0f} invoices/s  ({seconds:.2f} s)")
    print(f"  sync / parse only: {sync_rate / parse_rate:.2f}")
    print(f"  processing per page of {PAGE_SIZE}: {per_page_ms:.1f} ms")
    ceiling = RATE_LIMIT_PER_MINUTE / 60 * PAGE_SIZE
    print(
        f"  tenant rate limit ({RATE_LIMIT_PER_MINUTE:,} requests/min) x {PAGE_SIZE}: "
        f"{ceiling:,.0f} invoices/s"
    )
    print("  a sync chains one page after another (each needs the previous nextPage):")
    for latency in args.latency_ms or [100.0, 250.0, 500.0]:
        bound = PAGE_SIZE / ((latency + per_page_ms) / 1000)
        share = latency / (latency + per_page_ms)
        print(
            f"    round trip {latency:>5.0f} ms -> {bound:>7,.0f} invoices/s; "
            f"{share:.0%} of the time waiting on Zuora"
        )


if __name__ == "__main__":
    main()
