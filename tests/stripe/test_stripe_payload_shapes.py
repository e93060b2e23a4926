"""The test payloads against the pinned SDK's own field declarations.

The SDK's typed classes are generated from Stripe's OpenAPI spec for API version
2026-10-28.endive. A payload may leave out a field the spec declares optional (Stripe omits some
until they apply), but must not carry a field the version does not have, and must carry every
required one, so that fixtures cannot drift into the shape of an older version.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import stripe
from stripe.billing import MeterEvent
from stripe.checkout import Session

import tests.stripe.stripe_payloads as p

FIXTURES = Path(__file__).parent / "fixtures"

CASES: list[tuple[type[Any], Callable[[], dict[str, Any]]]] = [
    (stripe.Invoice, lambda: p.invoice(subscription="sub_1")),
    (stripe.InvoiceLineItem, lambda: p.invoice_line(taxes=[p.tax(10)], discounts=[5])),
    (stripe.InvoicePayment, p.invoice_payment),
    (stripe.Price, p.price),
    (stripe.Refund, p.refund),
    (stripe.Charge, p.charge),
    (stripe.CreditNote, p.credit_note),
    (stripe.CreditNoteLineItem, p.credit_note_line),
    (stripe.Dispute, p.dispute),
    (Session, lambda: p.checkout_session(line_items=[p.checkout_line_item()])),
    (stripe.LineItem, p.checkout_line_item),
    (stripe.Event, lambda: p.event("evt_1", "invoice.paid", p.invoice())),
    (MeterEvent, lambda: p.meter_event("e", "cus_1", 1, "id", 1)),
]


def _optional(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)


def declared(cls: type[Any]) -> tuple[set[str], set[str]]:
    """(all fields, required fields) a Stripe class declares."""
    fields = {
        name: annotation
        for name, annotation in cls.__annotations__.items()
        if not name.startswith("_") and name != "OBJECT_NAME"
    }
    return set(fields), {name for name, annotation in fields.items() if not _optional(annotation)}


@pytest.mark.parametrize(("cls", "factory"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_payloads_have_the_fields_of_the_pinned_api_version(
    cls: type[Any], factory: Callable[[], dict[str, Any]]
) -> None:
    payload = factory()
    fields, required = declared(cls)

    assert set(payload) - fields == set(), "fields this API version does not have"
    assert required - set(payload) == set(), "required fields left out"


def test_invoice_lines_carry_pricing_not_price() -> None:
    line = p.invoice_line()

    assert "price" not in line
    assert line["pricing"]["price_details"]["price"] == "price_credits_1000"


def test_the_webhook_fixture_is_an_invoice_paid_event_the_sdk_reads() -> None:
    body = json.loads((FIXTURES / "invoice_paid_event.json").read_text())

    event = stripe.Event.construct_from(body, "sk_test_x")
    invoice = event.data.object

    assert event.type == "invoice.paid"
    assert invoice.object == "invoice" and invoice.status == "paid"
    assert invoice.lines.data[0].pricing.price_details.price == "price_credits_1000"
    _, required = declared(stripe.Invoice)
    assert required - set(body["data"]["object"]) == set()


@pytest.mark.parametrize("name", ["rate_limit_error.json", "card_declined_error.json"])
def test_error_fixtures_are_stripe_error_bodies(name: str) -> None:
    body = json.loads((FIXTURES / name).read_text())

    assert set(body) == {"error"}
    assert {"type", "message", "code"} <= set(body["error"])
