"""Factories for Chargebee API v2 payloads, shaped like the chargebee 3.29 SDK's response models.

Each factory returns the JSON object Chargebee sends, using only fields the SDK's models
(``chargebee/models/*/responses.py``) declare and with their types (test_chargebee_payload_shapes
checks it), with keyword overrides so a test states only what it is about. Lists use Chargebee's
envelope (``list`` of ``{resource: object}`` and ``next_offset``); errors use its error body.
"""

from __future__ import annotations

import base64
import json
from typing import Any

Json = dict[str, Any]

PAID_AT = 1_767_571_200  # 2026-01-05T00:00:00Z
DATE = 1_767_484_800  # 2026-01-04T00:00:00Z


def list_envelope(resource: str, objects: list[Json], next_offset: str | None = None) -> Json:
    body: Json = {"list": [{resource: obj} for obj in objects]}
    if next_offset is not None:
        body["next_offset"] = next_offset
    return body


def error_body(
    message: str,
    *,
    status: int,
    api_error_code: str,
    type_: str = "invalid_request",
    param: str | None = None,
) -> Json:
    body: Json = {
        "message": message,
        "type": type_,
        "api_error_code": api_error_code,
        "error_code": api_error_code,
        "error_msg": message,
        "http_status_code": status,
    }
    if param is not None:
        body["param"] = param
        body["error_param"] = param
    return body


def line_item(
    line_id: str = "li_1",
    *,
    item_price: str | None = "credits-10k-USD",
    entity_type: str = "charge_item_price",
    amount: int = 10_000,
    quantity: int = 1,
    discount_amount: int = 0,
    item_level_discount_amount: int = 0,
    tax_amount: int = 0,
    customer_id: str = "cust_1",
    subscription_id: str | None = None,
    date_from: int = PAID_AT,
    date_to: int = PAID_AT,
    reference_line_item_id: str | None = None,
    description: str = "10,000 AI credits",
) -> Json:
    line: Json = {
        "id": line_id,
        "date_from": date_from,
        "date_to": date_to,
        "unit_amount": amount // quantity if quantity else amount,
        "quantity": quantity,
        "amount": amount,
        "pricing_model": "flat_fee",
        "is_taxed": tax_amount > 0,
        "tax_amount": tax_amount,
        "tax_rate": 8.0 if tax_amount else 0.0,
        "discount_amount": discount_amount,
        "item_level_discount_amount": item_level_discount_amount,
        "metered": False,
        "is_percentage_pricing": False,
        "description": description,
        "entity_description": description,
        "entity_type": entity_type,
        "customer_id": customer_id,
    }
    if item_price is not None:
        line["entity_id"] = item_price
    if subscription_id is not None:
        line["subscription_id"] = subscription_id
    if reference_line_item_id is not None:
        line["reference_line_item_id"] = reference_line_item_id
    return line


def billing_address(email: str | None = "ada@example.com", **fields: Any) -> Json:
    address: Json = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines Ltd",
        "line1": "12 St James's Square",
        "city": "London",
        "country": "GB",
        "zip": "SW1Y 4JH",
        "validation_status": "not_validated",
        **fields,
    }
    if email is not None:
        address["email"] = email
    return address


def invoice(
    invoice_id: str = "inv_1",
    *,
    lines: list[Json] | None = None,
    status: str = "paid",
    customer_id: str = "cust_1",
    currency: str = "USD",
    price_type: str = "tax_exclusive",
    paid_at: int | None = PAID_AT,
    updated_at: int = PAID_AT,
    voided_at: int | None = None,
    line_items_next_offset: str | None = None,
    address: Json | None = None,
    po_number: str | None = None,
    total: int | None = None,
    tax: int | None = None,
    linked_payments: list[Json] | None = None,
) -> Json:
    items = lines if lines is not None else [line_item(customer_id=customer_id)]
    sub_total = sum(int(line["amount"]) for line in items)
    tax_total = tax if tax is not None else sum(int(line["tax_amount"]) for line in items)
    discounts = sum(
        int(line["discount_amount"]) + int(line["item_level_discount_amount"]) for line in items
    )
    if total is None:
        total = sub_total - discounts + (0 if price_type == "tax_inclusive" else tax_total)
    paid = total if status == "paid" else 0
    body: Json = {
        "id": invoice_id,
        "customer_id": customer_id,
        "recurring": False,
        "status": status,
        "price_type": price_type,
        "date": DATE,
        "due_date": DATE,
        "net_term_days": 0,
        "exchange_rate": 1.0,
        "currency_code": currency,
        "total": total,
        "amount_paid": paid,
        "amount_adjusted": 0,
        "write_off_amount": 0,
        "credits_applied": 0,
        "amount_due": total - paid if status != "voided" else 0,
        "resource_version": updated_at * 1000,
        "updated_at": updated_at,
        "sub_total": sub_total,
        "tax": tax_total,
        "first_invoice": True,
        "has_advance_charges": False,
        "term_finalized": True,
        "is_gifted": False,
        "generated_at": DATE,
        "channel": "web",
        "deleted": False,
        "line_items": items,
        "discounts": [],
        "taxes": [{"name": "VAT", "amount": tax_total, "description": "VAT @ 8%"}]
        if tax_total
        else [],
        "line_item_taxes": [],
        "linked_payments": linked_payments
        if linked_payments is not None
        else (
            [
                {
                    "txn_id": f"txn_{invoice_id}",
                    "applied_amount": paid,
                    "applied_at": paid_at or DATE,
                    "txn_status": "success",
                    "txn_date": paid_at or DATE,
                    "txn_amount": paid,
                }
            ]
            if status == "paid"
            else []
        ),
        "applied_credits": [],
        "adjustment_credit_notes": [],
        "issued_credit_notes": [],
        "linked_orders": [],
        "dunning_attempts": [],
    }
    if paid_at is not None and status == "paid":
        body["paid_at"] = paid_at
    if voided_at is not None:
        body["voided_at"] = voided_at
        body["void_reason_code"] = "order_cancelled"
    if line_items_next_offset is not None:
        body["line_items_next_offset"] = line_items_next_offset
    if address is not None:
        body["billing_address"] = address
    if po_number is not None:
        body["po_number"] = po_number
    return body


def customer(
    customer_id: str = "cust_1",
    *,
    email: str | None = "ada@example.com",
    first_name: str = "Ada",
    last_name: str = "Lovelace",
    payment_source: str | None = "pm_card_1",
    updated_at: int = DATE,
) -> Json:
    body: Json = {
        "id": customer_id,
        "first_name": first_name,
        "last_name": last_name,
        "auto_collection": "on",
        "net_term_days": 0,
        "allow_direct_debit": False,
        "created_at": DATE,
        "taxability": "taxable",
        "updated_at": updated_at,
        "locale": "en",
        "pii_cleared": "active",
        "channel": "web",
        "resource_version": updated_at * 1000,
        "deleted": False,
        "card_status": "valid" if payment_source else "no_card",
        "promotional_credits": 0,
        "refundable_credits": 0,
        "excess_payments": 0,
        "unbilled_charges": 0,
        "preferred_currency_code": "USD",
    }
    if email is not None:
        body["email"] = email
    if payment_source is not None:
        body["primary_payment_source_id"] = payment_source
    return body


def credit_note(
    note_id: str = "cn_1",
    *,
    invoice_id: str = "inv_1",
    lines: list[Json] | None = None,
    type_: str = "refundable",
    status: str = "refunded",
    currency: str = "USD",
    price_type: str = "tax_exclusive",
    date: int = PAID_AT + 86_400,
    updated_at: int = PAID_AT + 86_400,
    linked_refunds: list[Json] | None = None,
    customer_id: str = "cust_1",
) -> Json:
    items = lines if lines is not None else [line_item("cn_li_1", reference_line_item_id="li_1")]
    total = sum(int(line["amount"]) for line in items)
    body: Json = {
        "id": note_id,
        "customer_id": customer_id,
        "reference_invoice_id": invoice_id,
        "type": type_,
        "reason_code": "product_unsatisfactory",
        "status": status,
        "date": date,
        "price_type": price_type,
        "currency_code": currency,
        "total": total,
        "amount_allocated": total if type_ == "adjustment" else 0,
        "amount_refunded": total if status == "refunded" else 0,
        "amount_available": 0,
        "generated_at": date,
        "resource_version": updated_at * 1000,
        "updated_at": updated_at,
        "channel": "web",
        "sub_total": total,
        "round_off_amount": 0,
        "fractional_correction": 0,
        "deleted": False,
        "create_reason_code": "Product Unsatisfactory",
        "line_items": items,
        "discounts": [],
        "taxes": [],
        "line_item_taxes": [],
        "line_item_discounts": [],
        "linked_refunds": linked_refunds or [],
        "allocations": [],
    }
    if status == "refunded":
        body["refunded_at"] = date
    if status == "voided":
        body["voided_at"] = updated_at
    return body


def transaction(
    txn_id: str = "txn_r1",
    *,
    type_: str = "refund",
    status: str = "success",
    amount: int = 10_000,
    currency: str = "USD",
    date: int = PAID_AT + 86_400,
    updated_at: int = PAID_AT + 86_400,
    customer_id: str = "cust_1",
    linked_invoices: list[Json] | None = None,
    linked_credit_notes: list[Json] | None = None,
    refunded_txn_id: str | None = None,
) -> Json:
    body: Json = {
        "id": txn_id,
        "customer_id": customer_id,
        "gateway_account_id": "gw_1",
        "payment_source_id": "pm_card_1",
        "payment_method": "card",
        "gateway": "stripe",
        "type": type_,
        "date": date,
        "exchange_rate": 1.0,
        "currency_code": currency,
        "amount": amount,
        "id_at_gateway": f"re_{txn_id}",
        "status": status,
        "resource_version": updated_at * 1000,
        "updated_at": updated_at,
        "amount_unused": 0,
        "masked_card_number": "************4242",
        "linked_invoices": linked_invoices or [],
        "linked_credit_notes": linked_credit_notes or [],
        "linked_refunds": [],
        "linked_payments": [],
        "deleted": False,
        "iin": "424242",
        "last4": "4242",
    }
    if status == "success":
        body["settled_at"] = date
    if refunded_txn_id is not None:
        body["refunded_txn_id"] = refunded_txn_id
    if status in ("failure", "late_failure"):
        body["error_code"] = "refund_failed"
        body["error_text"] = "The bank returned the refund"
    return body


def linked_invoice(invoice_id: str = "inv_1", applied: int = 10_000, total: int = 10_000) -> Json:
    return {
        "invoice_id": invoice_id,
        "applied_amount": applied,
        "applied_at": PAID_AT,
        "invoice_date": DATE,
        "invoice_total": total,
        "invoice_status": "paid",
    }


def linked_credit_note(
    note_id: str = "cn_1", invoice_id: str = "inv_1", amount: int = 10_000
) -> Json:
    return {
        "cn_id": note_id,
        "applied_amount": amount,
        "applied_at": PAID_AT + 86_400,
        "cn_reason_code": "product_unsatisfactory",
        "cn_date": PAID_AT + 86_400,
        "cn_total": amount,
        "cn_status": "refunded",
        "cn_reference_invoice_id": invoice_id,
    }


def payment(
    txn_id: str = "txn_inv_1", *, invoices: list[Json] | None = None, amount: int = 10_000
) -> Json:
    return transaction(
        txn_id,
        type_="payment",
        amount=amount,
        date=PAID_AT,
        updated_at=PAID_AT,
        linked_invoices=invoices if invoices is not None else [linked_invoice()],
    )


def dispute(
    dispute_id: str = "dp_1",
    *,
    transaction_id: str = "txn_inv_1",
    status: str = "lost",
    amount: int = 10_000,
    currency: str = "USD",
    created_at: int = PAID_AT + 86_400,
    updated_at: int = PAID_AT + 10 * 86_400,
) -> Json:
    return {
        "id": dispute_id,
        "customer_id": "cust_1",
        "transaction_id": transaction_id,
        "gateway_account_id": "gw_1",
        "id_at_gateway": f"du_{dispute_id}",
        "currency_code": currency,
        "amount": amount,
        "reason": "fraudulent",
        "status": status,
        "type": "chargeback",
        "is_partial_dispute": False,
        "created_at": created_at,
        "resource_version": updated_at * 1000,
        "updated_at": updated_at,
    }


def event(event_id: str, event_type: str, content: Json, *, occurred_at: int = PAID_AT) -> Json:
    return {
        "id": event_id,
        "occurred_at": occurred_at,
        "source": "admin_console",
        "user": "ops@example.com",
        "api_version": "v2",
        "content": content,
        "event_type": event_type,
        "webhook_status": "scheduled",
        "webhooks": [{"id": "whv2_1", "webhook_status": "scheduled"}],
    }


def subscription(
    subscription_id: str = "sub_1",
    *,
    customer_id: str = "cust_1",
    status: str = "active",
    item_price: str = "overage-credits-USD",
) -> Json:
    return {
        "id": subscription_id,
        "currency_code": "USD",
        "billing_period": 1,
        "billing_period_unit": "month",
        "customer_id": customer_id,
        "status": status,
        "current_term_start": DATE,
        "current_term_end": DATE + 30 * 86_400,
        "next_billing_at": DATE + 30 * 86_400,
        "created_at": DATE,
        "started_at": DATE,
        "activated_at": DATE,
        "updated_at": DATE,
        "has_scheduled_changes": False,
        "channel": "web",
        "resource_version": DATE * 1000,
        "deleted": False,
        "due_invoices_count": 0,
        "mrr": 0,
        "subscription_items": [
            {
                "item_price_id": item_price,
                "item_type": "addon",
                "unit_price": 1,
                "amount": 0,
                "free_quantity": 0,
            }
        ],
    }


def usage(
    usage_id: str, *, subscription_id: str, item_price: str, quantity: str, usage_date: int
) -> Json:
    return {
        "id": usage_id,
        "usage_date": usage_date,
        "subscription_id": subscription_id,
        "item_price_id": item_price,
        "quantity": quantity,
        "source": "api",
        "resource_version": usage_date * 1000,
        "updated_at": usage_date,
        "created_at": usage_date,
    }


def item_price(price_id: str = "credits-refill-10k-USD", *, currency: str = "USD") -> Json:
    return {
        "id": price_id,
        "name": price_id,
        "item_family_id": "ai-credits",
        "item_id": price_id.rsplit("-", 1)[0],
        "status": "active",
        "external_name": "Refill 10,000 credits",
        "pricing_model": "flat_fee",
        "price": 5_000,
        "period": 1,
        "currency_code": currency,
        "item_type": "charge",
        "is_taxable": True,
        "updated_at": DATE,
        "created_at": DATE,
        "resource_version": DATE * 1000,
        "channel": "web",
    }


def offset_token(position: int, updated_at: int) -> str:
    """An opaque page offset like Chargebee's (a JSON pair, base64 here to stay opaque)."""
    raw = json.dumps([str(updated_at * 1000), str(position)]).encode()
    return base64.urlsafe_b64encode(raw).decode()


def offset_position(token: str) -> int:
    return int(json.loads(base64.urlsafe_b64decode(token.encode()))[1])
