"""Stripe sync throughput: paid invoices fetched through the real SDK and parsed into Purchases.

    python -m bench.sync_stripe [--invoices N] [--per-page N] [--typed-pages N]

respx serves N paid invoices (default 100,000) in pages of 100, shaped like API version
2026-10-28.endive (the test factories' payloads, about 3 KB an invoice). The page JSON is
serialized once, as a template whose invoice ids carry the page number; each request only
substitutes that number, so the server side costs next to nothing. Printed side by side, in the
same process:

- sync: ``StripeSource.pages`` end to end (SDK request, httpx, respx, JSON, parsing, cursor);
- parse only: the same page bodies through ``json.loads`` and the parser, no SDK, no HTTP;
- typed SDK: a sample of pages through ``client.v1.invoices.list`` (StripeObject trees, then
  ``to_dict``), the alternative to ``raw_request`` the adapter avoids.

Goal: the sync parses at least 10,000 invoices/s, so that processing never lags what Stripe's
live rate limit (about 100 requests/s, 100 objects a page) lets a sync fetch.

Then the purchases are mapped and applied to a fresh database page by page through the sync
engine's apply path (accounts linked, mapping step, pools and grant entries, source events
kept), beside a raw DB-API baseline inserting the same pool rows in the same pages; goal:
>= 10,000 purchases/s applied.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import respx

from adapters.stripe.client import build_client
from adapters.stripe.parse import invoice_events
from adapters.stripe.retry import RetryPolicy
from adapters.stripe.settings import StripeSettings
from adapters.stripe.source import StripeSource
from bench.pages import TemplatedPages, per_second
from connector.events import Purchase
from tests.stripe.stripe_payloads import invoice, invoice_line, list_envelope, tax

NOW = datetime(2026, 1, 10, tzinfo=UTC)
TOKEN = "PAGE_NO"
EMPTY_LIST = b'{"object":"list","data":[],"has_more":false,"url":"/v1/x"}'


class InvoicePages(TemplatedPages):
    """N paid invoices as Stripe list pages; page p's invoices are in_p{p:05d}_{i:03d}."""

    marker = TOKEN
    digits = 5
    page_size = 100

    @staticmethod
    def template(size: int, more: bool) -> bytes:
        invoices = []
        for i in range(size):
            invoice_id = f"in_p{TOKEN}_{i:03d}"
            taxes = [tax(800, taxable_amount=10_000)] if i % 4 == 0 else []
            line = invoice_line(f"il_p{TOKEN}_{i:03d}", invoice_id=invoice_id, taxes=taxes)
            invoices.append(invoice(invoice_id, lines=[line], customer=f"cus_{i:04d}"))
        page = list_envelope(invoices, url="/v1/invoices", has_more=more)
        return json.dumps(page, separators=(",", ":")).encode()

    def page_after(self, starting_after: str | None) -> int:
        return 0 if not starting_after else int(starting_after[4:9]) + 1


def _serve(pages: InvoicePages) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("status") != "paid":
            return httpx.Response(200, content=EMPTY_LIST)
        page = pages.page_after(request.url.params.get("starting_after"))
        return httpx.Response(200, content=pages.body(page))

    return answer


def stripe_purchases(n_invoices: int, per_page: int = 100) -> Iterator[Purchase]:
    """Every Purchase a first sync of ``n_invoices`` paid invoices yields, through the SDK."""
    pages = InvoicePages(n_invoices, per_page)
    settings = StripeSettings.model_validate(
        {"api_key": "sk_test_bench", "backfill_from": "2026-01-01"}
    )
    with respx.mock(assert_all_called=False) as router:
        router.get("https://api.stripe.com/v1/invoices").mock(side_effect=_serve(pages))
        router.route(host="api.stripe.com", method="GET").mock(
            return_value=httpx.Response(200, content=EMPTY_LIST)
        )
        source = StripeSource(settings, retry=RetryPolicy(max_attempts=1), clock=lambda: NOW)
        for page in source.pages(None):
            for event in page.events:
                if isinstance(event, Purchase):
                    yield event


def parsed_purchases(n_invoices: int, per_page: int = 100) -> Iterator[Purchase]:
    """The same pages through json.loads and the parser only: the floor under the sync."""
    for body in InvoicePages(n_invoices, per_page).bodies():
        for obj in json.loads(body)["data"]:
            for event in invoice_events(obj):
                if isinstance(event, Purchase):
                    yield event


def typed_invoices(n_pages: int, per_page: int = 100) -> int:
    """Invoices read as typed StripeObjects (then plain dicts) from ``n_pages`` pages."""
    pages = InvoicePages(n_pages * per_page, per_page)
    client = build_client("sk_test_bench")
    count = 0
    with respx.mock(assert_all_called=False) as router:
        router.get("https://api.stripe.com/v1/invoices").mock(side_effect=_serve(pages))
        starting_after: str | None = None
        for _ in range(n_pages):
            params: dict[str, Any] = {"limit": 100, "status": "paid"}
            if starting_after:
                params["starting_after"] = starting_after
            listed = client.v1.invoices.list(params=params)  # type: ignore[arg-type]
            rows = [inv.to_dict() for inv in listed.data]
            count += len(rows)
            starting_after = str(rows[-1]["id"])
    return count


BENCH_MAPPING = """
[[catalog]]
platform = "stripe"
item_id = "price_credits_1000"
credits = 1_000
kind = "paid"
expiry = "P12M"
currencies = ["USD"]
"""


def apply_rates(purchases: list[Purchase], url: str | None, folder: Path) -> tuple[float, float]:
    """(creditsync apply, raw pool inserts) in purchases per second, pages of 100."""
    from bench.databases import fresh_engine, raw_connection
    from connector.settings import EXAMPLE_MAPPINGS
    from connector.sync.apply import apply_events
    from mappings.loader import load_mappings

    (folder / "bench.toml").write_text(BENCH_MAPPING)
    mappings = load_mappings([EXAMPLE_MAPPINGS, folder / "bench.toml"])
    pages = [purchases[i : i + 100] for i in range(0, len(purchases), 100)]

    engine = fresh_engine(url, folder, "apply")
    start = time.perf_counter()
    for page in pages:
        with engine.begin() as conn:
            apply_events(conn, "stripe", page, mappings)
    ours = time.perf_counter() - start
    engine.dispose()

    engine = fresh_engine(url, folder, "raw")
    raw = raw_connection(engine)
    cursor = raw.cursor()
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    columns = (
        "account_id, kind, credits_granted, credits_remaining, revenue_amount, currency, "
        "effective_at, expires_at, priority, status, source_platform, source_object, "
        "source_line, source_part, created_at"
    )
    insert_pool = f"INSERT INTO pools ({columns}) VALUES ({', '.join([mark] * 15)})"
    insert_account = f"INSERT INTO accounts (id, created_at) VALUES ({mark}, {mark})"
    sqlite = engine.dialect.name == "sqlite"
    seen: set[str] = set()
    start = time.perf_counter()
    for page in pages:
        now = datetime.now(UTC)
        stamp: Any = now.replace(tzinfo=None) if sqlite else now
        fresh_accounts = {p.customer.external_id for p in page} - seen
        seen |= fresh_accounts
        if fresh_accounts:
            cursor.executemany(insert_account, [(a, stamp) for a in sorted(fresh_accounts)])
        rows = []
        for p in page:
            at: Any = p.occurred_at.replace(tzinfo=None) if sqlite else p.occurred_at
            rows.append(
                (
                    p.customer.external_id,
                    "paid",
                    1000,
                    1000,
                    p.net_amount,
                    p.currency,
                    at,
                    at,
                    100,
                    "active",
                    "stripe",
                    p.source.object_id,
                    p.source.line_id,
                    "paid",
                    stamp,
                )
            )
        cursor.executemany(insert_pool, rows)
        raw.commit()
    baseline = time.perf_counter() - start
    raw.close()
    engine.dispose()
    return len(purchases) / ours, len(purchases) / baseline


def print_apply_rates(
    purchases: list[Purchase], database_urls: list[str] | None, *, goal: bool = True
) -> None:
    """Apply ``purchases`` into SQLite and each PostgreSQL URL; print both rates per database."""
    with tempfile.TemporaryDirectory() as folder:
        for url in [None, *(database_urls or [])]:
            ours, baseline = apply_rates(purchases, url, Path(folder))
            label = "SQLite" if url is None else "PostgreSQL"
            print(f"apply to {label}, pages of 100:")
            print(f"  creditsync apply (map + pools + entries)  {ours:>10,.0f} purchases/s")
            print(f"  raw pool inserts (baseline)                {baseline:>10,.0f} purchases/s")
            if goal:
                print(
                    f"  ratio: {ours / baseline:.0%}; goal >= 10,000/s: "
                    f"{'meets' if ours >= 10_000 else 'MISSES'}"
                )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--per-page", type=int, default=100)
    parser.add_argument("--typed-pages", type=int, default=50)
    parser.add_argument(
        "--database-url", action="append", default=None, help="also apply into PostgreSQL"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    synced = sum(1 for _ in stripe_purchases(args.invoices, args.per_page))
    sync_s = time.perf_counter() - start

    start = time.perf_counter()
    parsed = sum(1 for _ in parsed_purchases(args.invoices, args.per_page))
    parse_s = time.perf_counter() - start

    start = time.perf_counter()
    typed = typed_invoices(args.typed_pages, args.per_page)
    typed_s = time.perf_counter() - start

    assert synced == parsed == args.invoices, (synced, parsed, args.invoices)
    sync_rate = per_second(args.invoices, sync_s)
    parse_rate = per_second(args.invoices, parse_s)
    typed_rate = per_second(typed, typed_s)
    pages = -(-args.invoices // args.per_page)
    print(f"{args.invoices:,} paid invoices in {pages:,} pages of {args.per_page}")
    rows = [
        ("sync (SDK raw_request + parse)", sync_rate, sync_s),
        ("parse only (json + parser)", parse_rate, parse_s),
        (f"typed SDK objects ({typed:,} invoices)", typed_rate, typed_s),
    ]
    for label, rate, seconds in rows:
        print(f"  {label:<36} {rate:>10,.0f} invoices/s  ({seconds:.2f} s)")
    print(f"  sync / parse only:  {sync_rate / parse_rate:.2f}")
    print(f"  sync / typed SDK:   {sync_rate / typed_rate:.1f}x")
    verdict = "meets" if sync_rate >= 10_000 else "MISSES"
    print(f"  goal >= 10,000 invoices/s: {verdict}")

    print_apply_rates(list(parsed_purchases(args.invoices, args.per_page)), args.database_url)


if __name__ == "__main__":
    main()
