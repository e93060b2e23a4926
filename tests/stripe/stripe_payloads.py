"""Factories for Stripe API payloads, shaped like API version 2026-10-28.endive answers.

Each factory returns the JSON object Stripe sends (every top-level field the pinned SDK types
declare), with keyword overrides so a test states only what it is about. Lists use Stripe's list
envelope; errors use its error body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

API_VERSION = "2026-10-28.endive"
PAID_AT = 1_767_571_200  # 2026-01-05T00:00:00Z
CREATED = 1_767_484_800  # 2026-01-04T00:00:00Z

Json = dict[str, Any]


def list_envelope(data: list[Json], *, url: str, has_more: bool = False) -> Json:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def error_body(
    message: str, *, type_: str = "invalid_request_error", code: str | None = None, **extra: Any
) -> Json:
    error: Json = {"type": type_, "message": message}
    if code is not None:
        error["code"] = code
    error.update(extra)
    return {"error": error}


def tax(amount: int, *, behavior: str = "exclusive", taxable_amount: int = 0) -> Json:
    return {
        "amount": amount,
        "tax_behavior": behavior,
        "tax_rate_details": {"tax_rate": "txr_1QvAT2"},
        "taxability_reason": "standard_rated",
        "taxable_amount": taxable_amount,
        "type": "tax_rate_details",
    }


def invoice_line(
    line_id: str = "il_1",
    *,
    invoice_id: str = "in_1",
    price: str | Json = "price_credits_1000",
    product: str = "prod_credits",
    amount: int = 10_000,
    quantity: int = 1,
    currency: str = "usd",
    discounts: list[int] | None = None,
    taxes: list[Json] | None = None,
    period_start: int = PAID_AT,
    period_end: int = PAID_AT,
    subscription: str | None = None,
    description: str = "1,000 AI credits",
) -> Json:
    discount_amounts = [
        {"amount": value, "discount": f"di_{line_id}_{i}"}
        for i, value in enumerate(discounts or [])
    ]
    if subscription is None:
        parent: Json = {
            "invoice_item_details": {
                "invoice_item": f"ii_{line_id}",
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        }
    else:
        parent = {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": f"si_{line_id}",
            },
            "type": "subscription_item_details",
        }
    return {
        "id": line_id,
        "object": "line_item",
        "amount": amount,
        "currency": currency,
        "description": description,
        "discount_amounts": discount_amounts,
        "discountable": True,
        "discounts": [d["discount"] for d in discount_amounts],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"end": period_end, "start": period_start},
        "pretax_credit_amounts": [
            {
                "amount": d["amount"],
                "credit_balance_transaction": None,
                "discount": d["discount"],
                "type": "discount",
            }
            for d in discount_amounts
        ],
        "pricing": {
            "price_details": {"price": price, "product": product},
            "type": "price_details",
            "unit_amount_decimal": str(amount // quantity) if quantity else str(amount),
        },
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "subscription": subscription,
        "subtotal": amount,
        "taxes": taxes or [],
    }


def invoice_item(
    item_id: str = "ii_1",
    *,
    invoice_id: str | None = "in_1",
    customer: str = "cus_1",
    price: str = "price_credits_1000",
    product: str = "prod_credits",
    unit_amount: int = 5_000,
    quantity: int = 1,
    currency: str = "usd",
) -> Json:
    """An invoice item, as ``POST /v1/invoiceitems`` answers."""
    return {
        "id": item_id,
        "object": "invoiceitem",
        "amount": unit_amount * quantity,
        "currency": currency,
        "customer": customer,
        "customer_account": None,
        "date": CREATED,
        "description": "AI credits refill",
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "net_amount": unit_amount * quantity,
        "parent": None,
        "period": {"end": CREATED, "start": CREATED},
        "pricing": {
            "price_details": {"price": price, "product": product},
            "type": "price_details",
            "unit_amount_decimal": str(unit_amount),
        },
        "proration": False,
        "proration_details": {"discount_amounts": []},
        "quantity": quantity,
        "quantity_decimal": str(quantity),
        "tax_rates": [],
        "test_clock": None,
    }


def invoice(
    invoice_id: str = "in_1",
    *,
    lines: list[Json] | None = None,
    lines_has_more: bool = False,
    status: str = "paid",
    customer: str | Json = "cus_1",
    customer_email: str | None = "ada@example.com",
    customer_name: str | None = "Ada Lovelace",
    currency: str = "usd",
    created: int = CREATED,
    paid_at: int | None = PAID_AT,
    voided_at: int | None = None,
    subscription: str | None = None,
    billing_reason: str = "manual",
) -> Json:
    lines = [invoice_line(invoice_id=invoice_id)] if lines is None else lines
    subtotal = sum(line["amount"] for line in lines)
    discount = sum(d["amount"] for line in lines for d in line["discount_amounts"])
    exclusive = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "exclusive"
    )
    inclusive = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "inclusive"
    )
    total = subtotal - discount + exclusive
    paid = status == "paid"
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Example AI, Inc.",
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": total if paid else 0,
        "amount_paid_off_stripe": None,
        "amount_remaining": 0 if paid else total,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1 if paid else 0,
        "attempted": paid,
        "auto_advance": False,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "subscription_cycle" if subscription else billing_reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": customer,
        "customer_account": None,
        "customer_address": None,
        "customer_email": customer_email,
        "customer_name": customer_name,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": created + 60,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_1/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_1/test_{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": list_envelope(
            lines, url=f"/v1/invoices/{invoice_id}/lines", has_more=lines_has_more
        ),
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": f"INV-{invoice_id[-6:].upper()}",
        "on_behalf_of": None,
        "parent": (
            {
                "quote_details": None,
                "subscription_details": {
                    "metadata": {},
                    "subscription": subscription,
                    "subscription_proration_date": None,
                },
                "type": "subscription_details",
            }
            if subscription
            else None
        ),
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": created,
        "period_start": created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": {
            "amount_tax_display": None,
            "pdf": {"page_size": "auto"},
            "template": None,
            "template_version": None,
        },
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": status,
        "status_details": None,
        "status_transitions": {
            "finalized_at": created + 60,
            "marked_uncollectible_at": None,
            "paid_at": paid_at if paid else None,
            "voided_at": voided_at,
        },
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal - inclusive,
        "test_clock": None,
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [
            {"amount": d["amount"], "discount": d["discount"]}
            for line in lines
            for d in line["discount_amounts"]
        ],
        "total_excluding_tax": total - exclusive - inclusive,
        "total_pretax_credit_amounts": [],
        "total_taxes": [t for line in lines for t in line["taxes"]],
        "webhooks_delivered_at": created + 5,
    }


def price(price_id: str = "price_credits_1000", *, lookup_key: str | None = None) -> Json:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": CREATED - 86_400,
        "currency": "usd",
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": lookup_key,
        "metadata": {},
        "nickname": None,
        "product": "prod_credits",
        "recurring": None,
        "tax_behavior": "exclusive",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "one_time",
        "unit_amount": 10_000,
        "unit_amount_decimal": "10000",
    }


def invoice_payment(
    invoice_id: str = "in_1", *, payment_intent: str = "pi_1", amount: int = 10_000
) -> Json:
    return {
        "id": f"inpay_{invoice_id}",
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": PAID_AT,
        "currency": "usd",
        "invoice": invoice_id,
        "is_default": True,
        "livemode": False,
        "payment": {"payment_intent": payment_intent, "type": "payment_intent"},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": PAID_AT},
    }


def refund(
    refund_id: str = "re_1",
    *,
    amount: int = 10_000,
    payment_intent: str | None = "pi_1",
    charge: str | None = "ch_1",
    status: str = "succeeded",
    created: int = PAID_AT + 86_400,
    currency: str = "usd",
    failure_balance_transaction: str | Json | None = None,
    failure_reason: str | None = None,
) -> Json:
    """A refund; a failed one names the balance transaction that reversed it, as Stripe does."""
    failed: Json = {}
    if status == "failed":
        failed = {
            "failure_balance_transaction": failure_balance_transaction or f"txn_fail_{refund_id}",
            "failure_reason": failure_reason or "expired_or_canceled_card",
        }
    return {
        **failed,
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": f"txn_{refund_id}",
        "charge": charge,
        "created": created,
        "currency": currency,
        "customer": "cus_1",
        "customer_account": None,
        "description": None,
        "destination_details": {
            "card": {
                "reference": "1234567890",
                "reference_status": "available",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": {},
        "payment_intent": payment_intent,
        "payment_method": "pm_1",
        "presentment_details": None,
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def balance_transaction(
    transaction_id: str,
    *,
    amount: int,
    created: int,
    type_: str = "refund_failure",
    source: str | None = None,
    currency: str = "usd",
) -> Json:
    """A balance transaction; ``refund_failure`` is the one that reverses a failed refund."""
    return {
        "id": transaction_id,
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + 2 * 86_400,
        "balance_type": "payments",
        "created": created,
        "currency": currency,
        "description": "REFUND FOR FAILED REFUND" if type_ == "refund_failure" else None,
        "exchange_rate": None,
        "fee": 0,
        "fee_details": [],
        "net": amount,
        "reporting_category": "refund_failure" if type_ == "refund_failure" else "charge",
        "source": source,
        "status": "pending",
        "type": type_,
    }


def customer(
    customer_id: str = "cus_1", *, email: str | None = None, name: str | None = None
) -> Json:
    """A customer object, complete as Stripe expands it into an invoice."""
    return {
        "id": customer_id,
        "object": "customer",
        "address": None,
        "balance": 0,
        "business_name": None,
        "created": CREATED - 30 * 86_400,
        "currency": "usd",
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": None,
        "discount": None,
        "email": email,
        "individual_name": None,
        "invoice_prefix": customer_id[-8:].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": {},
        "name": name,
        "next_invoice_sequence": 2,
        "phone": None,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def charge(charge_id: str = "ch_1", *, payment_intent: str | None = "pi_1") -> Json:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": 10_000,
        "amount_captured": 10_000,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": f"txn_{charge_id}",
        "billing_details": {
            "address": None,
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "EXAMPLE AI",
        "captured": True,
        "created": PAID_AT,
        "currency": "usd",
        "customer": "cus_1",
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": None,
        "paid": True,
        "payment_intent": payment_intent,
        "payment_method": "pm_1",
        "payment_method_details": None,
        "presentment_details": None,
        "radar_options": None,
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def credit_note_line(
    line_id: str = "cnli_1",
    *,
    invoice_line_item: str | None = "il_1",
    amount: int = 5_000,
    discount: int = 0,
    taxes: list[Json] | None = None,
    quantity: int = 1,
) -> Json:
    return {
        "id": line_id,
        "object": "credit_note_line_item",
        "amount": amount,
        "description": "1,000 AI credits",
        "discount_amount": discount,
        "discount_amounts": [{"amount": discount, "discount": "di_1"}] if discount else [],
        "invoice_line_item": invoice_line_item,
        "livemode": False,
        "metadata": {},
        "pretax_credit_amounts": [],
        "quantity": quantity,
        "tax_rates": [],
        "taxes": taxes or [],
        "type": "invoice_line_item" if invoice_line_item else "custom_line_item",
        "unit_amount": None if invoice_line_item else amount,
        "unit_amount_decimal": None if invoice_line_item else str(amount),
    }


def credit_note(
    credit_note_id: str = "cn_1",
    *,
    invoice_id: str = "in_1",
    lines: list[Json] | None = None,
    lines_has_more: bool = False,
    type_: str = "post_payment",
    status: str = "issued",
    refunds: list[str] | None = None,
    created: int = PAID_AT + 2 * 86_400,
    currency: str = "usd",
) -> Json:
    lines = [credit_note_line()] if lines is None else lines
    subtotal = sum(line["amount"] for line in lines)
    discount = sum(line["discount_amount"] for line in lines)
    exclusive = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "exclusive"
    )
    inclusive = sum(
        t["amount"] for line in lines for t in line["taxes"] if t["tax_behavior"] == "inclusive"
    )
    total = subtotal - discount + exclusive
    return {
        "id": credit_note_id,
        "object": "credit_note",
        "amount": total,
        "amount_shipping": 0,
        "created": created,
        "currency": currency,
        "customer": "cus_1",
        "customer_account": None,
        "customer_balance_transaction": None,
        "discount_amount": discount,
        "discount_amounts": [],
        "effective_at": created,
        "invoice": invoice_id,
        "lines": list_envelope(
            lines, url=f"/v1/credit_notes/{credit_note_id}/lines", has_more=lines_has_more
        ),
        "livemode": False,
        "memo": None,
        "metadata": {},
        "number": f"CN-{credit_note_id[-4:].upper()}",
        "out_of_band_amount": None,
        "pdf": f"https://pay.stripe.com/credit_notes/acct_1/test_{credit_note_id}/pdf",
        "post_payment_amount": total if type_ != "pre_payment" else 0,
        "pre_payment_amount": total if type_ == "pre_payment" else 0,
        "pretax_credit_amounts": [],
        "reason": "product_unsatisfactory",
        "refunds": [
            {"amount_refunded": total, "payment_record_refund": None, "refund": r, "type": "refund"}
            for r in refunds or []
        ],
        "shipping_cost": None,
        "status": status,
        "subtotal": subtotal,
        "subtotal_excluding_tax": subtotal - inclusive,
        "total": total,
        "total_excluding_tax": total - exclusive - inclusive,
        "total_taxes": [t for line in lines for t in line["taxes"]],
        "type": type_,
        "voided_at": None,
    }


def dispute(
    dispute_id: str = "du_1",
    *,
    status: str = "lost",
    amount: int = 10_000,
    payment_intent: str | None = "pi_1",
    charge: str = "ch_1",
    created: int = PAID_AT + 3 * 86_400,
    currency: str = "usd",
) -> Json:
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge,
        "created": created,
        "currency": currency,
        "enhanced_eligibility_types": [],
        "evidence": {
            "access_activity_log": None,
            "billing_address": None,
            "cancellation_policy": None,
            "cancellation_policy_disclosure": None,
            "cancellation_rebuttal": None,
            "customer_communication": None,
            "customer_email_address": None,
            "customer_name": None,
            "customer_purchase_ip": None,
            "customer_signature": None,
            "duplicate_charge_documentation": None,
            "duplicate_charge_explanation": None,
            "duplicate_charge_id": None,
            "enhanced_evidence": {},
            "product_description": None,
            "receipt": None,
            "refund_policy": None,
            "refund_policy_disclosure": None,
            "refund_refusal_explanation": None,
            "service_date": None,
            "service_documentation": None,
            "shipping_address": None,
            "shipping_carrier": None,
            "shipping_date": None,
            "shipping_documentation": None,
            "shipping_tracking_number": None,
            "uncategorized_file": None,
            "uncategorized_text": None,
        },
        "evidence_details": {
            "due_by": created + 7 * 86_400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "intended_submission_method": None,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "network_reason_code": "10.4",
        "payment_intent": payment_intent,
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "case_type": "chargeback",
                "network": "visa",
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        "reason": "fraudulent",
        "status": status,
    }


def checkout_line_item(
    item_id: str = "li_1",
    *,
    price_id: str = "price_credits_1000",
    lookup_key: str | None = "credits_1000",
    amount_subtotal: int = 10_000,
    amount_discount: int = 0,
    amount_tax: int = 0,
    inclusive_tax: bool = False,
    quantity: int = 1,
    currency: str = "usd",
) -> Json:
    total = amount_subtotal - amount_discount + (0 if inclusive_tax else amount_tax)
    return {
        "id": item_id,
        "object": "item",
        "adjustable_quantity": None,
        "amount_discount": amount_discount,
        "amount_subtotal": amount_subtotal,
        "amount_tax": amount_tax,
        "amount_total": total,
        "currency": currency,
        "description": "1,000 AI credits",
        "metadata": {},
        "price": price(price_id, lookup_key=lookup_key),
        "quantity": quantity,
        "taxes": [],
    }


def checkout_session(
    session_id: str = "cs_test_1",
    *,
    mode: str = "payment",
    status: str = "complete",
    payment_status: str = "paid",
    invoice: str | None = None,
    customer: str | None = "cus_1",
    email: str | None = "ada@example.com",
    name: str | None = "Ada Lovelace",
    amount_subtotal: int = 10_000,
    amount_tax: int = 0,
    amount_discount: int = 0,
    payment_intent: str | None = "pi_cs_1",
    created: int = CREATED,
    line_items: list[Json] | None = None,
    currency: str = "usd",
) -> Json:
    session: Json = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_subtotal,
        "amount_total": amount_subtotal - amount_discount + amount_tax,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": None,
        "client_reference_id": None,
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": created,
        "currency": currency,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": customer,
        "customer_account": None,
        "customer_creation": "always",
        "customer_details": {
            "address": None,
            "business_name": None,
            "email": email,
            "individual_name": None,
            "name": name,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": email,
        "discounts": [],
        "expires_at": created + 86_400,
        "invoice": invoice,
        "invoice_creation": {"enabled": invoice is not None, "invoice_data": {}},
        "livemode": False,
        "locale": None,
        "metadata": {},
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": status,
        "submit_type": None,
        "subscription": None,
        "success_url": "https://example.com/success",
        "total_details": {
            "amount_discount": amount_discount,
            "amount_shipping": 0,
            "amount_tax": amount_tax,
        },
        "ui_mode": "hosted_page",
        "url": None,
        "wallet_options": None,
    }
    if line_items is not None:
        session["line_items"] = list_envelope(
            line_items, url=f"/v1/checkout/sessions/{session_id}/line_items"
        )
    return session


def event(
    event_id: str,
    type_: str,
    obj: Json,
    *,
    created: int = PAID_AT,
    previous_attributes: Json | None = None,
    api_version: str = API_VERSION,
) -> Json:
    data: Json = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id,
        "object": "event",
        "account": None,
        "api_version": api_version,
        "context": None,
        "created": created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type_,
    }


def meter_event(event_name: str, customer: str, value: int, identifier: str, ts: int) -> Json:
    return {
        "object": "billing.meter_event",
        "created": ts,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": {"stripe_customer_id": customer, "value": str(value)},
        "timestamp": ts,
    }


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """A Stripe-Signature header value, computed as Stripe documents it."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def dumps(payload: Json) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()
