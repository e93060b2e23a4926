"""The Zuora source against the stand-in: every record kind, paging, cursors, crashes, retries.

The contract checks (idempotent pages, resume after a failure at any page, bounded retries on
429/5xx) are here for Zuora until the shared contract suite runs it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.zuora.client import ZuoraApi, ZuoraRequestFailed
from adapters.zuora.source import ZuoraSource
from connector.errors import InvalidInput
from connector.events import (
    CanonicalEvent,
    CreditNote,
    Customer,
    Purchase,
    Refund,
    RefundFailed,
    Void,
)
from connector.platform.retry import RetryPolicy
from connector.ports import Page, PurchaseSource
from tests.platform_support import Sleeps
from tests.zuora.test_zuora_payload_shapes import conversation_problems
from tests.zuora.zuora_fake import NOW, ZuoraFake
from tests.zuora.zuora_payloads import (
    ACCOUNT,
    CHARGE,
    DISCOUNT_CHARGE,
    credit_memo,
    credit_memo_application,
    credit_memo_item,
    invoice,
    invoice_item,
    payment,
    payment_application,
    refund,
    refund_application,
    stamp,
)


def run(source: ZuoraSource, cursor: dict[str, Any] | None = None) -> list[Page]:
    return list(source.pages(cursor))


def events_of(pages: list[Page]) -> list[CanonicalEvent]:
    return [event for page in pages for event in page.events]


def keys(events: list[CanonicalEvent]) -> list[str]:
    return [str(event.source) for event in events]


def discounted_taxed_invoice(invoice_id: str = "inv1") -> dict[str, Any]:
    return invoice(
        invoice_id,
        items=[
            invoice_item(f"{invoice_id}-i1", invoice_id=invoice_id, amount=10000.0, tax=800.0),
            invoice_item(
                f"{invoice_id}-d1",
                invoice_id=invoice_id,
                charge=DISCOUNT_CHARGE,
                amount=-1000.0,
                tax=-80.0,
                processing_type="Discount",
                applied_to=f"{invoice_id}-i1",
            ),
            invoice_item(
                f"{invoice_id}-i2",
                invoice_id=invoice_id,
                amount=450.0,
                tax=50.0,
                quantity=3,
                tax_mode="TaxInclusive",
            ),
        ],
    )


def test_the_source_is_a_purchase_source(source: ZuoraSource) -> None:
    assert isinstance(source, PurchaseSource)
    assert source.platform == "zuora"


def test_a_paid_invoice_gives_one_purchase_per_charge_item(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add("invoices", discounted_taxed_invoice())

    purchases = events_of(run(source))

    assert [p.source.line_id for p in purchases] == ["inv1-i1", "inv1-i2"]
    first, second = purchases
    assert isinstance(first, Purchase) and isinstance(second, Purchase)
    # the discount item is folded into the item it discounts; tax is never revenue
    assert (first.item_id, first.net_amount, first.tax_amount, first.quantity) == (
        CHARGE,
        900000,
        72000,
        1,
    )
    # a tax-inclusive charge: chargeAmount already excludes the tax
    assert (second.net_amount, second.tax_amount, second.quantity) == (45000, 5000, 3)
    assert first.customer == Customer(
        external_id=ACCOUNT, email="ada@example.com", name="Analytical Engines Ltd"
    )
    assert first.occurred_at == datetime(2026, 1, 5, 10, tzinfo=UTC)  # when the payment applied
    assert first.period_end == datetime(2027, 1, 4, tzinfo=UTC)
    assert first.currency == "USD" and first.item_aliases == ("C-00000107",)


def test_paid_at_is_the_last_application_that_settled_it(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add(
        "invoices",
        invoice(
            "inv1",
            applications=[payment_application("inv1", 6000.0, stamp(6))],
            memo_applications=[credit_memo_application("inv1", "cm-other", 4000.0, stamp(9, 14))],
        ),
    )

    (purchase,) = events_of(run(source))

    assert purchase.occurred_at == datetime(2026, 1, 9, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"balance": 2500.0},  # partly paid
        {"status": "Draft"},
        {"status": "Posted", "reversed": True},
    ],
    ids=["balance-left", "draft", "reversed"],
)
def test_invoices_that_are_not_paid_give_no_purchase(
    source: ZuoraSource, fake: ZuoraFake, changes: dict[str, Any]
) -> None:
    fake.add("invoices", {**invoice("inv1"), **changes})

    assert not [e for e in events_of(run(source)) if isinstance(e, Purchase)]


def test_cancelled_posted_and_reversed_invoices_give_a_void(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add("invoices", invoice("inv1", status="Canceled", updated=stamp(12)))
    fake.add("invoices", invoice("inv2", reversed=True, updated=stamp(13)))
    draft = invoice("inv3", status="Canceled", balance=None, paid_at=None, updated=stamp(14))
    fake.add("invoices", {k: v for k, v in draft.items() if k != "postedDate"})

    voids = events_of(run(source))

    assert [(type(e), e.source.object_id) for e in voids] == [(Void, "inv1"), (Void, "inv2")]
    assert voids[0].occurred_at == datetime(2026, 1, 12, 10, tzinfo=UTC)


def test_items_without_a_charge_or_whole_quantity_are_left_out(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add(
        "invoices",
        invoice(
            "inv1",
            items=[
                invoice_item("inv1-i1"),
                invoice_item("inv1-i2", charge=None),
                invoice_item("inv1-i3", quantity=1.5),
            ],
        ),
    )

    assert [e.source.line_id for e in events_of(run(source))] == ["inv1-i1"]


def test_a_credit_memo_gives_a_credit_note_per_item_on_its_invoice_item(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add("invoices", invoice("inv1", updated=stamp(5)))
    fake.add(
        "credit-memos",
        credit_memo(
            "cm1",
            items=[
                credit_memo_item("cm1-i1", amount=2500.0, tax=200.0),
                credit_memo_item("cm1-i2", invoice_item_id=None, amount=100.0),
            ],
        ),
    )

    notes = [e for e in events_of(run(source)) if isinstance(e, CreditNote)]

    assert [(n.source.line_id, n.target_object, n.target_line, n.amount) for n in notes] == [
        ("cm1-i1", "inv1", "inv1-i1", 250000),  # net of tax
        ("cm1-i2", "inv1", None, 10000),  # no invoice item: spread over the invoice
    ]
    assert notes[0].occurred_at == datetime(2026, 1, 20, 10, tzinfo=UTC)


def test_a_memo_posted_before_its_invoice_was_paid_is_read_with_the_invoice(
    source: ZuoraSource, fake: ZuoraFake, settings: Any
) -> None:
    """The memo's own window passed while the invoice was unpaid; the paid invoice brings it."""
    fake.add("credit-memos", credit_memo("cm1", updated=stamp(3)))
    fake.add("invoices", invoice("inv1", balance=None, paid_at=None, updated=stamp(3)))
    first = run(source)
    assert events_of(first) == []

    fake.update(
        "invoices", "inv1", balance=0.0, creditMemoAmount=2500.0, updatedDate=stamp(10, month=2)
    )
    fake.records["invoices"]["inv1"]["paymentApplications"] = [
        payment_application("inv1", 7500.0, stamp(10, month=2))
    ]
    later = ZuoraSource(
        settings, api=ZuoraApi(settings), clock=lambda: datetime(2026, 3, 1, tzinfo=UTC)
    )
    found = events_of(run(later, first[-1].cursor))

    assert sorted(type(e).__name__ for e in found) == ["CreditNote", "Purchase"]


def test_a_memo_against_an_unpaid_invoice_gives_nothing(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add("invoices", invoice("inv1", balance=None, paid_at=None))
    fake.add("credit-memos", credit_memo("cm1"))
    fake.add("credit-memos", credit_memo("cm2", status="Draft"))

    assert events_of(run(source)) == []


def test_a_payment_refund_returns_the_invoices_revenue_share(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add("invoices", discounted_taxed_invoice())  # gross 9720 + 500, net 9000 + 450
    fake.add("refunds", refund("rf1", amount=1022.0))

    (found,) = [e for e in events_of(run(source)) if isinstance(e, Refund)]

    assert (found.target_object, found.target_line) == ("inv1", None)
    assert found.amount == 94500  # 1022.00 x 9450 / 10220, exactly
    assert str(found.source) == "zuora:rf1:rf1-a1"


def test_a_refund_of_a_credit_memo_is_not_counted_twice(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add("invoices", invoice("inv1"))
    fake.add("credit-memos", credit_memo("cm1"))
    memo_refund = refund(
        "rf2",
        amount=2500.0,
        applications=[
            refund_application(
                "rf2-a1",
                refund_id="rf2",
                amount=2500.0,
                payment_id=None,
                invoice_id=None,
                memo_id="cm1",
            )
        ],
    )
    fake.add("refunds", memo_refund)

    found = events_of(run(source))

    assert [type(e).__name__ for e in found] == ["Purchase", "CreditNote"]


def test_a_refund_without_invoice_finds_it_through_the_payment(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    fake.add("invoices", invoice("inv1"))
    fake.add("invoices", invoice("inv2"))
    fake.add(
        "payments",
        payment(
            "pay1",
            applications=[
                payment_application("inv1", 10000.0),
                payment_application("inv2", 10000.0),
            ],
        ),
    )
    fake.add(
        "refunds",
        refund(
            "rf1",
            amount=1001.0,
            applications=[refund_application("rf1-a1", amount=1001.0, invoice_id=None)],
        ),
    )

    refunds = [e for e in events_of(run(source)) if isinstance(e, Refund)]

    assert [(r.target_object, r.amount) for r in refunds] == [("inv1", 50050), ("inv2", 50050)]
    assert len({str(r.source) for r in refunds}) == 2


def test_a_refund_cancelled_later_gives_refund_failed(source: ZuoraSource, fake: ZuoraFake) -> None:
    fake.add("invoices", invoice("inv1"))
    fake.add("refunds", refund("rf1", status="Canceled", cancelled_on=stamp(27), updated=stamp(27)))
    fake.add("refunds", refund("rf3", status="Processing"))

    failed = [e for e in events_of(run(source)) if not isinstance(e, Purchase)]

    assert len(failed) == 1 and isinstance(failed[0], RefundFailed)
    assert str(failed[0].refund) == "zuora:rf1:rf1-a1"  # the key the processed refund had
    assert failed[0].target_object == "inv1"
    assert failed[0].occurred_at == datetime(2026, 1, 27, 10, tzinfo=UTC)


def test_pages_are_fifty_with_the_cursor_and_filters(source: ZuoraSource, fake: ZuoraFake) -> None:
    for n in range(120):
        fake.add("invoices", invoice(f"inv{n:04d}", updated=stamp(6, 10, n // 60, n % 60)))

    pages = run(source)

    invoice_pages = [p for p in pages if p.fetched and isinstance(p.events[0], Purchase)]
    assert [p.fetched for p in invoice_pages] == [50, 50, 20]
    assert len(set(keys(events_of(pages)))) == 120
    listed = fake.calls("GET", "/object-query/invoices")
    assert [r.url.params["pageSize"] for r in listed] == ["50"] * 3
    assert "cursor" not in listed[0].url.params and "cursor" in listed[1].url.params
    assert listed[0].url.params.get_list("filter[]") == [
        "updateddate.GT:2026-01-01T00:00:00Z",
        "updateddate.LT:2026-02-01T00:00:00Z",
    ]
    assert "invoiceitems" in listed[0].url.params.get_list("expand[]")


def test_the_next_run_starts_an_overlap_before_the_last_one_ended(
    source: ZuoraSource, fake: ZuoraFake, settings: Any
) -> None:
    cursor = run(source)[-1].cursor
    assert cursor["since"] == {
        s: int(NOW.timestamp()) for s in ("invoices", "credit_memos", "refunds")
    }
    later = ZuoraSource(
        settings, api=ZuoraApi(settings), clock=lambda: datetime(2026, 2, 2, tzinfo=UTC)
    )

    run(later, cursor)

    last = fake.calls("GET", "/object-query/invoices")[-1]
    assert last.url.params.get_list("filter[]")[0] == "updateddate.GT:2026-01-31T23:55:00Z"


def test_pages_read_twice_give_the_same_events(source: ZuoraSource, fake: ZuoraFake) -> None:
    """Idempotent pages: a re-run over the same window yields the same source keys."""
    fake.add("invoices", discounted_taxed_invoice())
    fake.add("credit-memos", credit_memo("cm1"))
    fake.add("refunds", refund("rf1"))

    assert keys(events_of(run(source))) == keys(events_of(run(source)))
    assert conversation_problems(fake.exchanges) == []


@pytest.mark.parametrize("failing_page", [0, 1, 2, 3])
def test_a_run_that_fails_at_any_page_resumes_without_loss_or_repeat(
    fake: ZuoraFake, settings: Any, failing_page: int
) -> None:
    for n in range(110):
        fake.add("invoices", invoice(f"inv{n:04d}", updated=stamp(6, 10, n // 60, n % 60)))
    fake.add("credit-memos", credit_memo("cm1", invoice_id="inv0000"))
    no_retry = RetryPolicy(max_attempts=1, sleep=Sleeps())
    source = ZuoraSource(settings, api=ZuoraApi(settings, retry=no_retry), clock=lambda: NOW)
    fake.fail("/object-query/", 503, after=failing_page)

    seen: list[str] = []
    cursor = None
    with pytest.raises(ZuoraRequestFailed):
        for page in source.pages(None):
            seen += keys(page.events)
            cursor = page.cursor
    resumed = ZuoraSource(settings, api=ZuoraApi(settings, retry=no_retry), clock=lambda: NOW)
    for page in resumed.pages(cursor):
        seen += keys(page.events)

    assert len(seen) == len(set(seen)) == 111


def test_429_and_5xx_are_retried_a_bounded_number_of_times(
    source: ZuoraSource, fake: ZuoraFake, sleeps: Sleeps
) -> None:
    fake.add("invoices", invoice("inv1"))
    fake.fail("/object-query/invoices", 429, count=1, retry_after="7")
    fake.fail("/object-query/invoices", 502, count=1)
    fake.fail("/object-query/invoices", 429, count=1, rate_limit_reset="3")

    assert len(events_of(run(source))) == 1
    assert sleeps[0] == 7.0 and sleeps[2] == 3.0 and 0 < sleeps[1] <= 30

    fake.fail("/object-query/invoices", 500, count=10)
    with pytest.raises(ZuoraRequestFailed, match="still failing after 4 attempts"):
        run(source)


def test_fetch_objects_reads_what_callouts_name(source: ZuoraSource, fake: ZuoraFake) -> None:
    fake.add("invoices", invoice("inv1"))
    fake.add("credit-memos", credit_memo("cm1"))
    fake.add("refunds", refund("rf1"))
    fake.add("payments", payment("pay1", applications=[payment_application("inv1", 10000.0)]))

    found = source.fetch_objects(
        ["invoice:inv1", "creditmemo:cm1", "refund:rf1", "payment:pay1", "invoice:gone"]
    )

    assert [type(e).__name__ for e in found] == ["Purchase", "CreditNote", "Refund", "Purchase"]
    with pytest.raises(InvalidInput, match="object_ids"):
        source.fetch_objects(["in_123"])


def test_callouts_in_any_order_give_the_same_events(source: ZuoraSource, fake: ZuoraFake) -> None:
    """Callouts are hints to re-read: arrival order never changes what is read."""
    fake.add("invoices", invoice("inv1"))
    fake.add("credit-memos", credit_memo("cm1"))
    fake.add("refunds", refund("rf1"))
    hints = ["refund:rf1", "creditmemo:cm1", "invoice:inv1"]

    forward = sorted(keys(source.fetch_objects(hints)))
    backward = sorted(keys(source.fetch_objects(list(reversed(hints)))))
    twice = sorted(keys(source.fetch_objects(hints + hints)))

    assert forward == backward
    assert sorted(set(twice)) == forward


def test_refunds_of_a_taxed_invoice_add_up_to_the_share_of_their_sum(
    source: ZuoraSource, fake: ZuoraFake
) -> None:
    """Three refunds of 1/3 each: rounded one by one they would lose a cent; cumulative, not."""
    fake.add("invoices", invoice("inv1", items=[invoice_item("inv1-i1", amount=100.0, tax=8.0)]))
    for n, at in enumerate((stamp(21), stamp(22), stamp(23)), 1):
        application = refund_application(f"rf{n}-a1", refund_id=f"rf{n}", amount=36.0)
        application["createdDate"] = at
        fake.add("refunds", refund(f"rf{n}", amount=36.0, applications=[application], updated=at))

    refunds = [e for e in events_of(run(source)) if isinstance(e, Refund)]

    # 36.00 of 108.00 gross is 33.333... of 100.00 net: 3333, 3334, 3333 -> exactly 10000
    assert [r.amount for r in refunds] == [3333, 3334, 3333]
    assert sum(r.amount for r in refunds) == 10000
    assert conversation_problems(fake.exchanges) == []  # refund applications, as the SDK says
