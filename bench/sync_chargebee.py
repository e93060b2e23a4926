"""Chargebee sync throughput: paid invoices fetched through the real SDK and parsed into
Purchases, beside the Stripe figures and Chargebee's rate limits.

    python -m bench.sync_chargebee [--invoices N] [--typed-pages N] [--database-url URL]

respx serves N paid invoices (default 20,000) in pages of 100, shaped like the chargebee 3.29
SDK's models (the test factories' payloads). The page JSON is serialized once, as a template
whose invoice ids carry the page number; each request only substitutes that number, so the
server side costs next to nothing. Printed side by side, in the same process:

- sync: ``ChargebeeSource.pages`` end to end (SDK request layer, a new httpx client and TLS
  context per request as the SDK makes them, respx, JSON, parsing, cursor);
- parse only: the same page bodies through ``json.loads`` and the parser, no SDK, no HTTP;
- typed SDK: a sample of pages through ``cb.Invoice.list`` (every nested model hydrated), the
  alternative the adapter avoids;
- Stripe: ``bench.sync_stripe``'s sync of the same number of invoices.

Chargebee allows 150 (Starter), 1,000 (Performance) or 3,500 (Enterprise) requests a minute per
site; at 100 invoices a page that is 250, 1,667 or 5,833 invoices/s at most. The sync must
parse faster than that so the limit, not processing, bounds a sync. Then the purchases are
applied to a fresh database page by page through the sync engine's apply path, beside raw
inserts of the same pools (``bench.sync_stripe.print_apply_rates``).
"""

from __future__ import annotations

import argparse
import json
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import respx
from chargebee import Chargebee

from adapters.chargebee.parse import customer_of, invoice_purchases
from adapters.chargebee.retry import RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings
from adapters.chargebee.source import ChargebeeSource
from bench.pages import TemplatedPages, per_second
from bench.sync_stripe import print_apply_rates, stripe_purchases
from connector.events import Purchase
from tests.chargebee.chargebee_payloads import billing_address, invoice, line_item, list_envelope

SITE = "bench"
URL = f"https://{SITE}.chargebee.com/api/v2/invoices"
NOW_TS = 1_768_003_200  # 2026-01-10
TOKEN = "PAGE_NO"
EMPTY_LIST = b'{"list":[]}'
PER_PAGE = 100
RATE_LIMITS = {"Starter": 150, "Performance": 1_000, "Enterprise": 3_500}  # requests a minute


class InvoicePages(TemplatedPages):
    """N paid invoices as Chargebee list pages; page p's invoices are inv_p{p:05d}_{i:03d}."""

    marker = TOKEN
    digits = 5
    page_size = PER_PAGE

    @staticmethod
    def template(size: int, more: bool) -> bytes:
        invoices = []
        for i in range(size):
            invoice_id = f"inv_p{TOKEN}_{i:03d}"
            tax = 800 if i % 4 == 0 else 0
            line = line_item(f"li_p{TOKEN}_{i:03d}", tax_amount=tax, customer_id=f"cust_{i:04d}")
            invoices.append(
                invoice(
                    invoice_id,
                    lines=[line],
                    customer_id=f"cust_{i:04d}",
                    address=billing_address(f"c{i}@example.com"),
                )
            )
        page = list_envelope("invoice", invoices, f"next-{TOKEN}" if more else None)
        return json.dumps(page, separators=(",", ":")).encode()


def _serve(pages: InvoicePages) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("status[is]") != "paid":
            return httpx.Response(200, content=EMPTY_LIST)
        offset = request.url.params.get("offset")
        page = int(offset.removeprefix("next-")) + 1 if offset else 0
        return httpx.Response(200, content=pages.body(page))

    return answer


def _settings() -> ChargebeeSettings:
    return ChargebeeSettings.model_validate(
        {"api_key": "test_bench", "site": SITE, "backfill_from": "2026-01-01"}
    )


def chargebee_purchases(n_invoices: int) -> Iterator[Purchase]:
    """Every Purchase a first sync of ``n_invoices`` paid invoices yields, through the SDK."""
    from datetime import UTC, datetime

    pages = InvoicePages(n_invoices)
    now = datetime.fromtimestamp(NOW_TS, UTC)
    with respx.mock(assert_all_called=False) as router:
        router.get(URL).mock(side_effect=_serve(pages))
        router.route(host=f"{SITE}.chargebee.com").mock(
            return_value=httpx.Response(200, content=EMPTY_LIST)
        )
        source = ChargebeeSource(_settings(), retry=RetryPolicy(max_attempts=1), clock=lambda: now)
        for page in source.pages(None):
            for event in page.events:
                if isinstance(event, Purchase):
                    yield event


def parsed_purchases(n_invoices: int) -> Iterator[Purchase]:
    """The same pages through json.loads and the parser only: the floor under the sync."""
    for body in InvoicePages(n_invoices).bodies():
        for entry in json.loads(body)["list"]:
            obj = entry["invoice"]
            customer = customer_of(obj["customer_id"], obj.get("billing_address"))
            yield from invoice_purchases(obj, obj["line_items"], customer)


def typed_invoices(n_pages: int) -> int:
    """Invoices read as the SDK's typed models from ``n_pages`` pages (``cb.Invoice.list``)."""
    pages = InvoicePages(n_pages * PER_PAGE)
    client = Chargebee(api_key="test_bench", site=SITE)
    count = 0
    with respx.mock(assert_all_called=False) as router:
        router.get(URL).mock(side_effect=_serve(pages))
        offset: str | None = None
        for _ in range(n_pages):
            params: dict[str, Any] = {"limit": PER_PAGE, "status": {"is": "paid"}}
            if offset:
                params["offset"] = offset
            listed = client.Invoice.list(params)
            count += sum(1 for entry in listed.list if entry.invoice.line_items)
            offset = listed.next_offset
    return count


def tls_setup_seconds(samples: int = 20) -> float:
    """What the SDK spends per request building its TLS context from the bundled CA file."""
    start = time.perf_counter()
    for _ in range(samples):
        ssl.create_default_context(cafile=Chargebee.ca_cert_path)
    return (time.perf_counter() - start) / samples


def _timed(run: Callable[[], int]) -> tuple[int, float]:
    start = time.perf_counter()
    count = run()
    return count, time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=20_000)
    parser.add_argument("--typed-pages", type=int, default=20)
    parser.add_argument(
        "--database-url", action="append", default=None, help="also apply into PostgreSQL"
    )
    args = parser.parse_args(argv)
    n = args.invoices

    synced, sync_s = _timed(lambda: sum(1 for _ in chargebee_purchases(n)))
    parsed, parse_s = _timed(lambda: sum(1 for _ in parsed_purchases(n)))
    typed, typed_s = _timed(lambda: typed_invoices(args.typed_pages))
    stripe, stripe_s = _timed(lambda: sum(1 for _ in stripe_purchases(n)))
    assert synced == parsed == stripe == n, (synced, parsed, stripe, n)

    sync_rate = per_second(n, sync_s)
    print(f"{n:,} paid invoices in {-(-n // PER_PAGE):,} pages of {PER_PAGE}")
    rows = [
        ("Chargebee sync (SDK request layer + parse)", sync_rate, sync_s),
        ("Chargebee parse only (json + parser)", per_second(n, parse_s), parse_s),
        (f"Chargebee typed SDK models ({typed:,} invoices)", per_second(typed, typed_s), typed_s),
        ("Stripe sync (bench.sync_stripe)", per_second(n, stripe_s), stripe_s),
    ]
    for label, rate, seconds in rows:
        print(f"  {label:<46} {rate:>10,.0f} invoices/s  ({seconds:.2f} s)")
    print(f"  Chargebee sync / typed SDK: {sync_rate / per_second(typed, typed_s):.1f}x")
    print(f"  Chargebee sync / Stripe sync: {sync_rate / per_second(n, stripe_s):.2f}")
    per_request = sync_s / -(-n // PER_PAGE)
    tls = tls_setup_seconds()
    print(
        f"  per page request: {per_request * 1000:.0f} ms; the SDK's TLS context from its CA "
        f"bundle, built anew for every request, costs {tls * 1000:.0f} ms (measured apart)"
    )
    parse_rate = per_second(n, parse_s)
    for plan, per_minute in RATE_LIMITS.items():
        allowed = per_minute * PER_PAGE / 60
        print(
            f"  {plan:<12} {per_minute:>5} req/min = {allowed:>6,.0f} invoices/s at most: "
            f"parsing {'keeps up' if parse_rate > allowed else 'LAGS'} "
            f"({parse_rate / allowed:.1f}x), the sync through the SDK "
            f"{'keeps up' if sync_rate > allowed else 'lags'} ({sync_rate / allowed:.1f}x)"
        )

    print_apply_rates(list(parsed_purchases(n)), args.database_url, goal=False)


if __name__ == "__main__":
    main()
