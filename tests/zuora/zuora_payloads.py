"""Builders of Zuora records shaped like the zuora-sdk 3.21 models (sdk_reference.json).

Object Query answers carry records in the "expanded" shapes: camelCase fields, amounts as JSON
numbers in major units, ``invoiceDate``/``memoDate``/``refundDate``/``effectiveDate`` and service
dates as plain dates, ``createdDate``/``updatedDate`` as date-times. test_zuora_payload_shapes.py
checks every builder against the SDK's field names and types.
"""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

ACCOUNT = "8ad09be48db5aaa9018db8f7d1e2c001"
CHARGE = "8a28f1d08f2d4c1e018f3a0c9b2e4d71"  # product rate plan charge of the 1M-credit bundle
DISCOUNT_CHARGE = "8a28f1d08f2d4c1e018f3a0c9b2e4dd0"
CREATED = "2026-01-05T09:00:00.000+00:00"
PAID = "2026-01-05T10:00:00.000+00:00"


def stamp(day: int = 5, hour: int = 10, minute: int = 0, second: int = 0, month: int = 1) -> str:
    return f"2026-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.000+00:00"


def contact(
    email: str = "ada@example.com",
    first: str = "Ada",
    last: str = "Lovelace",
    account: str = ACCOUNT,
) -> Json:
    return {
        "id": "8ad09be48db5aaa9018db8f7d1e2c0c1",
        "accountId": account,
        "firstName": first,
        "lastName": last,
        "workEmail": email,
        "country": "United States",
        "createdDate": CREATED,
        "updatedDate": CREATED,
    }


def account(
    account_id: str = ACCOUNT, name: str = "Analytical Engines Ltd", currency: str = "USD"
) -> Json:
    return {
        "id": account_id,
        "accountNumber": "A00000042",
        "name": name,
        "currency": currency,
        "status": "Active",
        "balance": 0,
        "billCycleDay": 1,
        "autoPay": True,
        "createdDate": CREATED,
        "updatedDate": CREATED,
    }


def invoice_item(
    item_id: str,
    *,
    invoice_id: str = "inv1",
    charge: str | None = CHARGE,
    amount: float = 10000.0,
    tax: float = 0.0,
    quantity: float = 1,
    processing_type: str = "Charge",
    applied_to: str | None = None,
    tax_mode: str = "TaxExclusive",
    service_end: str | None = "2027-01-04",
) -> Json:
    item: Json = {
        "id": item_id,
        "invoiceId": invoice_id,
        "productRatePlanChargeId": charge,
        "ratePlanChargeId": "8ad09be48db5aaa9018db8f7d1e2c2" + item_id[-2:].rjust(2, "0"),
        "chargeNumber": "C-00000107",
        "chargeName": "Prepaid credits (1M)" if processing_type == "Charge" else "10% off",
        "chargeAmount": amount,
        "taxAmount": tax,
        "taxMode": tax_mode,
        "quantity": quantity,
        "unitPrice": amount / quantity if quantity else amount,
        "uOM": "Each",
        "sKU": "SKU-00000012",
        "processingType": processing_type,
        "serviceStartDate": "2026-01-05",
        "serviceEndDate": service_end,
        "subscriptionId": "8ad09be48db5aaa9018db8f7d1e2c301",
        "subscriptionNumber": "A-S00000021",
        "accountId": ACCOUNT,
        "createdDate": CREATED,
        "updatedDate": CREATED,
    }
    if applied_to:
        item["appliedToInvoiceItemId"] = applied_to
    return item


def payment_application(
    invoice_id: str, amount: float, created: str = PAID, payment: str = "pay1"
) -> Json:
    return {
        "id": f"pa-{payment}-{invoice_id}",
        "applyAmount": amount,
        "effectiveDate": created[:10],
        "paymentApplicationStatus": "Success",
        "accountId": ACCOUNT,
        "paymentId": payment,
        "invoiceId": invoice_id,
        "createdDate": created,
        "updatedDate": created,
    }


def credit_memo_application(
    invoice_id: str, memo_id: str, amount: float, created: str = PAID
) -> Json:
    return {
        "id": f"cma-{memo_id}-{invoice_id}",
        "amount": amount,
        "effectiveDate": created[:10],
        "creditMemoId": memo_id,
        "accountId": ACCOUNT,
        "invoiceId": invoice_id,
        "createdDate": created,
        "updatedDate": created,
    }


def invoice(
    invoice_id: str = "inv1",
    *,
    items: list[Json] | None = None,
    status: str = "Posted",
    balance: float | None = 0.0,
    paid_at: str | None = PAID,
    updated: str = PAID,
    currency: str = "USD",
    credit_memo_amount: float = 0.0,
    reversed: bool = False,
    account_id: str = ACCOUNT,
    applications: list[Json] | None = None,
    memo_applications: list[Json] | None = None,
) -> Json:
    items = (
        items if items is not None else [invoice_item(f"{invoice_id}-i1", invoice_id=invoice_id)]
    )
    net = sum(float(i["chargeAmount"]) for i in items)
    tax = sum(float(i["taxAmount"]) for i in items)
    amount = round(net + tax, 2)
    paid = amount if balance is None else round(amount - balance, 2)
    if applications is None:
        applications = [payment_application(invoice_id, paid, paid_at)] if paid_at and paid else []
    return {
        "id": invoice_id,
        "invoiceNumber": f"INV{invoice_id[-8:].upper():0>8}",
        "accountId": account_id,
        "status": status,
        "reversed": reversed,
        "currency": currency,
        "amount": amount,
        "amountWithoutTax": round(net, 2),
        "taxAmount": round(tax, 2),
        "balance": amount if balance is None else balance,
        "paymentAmount": paid,
        "creditMemoAmount": credit_memo_amount,
        "refundAmount": 0.0,
        "invoiceDate": "2026-01-05",
        "dueDate": "2026-02-04",
        "postedDate": CREATED,
        "createdDate": CREATED,
        "updatedDate": updated,
        "account": account(account_id, currency=currency),
        "billToContact": contact(account=account_id),
        "invoiceItems": items,
        "paymentApplications": applications,
        "creditMemoApplications": memo_applications or [],
    }


def credit_memo_item(
    item_id: str,
    *,
    memo_id: str = "cm1",
    invoice_item_id: str | None = "inv1-i1",
    amount: float = 2500.0,
    tax: float = 0.0,
) -> Json:
    return {
        "id": item_id,
        "creditMemoId": memo_id,
        "invoiceItemId": invoice_item_id,
        "productRatePlanChargeId": CHARGE,
        "amount": round(amount + tax, 2),
        "amountWithoutTax": amount,
        "taxAmount": tax,
        "quantity": 1,
        "unitOfMeasure": "Each",
        "sku": "SKU-00000012",
        "sourceItemType": "InvoiceDetail",
        "chargeName": "Prepaid credits (1M)",
        "serviceStartDate": "2026-01-05",
        "createdDate": CREATED,
        "updatedDate": CREATED,
    }


def credit_memo(
    memo_id: str = "cm1",
    *,
    invoice_id: str | None = "inv1",
    items: list[Json] | None = None,
    status: str = "Posted",
    posted_on: str = stamp(20),
    updated: str = stamp(20),
    currency: str = "USD",
) -> Json:
    items = items if items is not None else [credit_memo_item(f"{memo_id}-i1", memo_id=memo_id)]
    net = sum(float(i["amountWithoutTax"]) for i in items)
    tax = sum(float(i["taxAmount"]) for i in items)
    return {
        "id": memo_id,
        "memoNumber": f"CM{memo_id[-8:].upper():0>8}",
        "accountId": ACCOUNT,
        "invoiceId": invoice_id,
        "status": status,
        "reasonCode": "Correcting invoice error",
        "currency": currency,
        "totalAmount": round(net + tax, 2),
        "totalAmountWithoutTax": round(net, 2),
        "taxAmount": round(tax, 2),
        "refundAmount": 0.0,
        "appliedAmount": 0.0,
        "balance": round(net + tax, 2),
        "memoDate": posted_on[:10],
        "postedOn": posted_on,
        "source": "API",
        "sourceType": "Standalone",
        "createdDate": posted_on,
        "updatedDate": updated,
        "creditMemoItems": items,
    }


def refund_application(
    application_id: str,
    *,
    refund_id: str = "rf1",
    amount: float = 1000.0,
    payment_id: str | None = "pay1",
    invoice_id: str | None = "inv1",
    memo_id: str | None = None,
) -> Json:
    app: Json = {
        "id": application_id,
        "refundId": refund_id,
        "applyAmount": amount,
        "effectiveDate": "2026-01-25",
        "accountId": ACCOUNT,
        "createdDate": stamp(25),
        "updatedDate": stamp(25),
    }
    for field, value in (
        ("paymentId", payment_id),
        ("invoiceId", invoice_id),
        ("creditMemoId", memo_id),
    ):
        if value:
            app[field] = value
    return app


def refund(
    refund_id: str = "rf1",
    *,
    amount: float = 1000.0,
    status: str = "Processed",
    applications: list[Json] | None = None,
    updated: str = stamp(25),
    cancelled_on: str | None = None,
    currency: str = "USD",
) -> Json:
    body: Json = {
        "id": refund_id,
        "refundNumber": f"R-{refund_id[-8:]:0>8}",
        "accountId": ACCOUNT,
        "type": "Electronic",
        "methodType": "CreditCard",
        "status": status,
        "amount": amount,
        "currency": currency,
        "refundDate": "2026-01-25",
        "refundTransactionTime": stamp(25),
        "reasonCode": "Standard Refund",
        "createdDate": stamp(25),
        "updatedDate": updated,
        "refundApplications": applications
        if applications is not None
        else [refund_application(f"{refund_id}-a1", refund_id=refund_id, amount=amount)],
    }
    if cancelled_on:
        body["cancelledOn"] = cancelled_on
    return body


def payment(
    payment_id: str = "pay1", *, applications: list[Json], amount: float | None = None
) -> Json:
    total = amount if amount is not None else sum(float(a["applyAmount"]) for a in applications)
    return {
        "id": payment_id,
        "paymentNumber": f"P-{payment_id[-8:]:0>8}",
        "accountId": ACCOUNT,
        "amount": total,
        "appliedAmount": total,
        "unappliedAmount": 0.0,
        "refundAmount": 0.0,
        "currency": "USD",
        "effectiveDate": "2026-01-05",
        "status": "Processed",
        "type": "Electronic",
        "createdDate": PAID,
        "updatedDate": PAID,
        "paymentApplications": applications,
    }


def usage(usage_id: str, *, account_id: str, quantity: float, description: str, uom: str) -> Json:
    return {
        "id": usage_id,
        "accountId": account_id,
        "quantity": quantity,
        "uOM": uom,
        "description": description,
        "startDateTime": stamp(),
        "sourceType": "API",
        "rbeStatus": "Pending",
        "createdDate": stamp(),
        "updatedDate": stamp(),
    }


def charge_tier(charge: str, currency: str = "USD", price: float = 5000.0) -> Json:
    return {
        "id": f"tier-{charge[-6:]}-{currency}",
        "productRatePlanChargeId": charge,
        "currency": currency,
        "price": price,
        "priceFormat": "Per Unit",
        "tier": 1,
        "startingUnit": 0,
        "active": True,
        "createdDate": CREATED,
        "updatedDate": CREATED,
    }


def token(access_token: str, expires_in: int = 3599) -> Json:
    return {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": expires_in,
        "scope": "entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc platform.write service.usage.write",
        "jti": access_token[-12:],
    }


def failure(code: str, message: str) -> Json:
    return {
        "success": False,
        "processId": "5F2A1C3D9E8B7A60",
        "reasons": [{"code": code, "message": message}],
    }


def journal_entry_detail(
    number: str,
    *,
    period_name: str,
    currency: str,
    entry_date: str,
    notes: str,
    items: list[Json],
    status: str = "Created",
) -> Json:
    return {
        "success": True,
        "number": number,
        "accountingPeriodName": period_name,
        "currency": currency,
        "homeCurrency": currency,
        "aggregateCurrency": False,
        "journalEntryDate": entry_date,
        "notes": notes,
        "status": status,
        "transferredToAccounting": "No",
        "timePeriodStart": entry_date[:8] + "01",
        "timePeriodEnd": entry_date,
        "segments": [],
        "journalEntryItems": [
            {
                "accountingCodeName": item["accountingCodeName"],
                "accountingCodeType": "OtherLiabilities",
                "amount": item["amount"],
                "glAccountNumber": item["accountingCodeName"],
                "type": item["type"],
            }
            for item in items
        ],
    }


def data_query_job(job_id: str, status: str, data_file: str | None = None) -> Json:
    job: Json = {
        "id": job_id,
        "query": "SELECT ...",
        "queryStatus": status,
        "remainingRetries": 3,
        "updatedOn": "2026-02-03T08:00:00Z",
        "outputRows": 0,
        "processingTime": 120,
    }
    if data_file:
        job["dataFile"] = data_file
    return {"data": job}
