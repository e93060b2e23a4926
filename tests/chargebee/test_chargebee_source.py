"""The Chargebee source against the fake site: what each object becomes, and how a sync pages,
saves its cursor and resumes."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest

import tests.chargebee.chargebee_payloads as p
from adapters.chargebee.retry import ChargebeeRequestFailed, RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings
from adapters.chargebee.source import ChargebeeSource
from connector.errors import InvalidInput
from connector.events import (
    CanonicalEvent,
    CreditNote,
    Dispute,
    DisputeOutcome,
    Purchase,
    Refund,
    RefundFailed,
    SourceKey,
    Void,
)
from tests.chargebee.chargebee_fake import NOW, FakeChargebee, failing


def sync(source: ChargebeeSource, cursor: dict[str, Any] | None = None) -> list[CanonicalEvent]:
    return [event for page in source.pages(cursor) for event in page.events]


E = TypeVar("E")


def of_kind(events: list[CanonicalEvent], kind: type[E]) -> list[E]:
    """The events of exactly ``kind``: a CreditNote is not counted among the Refunds."""
    return [e for e in events if isinstance(e, kind) and type(e) is kind]


def test_a_paid_invoice_becomes_one_purchase_per_item_price_line(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    lines = [
        p.line_item(
            "li_1",
            amount=20_000,
            quantity=2,
            discount_amount=1_500,
            tax_amount=1_480,
            item_level_discount_amount=500,
        ),
        p.line_item("li_2", item_price=None, entity_type="adhoc", amount=700),
    ]
    fake.add("invoices", p.invoice(lines=lines, address=p.billing_address()))

    [purchase] = sync(source)

    assert isinstance(purchase, Purchase)
    assert purchase.source == SourceKey(platform="chargebee", object_id="inv_1", line_id="li_1")
    assert purchase.item_id == "credits-10k-USD"
    assert (purchase.quantity, purchase.net_amount, purchase.tax_amount) == (2, 18_000, 1_480)
    assert purchase.currency == "USD"
    assert purchase.occurred_at.timestamp() == p.PAID_AT
    assert (purchase.customer.email, purchase.customer.name) == ("ada@example.com", "Ada Lovelace")
    assert fake.requests_to("/customers/cust_1") == []  # the billing address had the e-mail


def test_tax_inclusive_lines_leave_the_tax_out_of_net(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    line = p.line_item(amount=10_800, tax_amount=800, discount_amount=0)
    fake.add("invoices", p.invoice(lines=[line], price_type="tax_inclusive"))
    fake.add("customers", p.customer())

    [purchase] = sync(source)

    assert isinstance(purchase, Purchase)
    assert (purchase.net_amount, purchase.tax_amount) == (10_000, 800)


def test_zero_decimal_amounts_are_already_minor_units(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    line = p.line_item(item_price="credits-10k-JPY", amount=1_500)
    fake.add("invoices", p.invoice(lines=[line], currency="JPY"))
    fake.add("customers", p.customer())

    [purchase] = sync(source)

    assert isinstance(purchase, Purchase)
    assert (purchase.currency, purchase.net_amount) == ("JPY", 1_500)


def test_the_customer_is_read_once_when_invoices_carry_no_email(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    fake.add(
        "customers", p.customer(email="grace@example.com", first_name="Grace", last_name="Hopper")
    )
    for n in range(3):
        fake.add("invoices", p.invoice(f"inv_{n}", lines=[p.line_item(f"li_{n}")]))

    events = sync(source)
    purchases = of_kind(events, Purchase)

    assert purchases == events
    assert {e.customer.email for e in purchases} == {"grace@example.com"}
    assert purchases[0].customer.name == "Grace Hopper"
    assert len(fake.requests_to("/customers/cust_1")) == 1


def test_cut_short_line_items_are_read_to_the_end(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    lines = [p.line_item(f"li_{n}") for n in range(5)]
    invoice = p.invoice(lines=lines[:2], line_items_next_offset="2", address=p.billing_address())
    fake.add_document("invoices", invoice, lines)

    purchases = sync(source)

    assert [e.source.line_id for e in purchases] == [f"li_{n}" for n in range(5)]
    [more] = fake.requests_to("/invoices/inv_1")
    assert more.url.params["line_items_offset"] == "2"


def test_listings_ask_for_updated_at_windows_sorted_ascending_100_a_page(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    sync(source)

    [paid] = fake.list_calls("invoices")[:1]
    assert paid["status[is]"] == "paid"
    assert paid["sort_by[asc]"] == "updated_at"
    assert paid["limit"] == "100"
    backfill_from = ChargebeeSettings.model_validate({"backfill_from": "2026-01-01"}).backfill_from
    assert backfill_from is not None
    backfill = int(backfill_from.timestamp())
    assert int(paid["updated_at[after]"]) == backfill - 1
    assert int(paid["updated_at[before]"]) == int(NOW.timestamp()) + 1
    [refunds] = fake.list_calls("transactions")
    assert refunds["type[is]"] == "refund"
    [events] = fake.list_calls("events")
    assert "occurred_at[after]" in events and events["sort_by[asc]"] == "occurred_at"
    assert "'payment_succeeded'" in events["event_type[in]"]
    [disputes] = fake.list_calls("disputes")
    assert "created_at[after]" in disputes and "sort_by[asc]" not in disputes


def test_a_voided_invoice_becomes_a_void(fake: FakeChargebee, source: ChargebeeSource) -> None:
    fake.add("invoices", p.invoice(status="voided", paid_at=None, voided_at=p.PAID_AT + 60))

    [void] = sync(source)

    assert isinstance(void, Void)
    assert void.target_object == "inv_1"
    assert void.occurred_at.timestamp() == p.PAID_AT + 60


def test_credit_notes_target_the_credited_line_or_spread_over_the_invoice(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    on_line = p.line_item("cn_li_1", amount=4_000, reference_line_item_id="li_1")
    spread = p.line_item("cn_li_2", item_price=None, entity_type="adhoc", amount=1_000)
    fake.add("credit_notes", p.credit_note(lines=[on_line, spread]))
    fake.add("credit_notes", p.credit_note("cn_2", type_="adjustment", status="adjusted"))
    fake.add("credit_notes", p.credit_note("cn_store", type_="store"))
    fake.add("credit_notes", p.credit_note("cn_void", status="voided"))

    notes = of_kind(sync(source), CreditNote)

    assert [(n.source.object_id, n.target_line, n.amount) for n in notes] == [
        ("cn_1", "li_1", 4_000),
        ("cn_1", None, 1_000),
        ("cn_2", "li_1", 10_000),
    ]


def test_a_refund_through_a_credit_note_is_not_counted_twice(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    fake.add("credit_notes", p.credit_note())
    fake.add("transactions", p.transaction(linked_credit_notes=[p.linked_credit_note()]))

    events = sync(source)

    assert len(of_kind(events, CreditNote)) == 1
    assert of_kind(events, Refund) == []


def test_a_direct_refund_returns_the_net_share_of_the_invoice(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    fake.add("invoices", p.invoice(lines=[p.line_item(tax_amount=800)], updated_at=1))
    fake.add("transactions", p.payment())
    fake.add("transactions", p.transaction(amount=5_400, refunded_txn_id="txn_inv_1"))

    [refund] = of_kind(sync(source), Refund)

    assert refund.target_object == "inv_1" and refund.target_line is None
    assert refund.amount == 5_000  # 5,400 of 10,800 gross is 5,000 of 10,000 net
    assert refund.source == SourceKey(platform="chargebee", object_id="txn_r1")


def test_a_refund_failing_after_success_undoes_it_under_the_same_key(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    fake.add("invoices", p.invoice(updated_at=1))
    fake.add("transactions", p.payment())
    refund = fake.add("transactions", p.transaction(refunded_txn_id="txn_inv_1"))
    [succeeded] = of_kind(sync(source), Refund)
    refund.update(status="late_failure", updated_at=p.PAID_AT + 3 * 86_400)

    [failed] = of_kind(source.fetch_objects(["transaction:txn_r1"]), RefundFailed)

    assert failed.refund == succeeded.source
    assert failed.target_object == "inv_1"


def test_a_refund_paying_two_invoices_splits_by_what_it_applied(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    fake.add("invoices", p.invoice("inv_a", updated_at=1))
    fake.add("invoices", p.invoice("inv_b", lines=[p.line_item(amount=30_000)], updated_at=1))
    links = [p.linked_invoice("inv_a", 10_000), p.linked_invoice("inv_b", 30_000, 30_000)]
    fake.add("transactions", p.transaction(amount=40_000, linked_invoices=links))

    refunds = of_kind(sync(source), Refund)

    assert [(r.source.line_id, r.target_object, r.amount) for r in refunds] == [
        ("inv_a", "inv_a", 10_000),
        ("inv_b", "inv_b", 30_000),
    ]


def test_disputes_are_polled_and_only_closed_ones_count(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    fake.add("invoices", p.invoice(updated_at=1))
    fake.add("transactions", p.payment())
    fake.add("disputes", p.dispute())
    fake.add("disputes", p.dispute("dp_open", status="in_review"))
    fake.add("disputes", p.dispute("dp_won", status="won", amount=2_000))

    disputes = of_kind(sync(source), Dispute)

    assert [(d.source.object_id, d.outcome, d.amount) for d in disputes] == [
        ("dp_1", DisputeOutcome.LOST, 10_000),
        ("dp_won", DisputeOutcome.WON, 2_000),
    ]


def test_disputes_are_reread_over_the_lookback_window_every_run(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    cursor = [page.cursor for page in source.pages(None)][-1]
    sync(source, cursor)

    after = [int(c["created_at[after]"]) for c in fake.list_calls("disputes")]
    assert after[1] <= int(NOW.timestamp()) - 180 * 86_400


def test_pages_resume_where_a_failed_run_stopped(
    fake: FakeChargebee, settings: ChargebeeSettings, retry: RetryPolicy
) -> None:
    fake.add("customers", p.customer())
    for n in range(250):
        fake.add(
            "invoices",
            p.invoice(f"inv_{n:03d}", lines=[p.line_item(f"li_{n:03d}")], updated_at=p.PAID_AT + n),
        )
    clean = ChargebeeSource(settings, retry=retry, clock=lambda: NOW)
    everything = [str(e.source) for e in sync(clean)]

    source = ChargebeeSource(
        settings, retry=RetryPolicy(max_attempts=1, sleep=retry.sleep), clock=lambda: NOW
    )
    saved: dict[str, Any] | None = None
    fake.interceptors.append(failing(500, times=1, path="/invoices"))
    got: list[str] = []
    fake.requests.clear()
    page_calls = 0
    with pytest.raises(ChargebeeRequestFailed):
        for page in source.pages(None):
            got.extend(str(e.source) for e in page.events)
            saved = page.cursor
            page_calls += 1
    assert saved is None and got == []
    fake.interceptors[:] = [_fail_nth_list_call(2)]
    with pytest.raises(ChargebeeRequestFailed):
        for page in source.pages(None):
            got.extend(str(e.source) for e in page.events)
            saved = page.cursor
    assert saved is not None and saved["run"]["page_after"]
    fake.interceptors.clear()
    got.extend(str(e.source) for e in sync(source, saved))

    assert got == everything
    assert len(everything) == 250


def _fail_nth_list_call(n: int):  # type: ignore[no-untyped-def]
    calls = [0]

    def intercept(request, _):  # type: ignore[no-untyped-def]
        if request.url.path != "/api/v2/invoices":
            return None
        calls[0] += 1
        return failing(503, times=1)(request, 0) if calls[0] == n else None

    return intercept


def test_the_next_run_starts_an_overlap_before_the_last_one_ended(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    cursor = [page.cursor for page in source.pages(None)][-1]
    assert cursor["since"]["paid_invoices"] == int(NOW.timestamp())
    fake.requests.clear()

    sync(source, cursor)

    first = fake.list_calls("invoices")[0]
    assert int(first["updated_at[after]"]) == int(NOW.timestamp()) - 300 - 1


def test_an_event_about_an_object_outside_the_window_is_reread_by_id(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    old = p.invoice(updated_at=1, address=p.billing_address())
    fake.add("invoices", old)
    stale = {**old, "status": "payment_due"}
    fake.add("events", p.event("ev_1", "invoice_updated", {"invoice": stale}))
    fake.add("events", p.event("ev_2", "payment_succeeded", {"invoice": stale}))
    fake.add("events", p.event("ev_3", "customer_changed", {"customer": p.customer()}))

    [purchase] = sync(source)

    assert purchase.source.object_id == "inv_1"
    assert len(fake.requests_to("/invoices/inv_1")) == 1


def test_a_deleted_customer_or_invoice_does_not_stop_the_sync(
    fake: FakeChargebee, source: ChargebeeSource
) -> None:
    fake.add("invoices", p.invoice(customer_id="cust_gone", lines=[p.line_item()]))
    links = [p.linked_invoice("inv_deleted")]
    fake.add("transactions", p.transaction(linked_invoices=links))

    events = sync(source)

    [purchase] = of_kind(events, Purchase)
    assert purchase.customer.external_id == "cust_gone" and purchase.customer.email is None
    assert of_kind(events, Refund) == []


def test_fetch_objects_refuses_an_unknown_hint(source: ChargebeeSource) -> None:
    with pytest.raises(InvalidInput, match="kind:id"):
        source.fetch_objects(["inv_1"])


def test_a_stored_cursor_of_another_shape_is_refused(source: ChargebeeSource) -> None:
    with pytest.raises(InvalidInput, match="Chargebee sync cursor"):
        list(source.pages({"version": 1, "run": {"until": 1, "start": {"x": 0}, "stream": "x"}}))
