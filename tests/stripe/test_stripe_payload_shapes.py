"""The test payloads against the pinned SDK's own declarations, field by field, all the way down.

The SDK's typed classes are generated from Stripe's OpenAPI spec for API version
2026-10-28.endive. A payload may leave out a field the spec declares optional (Stripe omits some
until they apply), but must not carry a field the version does not have, must carry every
required one, must give an enum only the values the version lists, and must expand an object
completely or not at all, in nested objects as much as at the top, so that fixtures cannot
drift into the shape of an older version.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe
from stripe.billing import MeterEvent
from stripe.checkout import Session

import tests.stripe.stripe_payloads as p
from adapters.stripe.webhook import HANDLED_OBJECTS
from tests.stripe.stripe_shapes import check, required_of

FIXTURES = Path(__file__).parent / "fixtures"
Factory = Callable[[], dict[str, Any]]
SDK_CLASSES: dict[str, type[Any]] = {
    "invoice": stripe.Invoice,
    "checkout.session": Session,
    "credit_note": stripe.CreditNote,
    "refund": stripe.Refund,
    "charge": stripe.Charge,
    "dispute": stripe.Dispute,
}
OBJECTS: dict[str, Factory] = {
    "invoice": p.invoice,
    "checkout.session": lambda: p.checkout_session(line_items=[p.checkout_line_item()]),
    "credit_note": p.credit_note,
    "refund": p.refund,
    "charge": p.charge,
    "dispute": p.dispute,
}

CASES: dict[str, tuple[type[Any], Factory]] = {
    "invoice": (stripe.Invoice, lambda: p.invoice(subscription="sub_1")),
    "invoice with an expanded customer": (
        stripe.Invoice,
        lambda: p.invoice(customer=p.customer(email="x@example.com")),
    ),
    "invoice_line": (
        stripe.InvoiceLineItem,
        lambda: p.invoice_line(taxes=[p.tax(10)], discounts=[5]),
    ),
    "invoice_line with an expanded price": (
        stripe.InvoiceLineItem,
        lambda: p.invoice_line(price=p.price(lookup_key="credits_1000")),
    ),
    "invoice_item": (stripe.InvoiceItem, lambda: p.invoice_item(quantity=2)),
    "tax": (stripe.InvoiceLineItem.Tax, lambda: p.tax(10, behavior="inclusive")),
    "invoice_payment": (stripe.InvoicePayment, p.invoice_payment),
    "price": (stripe.Price, p.price),
    "customer": (stripe.Customer, p.customer),
    "balance_transaction": (
        stripe.BalanceTransaction,
        lambda: p.balance_transaction("txn_1", amount=5_000, created=p.PAID_AT, source="re_1"),
    ),
    "refund": (stripe.Refund, p.refund),
    "failed refund": (stripe.Refund, lambda: p.refund(status="failed")),
    "failed refund with its reversal expanded": (
        stripe.Refund,
        lambda: p.refund(
            status="failed",
            failure_balance_transaction=p.balance_transaction(
                "txn_f", amount=10_000, created=p.PAID_AT, source="re_1"
            ),
        ),
    ),
    "charge": (stripe.Charge, p.charge),
    "credit_note": (stripe.CreditNote, lambda: p.credit_note(refunds=["re_1"])),
    "credit_note_line": (stripe.CreditNoteLineItem, p.credit_note_line),
    "dispute": (stripe.Dispute, p.dispute),
    "dispute with an older dp_ id": (stripe.Dispute, lambda: p.dispute("dp_1", status="won")),
    "checkout_session": (
        Session,
        lambda: p.checkout_session(line_items=[p.checkout_line_item()]),
    ),
    "checkout_line_item": (stripe.LineItem, p.checkout_line_item),
    "event": (stripe.Event, lambda: p.event("evt_1", "invoice.paid", p.invoice())),
    "meter_event": (MeterEvent, lambda: p.meter_event("e", "cus_1", 1, "id", 1)),
}

# Helpers that build no Stripe object: envelopes, error bodies, signatures.
NOT_OBJECTS = {"list_envelope", "error_body", "sign", "dumps"}


@pytest.mark.parametrize(("cls", "factory"), CASES.values(), ids=list(CASES))
def test_payloads_match_the_pinned_api_version(cls: type[Any], factory: Factory) -> None:
    assert [str(m) for m in check(factory(), cls)] == []


def test_every_payload_factory_is_checked() -> None:
    factories = {
        name
        for name, function in inspect.getmembers(p, inspect.isfunction)
        if function.__module__ == p.__name__
    }
    checked = {name.split(" ")[0] for name in CASES}  # a case is named after its factory

    assert factories - NOT_OBJECTS - checked == set()


@pytest.mark.parametrize(("event_type", "object_type"), HANDLED_OBJECTS.items())
def test_each_handled_event_type_exists_and_its_object_matches_its_class(
    event_type: str, object_type: str
) -> None:
    body = p.event("evt_1", event_type, OBJECTS[object_type]())

    assert [str(m) for m in check(body, stripe.Event)] == []
    assert [str(m) for m in check(body["data"]["object"], SDK_CLASSES[object_type])] == []


# -- the check itself catches each kind of drift -------------------------------------------------


def _with(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``payload`` with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    *parents, last = path.split(".")
    target = payload
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return payload


@pytest.mark.parametrize(
    ("cls", "payload", "expected"),
    [
        (Session, _with(p.checkout_session(), "ui_mode", "hosted"), "$.ui_mode: 'hosted' is not"),
        (
            stripe.Dispute,
            _with(p.dispute(), "evidence_details.submission_method", None),
            "$.evidence_details.submission_method: is null",
        ),
        (
            stripe.Dispute,
            _with(p.dispute(), "payment_method_details.card.network", ...),
            "$.payment_method_details.card.network: required field left out",
        ),
        (
            stripe.InvoiceLineItem,
            _with(p.invoice_line(), "price", "price_1"),
            "$.price: InvoiceLineItem has no such field",
        ),
        (
            stripe.Invoice,
            p.invoice(customer={"id": "cus_X", "object": "customer", "email": "x@example.com"}),
            "$.customer.created: required field left out",
        ),
        (
            stripe.Invoice,
            _with(p.invoice(), "lines.data.0.pricing.price_details.product", 7),
            "$.lines.data[0].pricing.price_details.product: expected str",
        ),
        (stripe.Refund, _with(p.refund(), "amount", "100"), "$.amount: expected int"),
        (
            stripe.Price,
            _with(p.price(), "unit_amount_decimal", 10_000),
            "$.unit_amount_decimal: expected Decimal",
        ),
    ],
    ids=[
        "enum",
        "nullable",
        "nested required",
        "unknown",
        "stub",
        "nested type",
        "type",
        "decimal",
    ],
)
def test_the_check_reports_each_kind_of_drift(
    cls: type[Any], payload: dict[str, Any], expected: str
) -> None:
    problems = [str(m) for m in check(payload, cls)]

    assert any(problem.startswith(expected) for problem in problems), problems


# -- files and bodies --------------------------------------------------------------------------


def test_invoice_lines_carry_pricing_not_price() -> None:
    line = p.invoice_line()

    assert "price" not in line
    assert line["pricing"]["price_details"]["price"] == "price_credits_1000"


def test_the_webhook_fixture_matches_the_pinned_api_version_and_the_sdk_reads_it() -> None:
    body = json.loads((FIXTURES / "invoice_paid_event.json").read_text())

    event = stripe.Event.construct_from(body, "sk_test_x")
    invoice = event.data.object

    assert event.type == "invoice.paid" and event.api_version == stripe.api_version
    assert invoice.object == "invoice" and invoice.status == "paid"
    assert invoice.lines.data[0].pricing.price_details.price == "price_credits_1000"
    assert [str(m) for m in check(body, stripe.Event)] == []
    assert [str(m) for m in check(body["data"]["object"], stripe.Invoice)] == []
    assert required_of(stripe.Invoice) <= set(body["data"]["object"])


@pytest.mark.parametrize("name", ["rate_limit_error.json", "card_declined_error.json"])
def test_error_fixtures_are_stripe_error_bodies(name: str) -> None:
    body = json.loads((FIXTURES / name).read_text())

    assert set(body) == {"error"}
    assert {"type", "message", "code"} <= set(body["error"])
