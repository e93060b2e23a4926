"""The test payloads against the chargebee 3.29 SDK's own response models.

Every field of every payload must be one the SDK's model declares (``chargebee/models/*/
responses.py``), with a value of the declared type, recursively through nested models and
lists of them, so fixtures cannot drift into fields Chargebee does not send. The envelopes are
read back through the SDK's own response parser, as the adapter reads them.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import pytest
from chargebee.model import Model
from chargebee.models.credit_note.responses import CreditNoteResponse
from chargebee.models.customer.responses import CustomerResponse
from chargebee.models.dispute.responses import DisputeResponse
from chargebee.models.event.responses import EventResponse
from chargebee.models.invoice.responses import InvoiceResponse
from chargebee.models.invoice.responses import ListResponse as InvoiceList
from chargebee.models.item_price.responses import ItemPriceResponse
from chargebee.models.subscription.responses import SubscriptionResponse
from chargebee.models.transaction.responses import TransactionResponse
from chargebee.models.usage.responses import UsageResponse
from chargebee.responses import Response

import tests.chargebee.chargebee_payloads as p

CASES: list[tuple[type[Model], Callable[[], dict[str, Any]]]] = [
    (InvoiceResponse, lambda: p.invoice(address=p.billing_address(), po_number="po")),
    (
        InvoiceResponse,
        lambda: p.invoice(status="voided", voided_at=p.PAID_AT, line_items_next_offset="x"),
    ),
    (CustomerResponse, p.customer),
    (CreditNoteResponse, p.credit_note),
    (CreditNoteResponse, lambda: p.credit_note(status="voided", type_="adjustment")),
    (
        TransactionResponse,
        lambda: p.transaction(
            linked_credit_notes=[p.linked_credit_note()],
            linked_invoices=[p.linked_invoice()],
            refunded_txn_id="txn_inv_1",
        ),
    ),
    (TransactionResponse, lambda: p.transaction(status="late_failure")),
    (TransactionResponse, p.payment),
    (DisputeResponse, p.dispute),
    (EventResponse, lambda: p.event("ev_1", "invoice_updated", {"invoice": p.invoice()})),
    (SubscriptionResponse, p.subscription),
    (
        UsageResponse,
        lambda: p.usage("u1", subscription_id="sub_1", item_price="x", quantity="3", usage_date=1),
    ),
    (ItemPriceResponse, p.item_price),
]

_PRIMITIVES: dict[Any, tuple[type, ...]] = {
    int: (int,),
    str: (str,),
    bool: (bool,),
    float: (float, int),
}


def problems(model: type[Any], payload: dict[str, Any], where: str) -> list[str]:
    """Fields of ``payload`` that ``model`` does not declare, or whose value has the wrong type."""
    hints = typing.get_type_hints(model)
    found: list[str] = []
    for name, value in payload.items():
        if name not in hints or name == "raw_data":
            found.append(f"{where}.{name}: not a field of {model.__name__}")
            continue
        found.extend(_check(hints[name], value, f"{where}.{name}"))
    return found


def _check(annotation: Any, value: Any, where: str) -> list[str]:
    if value is None:
        return []
    origin = typing.get_origin(annotation)
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            return [f"{where}: expected a list"]
        (inner,) = typing.get_args(annotation)
        return [e for i, item in enumerate(value) for e in _check(inner, item, f"{where}[{i}]")]
    if origin in (dict, typing.Dict) or annotation is Any:  # noqa: UP006
        return [] if isinstance(value, dict) or annotation is Any else [f"{where}: expected a dict"]
    if isinstance(annotation, type) and issubclass(annotation, Model):
        if not isinstance(value, dict):
            return [f"{where}: expected an object"]
        return problems(annotation, value, where)
    if origin in (typing.Union, types.UnionType):
        return []
    allowed = _PRIMITIVES.get(annotation)
    if allowed is None:
        return [f"{where}: unknown annotation {annotation!r}"]
    if isinstance(value, bool) and annotation is not bool:
        return [f"{where}: a bool where {annotation.__name__} is declared"]
    return [] if isinstance(value, allowed) else [f"{where}: expected {annotation.__name__}"]


@pytest.mark.parametrize(
    ("model", "factory"), CASES, ids=[f"{m.__name__}-{i}" for i, (m, _) in enumerate(CASES)]
)
def test_payloads_use_only_the_sdk_model_fields_and_types(
    model: type[Model], factory: Callable[[], dict[str, Any]]
) -> None:
    assert problems(model, factory(), model.__name__) == []


def test_the_checker_catches_a_wrong_field_and_a_wrong_type() -> None:
    bad = {**p.invoice(), "customer_email": "x@example.com", "total": "100"}
    bad["line_items"] = [{**p.line_item(), "quantity": 1.5}]

    found = problems(InvoiceResponse, bad, "invoice")

    assert "invoice.customer_email: not a field of InvoiceResponse" in found
    assert "invoice.total: expected int" in found
    assert "invoice.line_items[0].quantity: expected int" in found


def test_a_list_envelope_reads_back_through_the_sdk_parser() -> None:
    body = p.list_envelope("invoice", [p.invoice("inv_a"), p.invoice("inv_b")], "next-1")

    parsed = Response(InvoiceList, body, {}, 200).parse()

    assert [entry.invoice.id for entry in parsed.list] == ["inv_a", "inv_b"]
    assert parsed.list[0].invoice.line_items[0].entity_id == "credits-10k-USD"
    assert parsed.next_offset == "next-1"
