"""The Stripe source against a respx-backed Stripe: every object type, paging, cursors, crashes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters.stripe.retry import RetryPolicy, StripeRequestFailed
from adapters.stripe.settings import StripeSettings
from adapters.stripe.source import StripeSource
from connector.errors import InvalidInput
from connector.events import (
    CanonicalEvent,
    CreditNote,
    Customer,
    Dispute,
    DisputeOutcome,
    Purchase,
    Refund,
    Void,
)
from connector.ports import Page, PurchaseSource
from tests.stripe.stripe_fake import NOW, FakeStripe, completed_cursor
from tests.stripe.stripe_payloads import (
    CREATED,
    PAID_AT,
    charge,
    checkout_line_item,
    checkout_session,
    credit_note,
    credit_note_line,
    customer,
    dispute,
    event,
    invoice,
    invoice_line,
    invoice_payment,
    price,
    refund,
    tax,
)

BACKFILL = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
UNTIL = int(NOW.timestamp())


def run(source: StripeSource, cursor: dict[str, Any] | None = None) -> list[Page]:
    return list(source.pages(cursor))


def events_of(pages: list[Page]) -> list[CanonicalEvent]:
    return [event for page in pages for event in page.events]


def keys(events: list[CanonicalEvent]) -> list[str]:
    return [str(event.source) for event in events]


def three_line_invoice(invoice_id: str = "in_3L") -> dict[str, Any]:
    return invoice(
        invoice_id,
        lines=[
            invoice_line(
                "il_A",
                invoice_id=invoice_id,
                price="price_big",
                amount=10_000,
                discounts=[1_000],
                taxes=[tax(900, taxable_amount=9_000)],
            ),
            invoice_line(
                "il_B",
                invoice_id=invoice_id,
                price="price_small",
                amount=5_500,
                taxes=[tax(500, behavior="inclusive", taxable_amount=5_000)],
            ),
            invoice_line(
                "il_C",
                invoice_id=invoice_id,
                price="price_pack",
                amount=3_000,
                quantity=3,
                period_start=PAID_AT,
                period_end=PAID_AT + 30 * 86_400,
                subscription="sub_1",
            ),
        ],
    )


def test_the_source_is_a_purchase_source(source: StripeSource) -> None:
    assert isinstance(source, PurchaseSource)
    assert source.platform == "stripe"


def test_a_paid_invoice_gives_one_purchase_per_line(source: StripeSource, fake: FakeStripe) -> None:
    fake.add_invoice(three_line_invoice())

    purchases = events_of(run(source))

    assert [p.source.line_id for p in purchases] == ["il_A", "il_B", "il_C"]
    a, b, c = purchases
    assert isinstance(a, Purchase) and isinstance(b, Purchase) and isinstance(c, Purchase)
    assert (a.item_id, a.net_amount, a.tax_amount, a.quantity) == ("price_big", 9_000, 900, 1)
    assert (b.item_id, b.net_amount, b.tax_amount) == ("price_small", 5_000, 500)
    assert (c.item_id, c.net_amount, c.quantity) == ("price_pack", 3_000, 3)
    assert a.customer == Customer(external_id="cus_1", email="ada@example.com", name="Ada Lovelace")
    assert a.occurred_at == datetime.fromtimestamp(PAID_AT, UTC)
    assert c.period_end == datetime.fromtimestamp(PAID_AT + 30 * 86_400, UTC)
    assert a.currency == "USD"
    assert a.source.object_id == "in_3L" and a.source.platform == "stripe"


def test_lines_that_charge_nothing_are_left_out(source: StripeSource, fake: FakeStripe) -> None:
    unpriced_free = invoice_line("il_free_text", amount=0)
    unpriced_free["pricing"] = None
    fake.add_invoice(
        invoice(
            "in_mixed",
            lines=[
                invoice_line("il_ok", invoice_id="in_mixed"),
                invoice_line("il_zero_qty", invoice_id="in_mixed", quantity=0, amount=0),
                invoice_line("il_credit", invoice_id="in_mixed", amount=-2_000),
                unpriced_free,
            ],
        )
    )

    assert [e.source.line_id for e in events_of(run(source))] == ["il_ok"]


def test_a_cut_short_line_list_is_read_to_the_end(source: StripeSource, fake: FakeStripe) -> None:
    lines = [invoice_line(f"il_{n:02d}", invoice_id="in_long") for n in range(14)]
    fake.add_invoice(invoice("in_long", lines=lines[:10], lines_has_more=True), all_lines=lines)

    purchases = events_of(run(source))

    assert sorted(p.source.line_id for p in purchases) == [f"il_{n:02d}" for n in range(14)]
    (more,) = fake.gets("/v1/invoices/in_long/lines")
    assert more.url.params["starting_after"] == "il_09"


def test_pages_follow_stripe_pagination_at_100(source: StripeSource, fake: FakeStripe) -> None:
    for n in range(250):
        fake.add_invoice(invoice(f"in_{n:04d}", created=CREATED + n))

    pages = run(source)

    invoice_pages = [p for p in pages if p.fetched and isinstance(p.events[0], Purchase)]
    assert [p.fetched for p in invoice_pages] == [100, 100, 50]
    assert len(set(keys(events_of(pages)))) == 250
    listed = fake.gets("/v1/invoices")
    paid = [r for r in listed if r.url.params.get("status") == "paid"]
    assert [r.url.params["limit"] for r in paid] == ["100"] * 3
    assert "starting_after" not in paid[0].url.params
    assert paid[1].url.params["starting_after"] == "in_0150"  # newest first: 0249..0150
    assert paid[2].url.params["starting_after"] == "in_0050"
    assert {r.url.params["created[gte]"] for r in paid} == {str(BACKFILL)}
    assert {r.url.params["created[lte]"] for r in paid} == {str(UNTIL)}


def test_a_paid_checkout_session_without_invoice_gives_purchases(
    source: StripeSource, fake: FakeStripe
) -> None:
    item = checkout_line_item(
        "li_1",
        price_id="price_credits_1000",
        lookup_key="credits_1000",
        amount_subtotal=10_000,
        amount_discount=2_000,
        amount_tax=800,
    )
    fake.add_session(checkout_session("cs_paid", amount_discount=2_000, amount_tax=800), [item])
    fake.add_session(checkout_session("cs_invoiced", invoice="in_from_cs"), [checkout_line_item()])
    fake.add_session(checkout_session("cs_async", payment_status="unpaid"), [checkout_line_item()])
    fake.add_session(checkout_session("cs_sub", mode="subscription"), [checkout_line_item()])
    guest = checkout_session("cs_guest", customer=None, email="Guest@Example.com", name=None)
    fake.add_session(guest, [checkout_line_item("li_g")])

    purchases = [e for e in events_of(run(source)) if isinstance(e, Purchase)]

    by_session = {p.source.object_id: p for p in purchases}
    assert set(by_session) == {"cs_paid", "cs_guest"}
    paid = by_session["cs_paid"]
    assert (paid.item_id, paid.item_aliases) == ("price_credits_1000", ("credits_1000",))
    assert (paid.net_amount, paid.tax_amount, paid.source.line_id) == (8_000, 800, "li_1")
    assert paid.customer.external_id == "cus_1"
    assert by_session["cs_guest"].customer.external_id == "guest:guest@example.com"
    listed = fake.gets("/v1/checkout/sessions")
    assert listed[0].url.params["expand[0]"] == "data.line_items"


def test_a_voided_invoice_gives_a_void(source: StripeSource, fake: FakeStripe) -> None:
    fake.add_invoice(invoice("in_void", status="void", paid_at=None, voided_at=PAID_AT + 60))

    (void,) = events_of(run(source))

    assert isinstance(void, Void)
    assert void.target_object == "in_void"
    assert void.occurred_at == datetime.fromtimestamp(PAID_AT + 60, UTC)


def add_paid_invoice_with_tax(
    fake: FakeStripe, invoice_id: str = "in_tax", pi: str = "pi_1"
) -> None:
    fake.add_invoice(
        invoice(invoice_id, lines=[invoice_line(invoice_id=invoice_id, taxes=[tax(1_000)])])
    )
    fake.add("/v1/invoice_payments", invoice_payment(invoice_id, payment_intent=pi, amount=11_000))


def test_a_partial_refund_targets_the_invoice_its_payment_paid(
    source: StripeSource, fake: FakeStripe
) -> None:
    add_paid_invoice_with_tax(fake)
    fake.add("/v1/refunds", refund("re_half", amount=5_500, payment_intent="pi_1"))

    refunds = [e for e in events_of(run(source)) if isinstance(e, Refund)]

    (half,) = refunds
    assert (half.target_object, half.target_line) == ("in_tax", None)
    assert half.amount == 5_000  # 5,500 paid back of 11,000 gross is half of the 10,000 net
    assert str(half.source) == "stripe:re_half:"
    (lookup,) = fake.gets("/v1/invoice_payments")
    assert lookup.url.params["payment[payment_intent]"] == "pi_1"
    assert lookup.url.params["payment[type]"] == "payment_intent"


def test_a_full_refund_returns_the_whole_net_amount(source: StripeSource, fake: FakeStripe) -> None:
    add_paid_invoice_with_tax(fake)
    fake.add("/v1/refunds", refund("re_full", amount=11_000))

    (full,) = [e for e in events_of(run(source)) if isinstance(e, Refund)]

    assert full.amount == 10_000


def test_a_refund_known_only_by_its_charge_is_traced_to_the_invoice(
    source: StripeSource, fake: FakeStripe
) -> None:
    add_paid_invoice_with_tax(fake, pi="pi_legacy")
    fake.put("/v1/charges/ch_legacy", charge("ch_legacy", payment_intent="pi_legacy"))
    fake.add("/v1/refunds", refund("re_ch", amount=11_000, payment_intent=None, charge="ch_legacy"))

    (traced,) = [e for e in events_of(run(source)) if isinstance(e, Refund)]

    assert traced.target_object == "in_tax"


def test_refunds_that_are_not_ours_or_not_done_give_nothing(
    source: StripeSource, fake: FakeStripe
) -> None:
    add_paid_invoice_with_tax(fake)
    fake.add("/v1/refunds", refund("re_pending", status="pending"))
    fake.add("/v1/refunds", refund("re_canceled", status="canceled"))
    fake.add("/v1/refunds", refund("re_other", payment_intent="pi_unrelated"))
    fake.add(
        "/v1/refunds", refund("re_other_failed", payment_intent="pi_unrelated", status="failed")
    )

    assert [e for e in events_of(run(source)) if not isinstance(e, Purchase)] == []


def test_a_refund_of_a_checkout_payment_targets_the_session(
    source: StripeSource, fake: FakeStripe
) -> None:
    fake.add_session(checkout_session("cs_paid", payment_intent="pi_cs"), [checkout_line_item()])
    fake.add("/v1/refunds", refund("re_cs", amount=2_500, payment_intent="pi_cs"))

    (refunded,) = [e for e in events_of(run(source)) if isinstance(e, Refund)]

    assert (refunded.target_object, refunded.amount) == ("cs_paid", 2_500)


def test_a_credit_note_on_one_line_among_several_targets_that_line(
    source: StripeSource, fake: FakeStripe
) -> None:
    fake.add_invoice(three_line_invoice())
    fake.add("/v1/invoice_payments", invoice_payment("in_3L", payment_intent="pi_3L"))
    note = credit_note(
        "cn_B",
        invoice_id="in_3L",
        refunds=["re_by_note"],
        lines=[
            credit_note_line(
                "cnli_B",
                invoice_line_item="il_B",
                amount=2_750,
                taxes=[tax(250, behavior="inclusive")],
            ),
            credit_note_line("cnli_goodwill", invoice_line_item=None, amount=400),
        ],
    )
    fake.add_credit_note(note)
    # the refund the credit note issued: the credit note already carries this money
    fake.add("/v1/refunds", refund("re_by_note", amount=2_900, payment_intent="pi_3L"))

    events = events_of(run(source))

    notes = [e for e in events if isinstance(e, CreditNote)]
    assert [(n.source.line_id, n.target_object, n.target_line, n.amount) for n in notes] == [
        ("cnli_B", "in_3L", "il_B", 2_500),
        ("cnli_goodwill", "in_3L", None, 400),
    ]
    assert [e for e in events if type(e) is Refund] == []
    assert len([e for e in events if isinstance(e, Purchase)]) == 3


def test_pre_payment_and_void_credit_notes_give_nothing(
    source: StripeSource, fake: FakeStripe
) -> None:
    fake.add_credit_note(credit_note("cn_pre", type_="pre_payment"))
    fake.add_credit_note(credit_note("cn_void", status="void"))

    assert events_of(run(source)) == []


def test_a_mixed_credit_note_counts_only_its_post_payment_share(
    source: StripeSource, fake: FakeStripe
) -> None:
    note = credit_note("cn_mixed", type_="mixed", lines=[credit_note_line(amount=3_000)])
    note["pre_payment_amount"], note["post_payment_amount"] = 1_000, 2_000
    fake.add_credit_note(note)

    (credit,) = events_of(run(source))

    assert isinstance(credit, CreditNote) and credit.amount == 2_000


def test_disputes_lost_and_won_are_reported_open_ones_are_not(
    source: StripeSource, fake: FakeStripe
) -> None:
    add_paid_invoice_with_tax(fake)
    fake.add("/v1/disputes", dispute("du_lost", status="lost", amount=11_000))
    fake.add("/v1/disputes", dispute("du_won", status="won", amount=11_000))
    fake.add("/v1/disputes", dispute("du_open", status="needs_response", amount=11_000))

    disputes = {e.source.object_id: e for e in events_of(run(source)) if isinstance(e, Dispute)}

    assert set(disputes) == {"du_lost", "du_won"}
    assert disputes["du_lost"].outcome is DisputeOutcome.LOST
    assert disputes["du_won"].outcome is DisputeOutcome.WON
    assert disputes["du_lost"].target_object == "in_tax"
    assert disputes["du_lost"].amount == 10_000
    assert len(fake.gets("/v1/invoice_payments")) == 1  # one lookup per payment, cached


def test_a_later_run_starts_each_stream_an_overlap_before_its_cursor(
    source: StripeSource, fake: FakeStripe
) -> None:
    since = UNTIL - 3_600
    pages = run(source, completed_cursor(since))

    starts = {
        r.url.path + str(r.url.params.get("status", "")): r.url.params["created[gte]"]
        for r in fake.requests
    }
    assert set(starts.values()) == {str(since - 300)}
    assert len(starts) == 7  # six listings and the Events API
    assert pages[-1].cursor == completed_cursor(UNTIL)


def test_events_catch_up_objects_that_changed_after_their_window(
    source: StripeSource, fake: FakeStripe
) -> None:
    since = UNTIL - 3_600
    old = invoice("in_old", created=since - 40 * 86_400, paid_at=UNTIL - 100)
    recent = invoice("in_recent", created=UNTIL - 600, paid_at=UNTIL - 500)
    fake.add_invoice(old)
    fake.add_invoice(recent)
    fake.add("/v1/events", event("evt_old", "invoice.paid", old, created=UNTIL - 100))
    fake.add("/v1/events", event("evt_recent", "invoice.paid", recent, created=UNTIL - 500))
    fake.add("/v1/events", event("evt_other", "customer.created", customer("cus_9")))

    found = keys(events_of(run(source, completed_cursor(since))))

    assert sorted(found) == ["stripe:in_old:il_1", "stripe:in_recent:il_1"]
    (listed_events,) = fake.gets("/v1/events")
    types = {v for k, v in listed_events.url.params.multi_items() if k.startswith("types[")}
    assert {"invoice.paid", "refund.created", "charge.dispute.closed"} <= types


def test_a_dispute_closed_long_after_it_opened_is_caught_by_events(
    source: StripeSource, fake: FakeStripe
) -> None:
    since = UNTIL - 3_600
    add_paid_invoice_with_tax(fake)
    closed = dispute("du_old", status="lost", amount=11_000, created=since - 20 * 86_400)
    fake.add("/v1/disputes", closed)
    fake.add("/v1/events", event("evt_du", "charge.dispute.closed", closed, created=UNTIL - 60))

    (lost,) = events_of(run(source, completed_cursor(since)))

    assert isinstance(lost, Dispute) and lost.outcome is DisputeOutcome.LOST


def test_a_crash_on_page_3_resumes_from_the_saved_cursor_without_duplicates(
    source: StripeSource, fake: FakeStripe
) -> None:
    for n in range(250):
        fake.add_invoice(invoice(f"in_{n:04d}", created=CREATED + n))
    applied: list[str] = []
    saved: dict[str, Any] | None = None

    with pytest.raises(RuntimeError):
        for number, page in enumerate(source.pages(saved), start=1):
            if number == 3:
                raise RuntimeError("the process died while applying page 3")
            applied.extend(keys(page.events))
            saved = page.cursor

    assert len(applied) == 200
    requests_before = len(fake.requests)
    for page in source.pages(saved):
        applied.extend(keys(page.events))
        saved = page.cursor

    assert len(applied) == len(set(applied)) == 250
    resumed = fake.requests[requests_before]
    assert resumed.url.params["starting_after"] == "in_0050"
    assert saved == completed_cursor(UNTIL)


def test_stripe_failing_on_page_3_stops_the_run_and_a_rerun_finishes_it(
    fake: FakeStripe, settings: StripeSettings, sleeps: list[float]
) -> None:
    for n in range(250):
        fake.add_invoice(invoice(f"in_{n:04d}", created=CREATED + n))
    outage = {"on": True}

    def unavailable(request: httpx.Request, _: int) -> httpx.Response | None:
        if outage["on"] and request.url.params.get("starting_after") == "in_0050":
            return httpx.Response(
                503, json={"error": {"type": "api_error", "message": "Service unavailable."}}
            )
        return None

    fake.interceptors.append(unavailable)
    retry = RetryPolicy(max_attempts=3, sleep=sleeps.append)
    source = StripeSource(settings, retry=retry, clock=lambda: NOW)
    applied: list[str] = []
    saved: dict[str, Any] | None = None
    with pytest.raises(StripeRequestFailed, match="after 3 attempts"):
        for page in source.pages(saved):
            applied.extend(keys(page.events))
            saved = page.cursor

    outage["on"] = False
    later = StripeSource(settings, retry=retry, clock=lambda: NOW.replace(hour=5))
    for page in later.pages(saved):
        applied.extend(keys(page.events))

    assert len(applied) == len(set(applied)) == 250


def test_fetch_objects_rereads_each_kind_by_id(source: StripeSource, fake: FakeStripe) -> None:
    add_paid_invoice_with_tax(fake)
    fake.add("/v1/refunds", refund("re_1", amount=11_000))
    fake.add("/v1/disputes", dispute("du_1", status="lost", amount=11_000))
    fake.add_credit_note(credit_note("cn_1", invoice_id="in_tax"))
    fake.add_session(checkout_session("cs_1"), [checkout_line_item("li_1")])

    events = source.fetch_objects(["in_tax", "re_1", "ch_1", "cn_1", "du_1", "cs_1"])

    assert keys(events) == [
        "stripe:in_tax:il_1",
        "stripe:re_1:",
        "stripe:re_1:",  # the same refund again, through its charge: dedup is downstream
        "stripe:cn_1:cnli_1",
        "stripe:du_1:",
        "stripe:cs_1:li_1",
    ]
    (by_charge,) = [r for r in fake.gets("/v1/refunds") if "charge" in r.url.params]
    assert by_charge.url.params["charge"] == "ch_1"


def test_fetch_objects_refuses_ids_it_cannot_read(source: StripeSource, fake: FakeStripe) -> None:
    with pytest.raises(InvalidInput, match="object_ids") as refused:
        source.fetch_objects(["in_1", "sub_123"])
    assert "sub_123" in str(refused.value)
    assert fake.requests == []


def test_price_lookup_keys_are_read_once_per_price(
    fake: FakeStripe, settings: StripeSettings, retry: RetryPolicy
) -> None:
    with_keys = settings.model_copy(update={"price_lookup_keys": True})
    source = StripeSource(with_keys, retry=retry, clock=lambda: NOW)
    fake.put("/v1/prices/price_credits_1000", price(lookup_key="credits_1000"))
    for n in range(3):
        fake.add_invoice(invoice(f"in_k{n}"))

    purchases = events_of(run(source))

    assert {p.item_aliases for p in purchases if isinstance(p, Purchase)} == {("credits_1000",)}
    assert len(fake.gets("/v1/prices/price_credits_1000")) == 1


def test_a_cursor_that_is_not_ours_is_refused(source: StripeSource, fake: FakeStripe) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        next(source.pages({"offset": "abc"}))
    assert fake.requests == []


def test_partial_refunds_of_a_taxed_invoice_add_up_to_its_net_exactly(
    source: StripeSource, fake: FakeStripe
) -> None:
    line = invoice_line(invoice_id="in_t", amount=1_000, taxes=[tax(100)])
    fake.add_invoice(invoice("in_t", lines=[line]))
    fake.add("/v1/invoice_payments", invoice_payment("in_t", payment_intent="pi_t", amount=1_100))
    for n, amount in enumerate([367, 367, 366]):
        fake.add(
            "/v1/refunds",
            refund(f"re_t{n}", amount=amount, payment_intent="pi_t", created=PAID_AT + n),
        )

    refunds = [e for e in events_of(run(source)) if type(e) is Refund]

    assert sorted(r.amount for r in refunds) == [333, 333, 334]
    assert sum(r.amount for r in refunds) == 1_000


def test_refunds_of_an_untaxed_purchase_need_no_history(
    source: StripeSource, fake: FakeStripe
) -> None:
    fake.add_invoice(invoice("in_u"))
    fake.add("/v1/invoice_payments", invoice_payment("in_u", payment_intent="pi_u"))
    fake.add("/v1/refunds", refund("re_u", amount=4_000, payment_intent="pi_u"))

    (only,) = [e for e in events_of(run(source)) if type(e) is Refund]

    assert only.amount == 4_000
    assert [r for r in fake.gets("/v1/refunds") if "payment_intent" in r.url.params] == []
