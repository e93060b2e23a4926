"""Every Zuora fixture, answer and request body against the zuora-sdk 3.21 models.

sdk_reference.json holds each model's field names (JSON aliases), JSON types and required
flags, extracted from the SDK by extract_sdk_reference.py. A payload may leave out an optional
field but must not carry a field the model lacks, must carry every required one, and each value
must have the model's JSON type (a plain date where the SDK says date, a string amount where it
says string), nested models included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.zuora import zuora_payloads as p
from tests.zuora.zuora_fake import callout_body

REFERENCE = json.loads((Path(__file__).parent / "sdk_reference.json").read_text())
MODELS: dict[str, dict[str, dict[str, Any]]] = REFERENCE["models"]


def problems(value: Any, shape: str, where: str) -> list[str]:
    """Why ``value`` is not of the JSON ``shape`` (empty: it is)."""
    if value is None:
        return []
    if shape.startswith("array:"):
        if not isinstance(value, list):
            return [f"{where}: not an array"]
        return [m for n, v in enumerate(value) for m in problems(v, shape[6:], f"{where}[{n}]")]
    if shape.startswith("object:"):
        model = shape[7:]
        if model not in MODELS:
            return [] if isinstance(value, dict) else [f"{where}: not an object"]
        return check(value, model, where)
    ok = {
        "string": lambda v: isinstance(v, str),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "date": lambda v: isinstance(v, str) and _is_date(v),
        "date-time": lambda v: isinstance(v, str) and _is_datetime(v),
        "object": lambda v: isinstance(v, dict),
    }[shape](value)
    return [] if ok else [f"{where}: {value!r} is not {shape}"]


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in text


def check(payload: dict[str, Any], model: str, where: str = "") -> list[str]:
    fields = MODELS[model]
    found = [f"{where}.{name}: not a field of {model}" for name in payload if name not in fields]
    found += [
        f"{where}.{name}: required by {model}"
        for name, spec in fields.items()
        if spec["required"] and name not in payload
    ]
    for name, value in payload.items():
        if name in fields:
            found += problems(value, fields[name]["type"], f"{where}.{name}")
            allowed = fields[name].get("enum")
            if allowed and value is not None and value not in allowed:
                found.append(f"{where}.{name}: {value!r} is not one of {allowed}")
    return found


CASES: list[tuple[str, Callable[[], dict[str, Any]]]] = [
    (
        "ExpandedInvoice",
        lambda: p.invoice(memo_applications=[p.credit_memo_application("inv1", "cm9", 5.0)]),
    ),
    (
        "ExpandedInvoiceItem",
        lambda: p.invoice_item("i2", processing_type="Discount", applied_to="i1", amount=-5.0),
    ),
    ("ExpandedAccount", p.account),
    ("ExpandedContact", p.contact),
    ("ExpandedCreditMemo", p.credit_memo),
    ("ExpandedCreditMemoItem", lambda: p.credit_memo_item("cmi")),
    ("ExpandedRefund", lambda: p.refund(status="Canceled", cancelled_on=p.stamp(27))),
    (
        "ExpandedRefundApplication",
        lambda: p.refund_application("a", memo_id="cm1", invoice_id=None),
    ),
    ("ExpandedPayment", lambda: p.payment(applications=[p.payment_application("inv1", 5.0)])),
    (
        "ExpandedUsage",
        lambda: p.usage("u", account_id=p.ACCOUNT, quantity=5, description="d", uom="credits"),
    ),
    ("ExpandedProductRatePlanChargeTier", lambda: p.charge_tier(p.CHARGE)),
    ("TokenResponse", lambda: p.token("t")),
    ("CommonResponse", lambda: p.failure("50000040", "bad")),
    (
        "GetJournalEntryDetailResponse",
        lambda: p.journal_entry_detail(
            "JE-00000001",
            period_name="2026-01",
            currency="USD",
            entry_date="2026-01-31",
            notes="n",
            items=[{"accountingCodeName": "1205", "amount": "1.00", "type": "Debit"}],
        ),
    ),
    ("GetDataQueryJobResponse", lambda: p.data_query_job("a" * 64, "completed", "https://x/y")),
]


@pytest.mark.parametrize(("model", "factory"), CASES, ids=[m for m, _ in CASES])
def test_fixtures_have_the_shape_of_the_sdk_models(
    model: str, factory: Callable[[], dict[str, Any]]
) -> None:
    assert check(factory(), model) == []


def test_the_checker_catches_what_drifts() -> None:
    """The check is not vacuous: a date-time where a date belongs, a float amount where Zuora
    says string, a misspelt field and a missing required field are all caught."""
    wrong = p.invoice()
    wrong["invoiceDate"] = "2026-01-05T00:00:00Z"
    wrong["invoiceItems"][0]["uom"] = "Each"  # invoice items spell it uOM
    entry = {
        "currency": "USD",
        "journalEntryDate": "2026-01-31",
        "journalEntryItems": [{"accountingCodeName": "1205", "amount": 1.0, "type": "Debit"}],
    }

    assert any("invoiceDate" in m for m in check(wrong, "ExpandedInvoice"))
    assert any(".uom: not a field" in m for m in check(wrong, "ExpandedInvoice"))
    found = check(entry, "CreateJournalEntryRequest")
    assert any("accountingPeriodName: required" in m for m in found)
    assert any("amount: 1.0 is not string" in m for m in found)
    item = {"accountingCodeName": "1205", "amount": "1.00", "type": "debit"}
    assert any(
        "is not one of ['Credit', 'Debit']" in m
        for m in check(item, "CreateJournalEntryRequestItem")
    )


def test_the_reference_is_the_pinned_sdk() -> None:
    assert REFERENCE["sdk"] == "zuora-sdk 3.21.0"
    item = MODELS["ExpandedCreditMemoItem"]
    assert "unitOfMeasure" in item and "sku" in item  # credit memo items spell these differently
    assert {"uOM", "sKU"} <= set(MODELS["ExpandedInvoiceItem"])
    assert "number" in MODELS["GetJournalEntryDetailResponse"]
    assert "notes" not in MODELS["GetJournalEntryItemResponse"]
    assert MODELS["ExpandedRefund"].keys().isdisjoint({"paymentId", "creditMemoId"})


QUERY_MODELS = {
    "invoices": ("QueryInvoicesResponse", "ExpandedInvoice"),
    "credit-memos": ("QueryCreditMemosResponse", "ExpandedCreditMemo"),
    "refunds": ("QueryRefundsResponse", "ExpandedRefund"),
    "refund-applications": ("QueryRefundApplicationsResponse", "ExpandedRefundApplication"),
    "payments": ("QueryPaymentsResponse", "ExpandedPayment"),
    "usages": ("QueryUsagesResponse", "ExpandedUsage"),
    "product-rate-plan-charge-tiers": (
        "QueryProductRatePlanChargeTiersResponse",
        "ExpandedProductRatePlanChargeTier",
    ),
    "accounts": ("ExpandedAccount", "ExpandedAccount"),
}

WRITES = {
    "/v1/object/usage": ("CreateUsageRequest", "ProxyCreateOrModifyResponse"),
    "/v1/invoices": ("CreateInvoiceRequest", "InvoiceResponse"),
    "/v1/payments": ("CreatePaymentRequest", None),
    "/v1/journal-entries": ("CreateJournalEntryRequest", "CreateJournalEntryResponse"),
    "/query/jobs": ("SubmitDataQueryRequest", "SubmitDataQueryResponse"),
}


def conversation_problems(exchanges: list[tuple[Any, Any]]) -> list[str]:
    """Every request body the adapters sent and every answer the stand-in gave, checked."""
    found: list[str] = []
    for request, response in exchanges:
        path = request.url.path
        body = (
            json.loads(response.content)
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
        if path.startswith("/object-query/") and response.status_code == 200 and body is not None:
            object_name, _, key = path.removeprefix("/object-query/").partition("/")
            envelope, record = QUERY_MODELS[object_name]
            found += check(body, record if key else envelope, path)
        elif request.method == "POST" and path in WRITES:
            sent_model, answer_model = WRITES[path]
            found += check(json.loads(request.content), sent_model, f"{path} request")
            if answer_model and body is not None and body.get("success", body.get("Success")):
                found += check(body, answer_model, f"{path} answer")
        elif re.fullmatch(r"/v1/journal-entries/JE-\d+", path) and body is not None:
            found += check(body, "GetJournalEntryDetailResponse", path)
        elif path.startswith("/query/jobs/") and body is not None:
            found += check(body, "GetDataQueryJobResponse", path)
        elif path == "/oauth/token" and response.status_code == 200 and body is not None:
            found += check(body, "TokenResponse", path)
    return found


def test_callout_body_names_the_object() -> None:
    assert json.loads(callout_body("Invoice", "inv1")) == {
        "eventType": "InvoicePosted",
        "objectType": "Invoice",
        "objectId": "inv1",
    }
