"""The pure parsers: Chargebee amounts to minor units, and refunds spread over invoices."""

from __future__ import annotations

import pytest

import tests.chargebee.chargebee_payloads as p
from adapters.chargebee.parse import (
    InvoiceTotals,
    credit_note_events,
    customer_of,
    minor_units,
    refund_events,
)
from connector.events import Refund, RefundFailed


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (1_234, "USD", 1_234),
        (1_500, "JPY", 1_500),
        (1_500, "KRW", 1_500),
        (1_234, "KWD", 12_340),
        (None, "USD", 0),
    ],
)
def test_chargebee_amounts_in_minor_units(amount: int | None, currency: str, minor: int) -> None:
    assert minor_units(amount, currency) == minor


def test_invoice_totals_are_gross_and_net_of_tax() -> None:
    totals = InvoiceTotals.of(p.invoice(lines=[p.line_item(tax_amount=800)]))

    assert (totals.gross, totals.net) == (10_800, 10_000)
    assert totals.net_share(10_800) == 10_000 and totals.net_share(1) == 1


def test_a_refund_over_three_invoices_adds_up_exactly() -> None:
    targets = [(InvoiceTotals(f"inv_{n}", 10_000, 10_000), 3_333) for n in range(3)]
    refund = p.transaction(amount=1_000)

    events = refund_events(refund, targets)

    assert sum(e.amount for e in events if isinstance(e, Refund)) == 1_000
    assert [e.source.line_id for e in events] == ["inv_0", "inv_1", "inv_2"]


def test_a_refund_still_in_progress_gives_nothing_and_a_late_failure_names_the_refund() -> None:
    targets = [(InvoiceTotals("inv_1", 10_000, 10_000), 10_000)]

    assert refund_events(p.transaction(status="in_progress"), targets) == []
    [failed] = refund_events(p.transaction(status="late_failure"), targets)
    assert isinstance(failed, RefundFailed)
    assert str(failed.refund) == "chargebee:txn_r1:"


def test_a_tax_inclusive_credit_note_returns_the_net() -> None:
    line = p.line_item("cn_li", amount=1_080, tax_amount=80, reference_line_item_id="li_1")
    note = p.credit_note(lines=[line], price_type="tax_inclusive")

    [event] = credit_note_events(note, note["line_items"])

    assert event.amount == 1_000


def test_a_customer_name_falls_back_to_the_company() -> None:
    details = {"company": "Analytical Engines Ltd", "email": "ops@example.com"}

    assert customer_of("cust_9", details).name == "Analytical Engines Ltd"
    assert customer_of("cust_9", None).email is None
