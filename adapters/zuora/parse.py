"""Zuora records (Object Query "expanded" JSON, zuora-sdk 3.21 shapes) to canonical events.

Pure functions: whatever needs another request (the invoice a credit memo or refund refers to,
the payment behind a refund) is read by the caller and passed in, so a callout and a sync run go
through the same code and yield the same source keys.

Money rules:
- Amounts are decimal numbers in major units; they become integer minor units exactly (a value
  with more decimals than the currency has is refused, never rounded).
- An invoice item's ``chargeAmount`` excludes tax even for tax-inclusive charges. A discount
  arrives as its own item (``processingType`` Discount, a negative ``chargeAmount``) pointing at
  the item it discounts through ``appliedToInvoiceItemId``; it is folded into that item, so the
  purchase's net is after discounts and no discount ever reads as a purchase or as unmapped.
- A refund returns gross money; its revenue part is the refunded fraction of the invoice's
  gross ``amount`` applied to its ``amountWithoutTax`` (connector.platform.shares), taken on the
  invoice's cumulative refunds so that refunds in parts add up to the share of their sum.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from connector.errors import InvalidInput
from connector.events import (
    CanonicalEvent,
    CreditNote,
    Customer,
    Purchase,
    Refund,
    RefundFailed,
    SourceKey,
    Void,
)
from connector.money import parse_major
from connector.platform.shares import GrossToNet, spread

PLATFORM = "zuora"
log = logging.getLogger(__name__)

Obj = Mapping[str, Any]

DISCOUNT = "Discount"
REFUND_DONE = "Processed"
REFUND_UNDONE = ("Canceled", "Error")


def key(object_id: str, line_id: str = "") -> SourceKey:
    return SourceKey(platform=PLATFORM, object_id=object_id, line_id=line_id)


def minor(value: Any, currency: str, field: str) -> int:
    """A Zuora decimal amount in minor units; absent counts as zero."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str | float):
        raise InvalidInput(field, f"{value!r} is not an amount")
    return parse_major(str(value), currency, field)


def instant(value: Any) -> datetime | None:
    """A Zuora date-time (``2026-01-05T10:00:00.000+00:00``) or plain date (midnight UTC)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def latest(values: Sequence[Any]) -> datetime | None:
    found = [moment for moment in map(instant, values) if moment is not None]
    return max(found) if found else None


# -- invoices -------------------------------------------------------------------------------


def is_void(invoice: Obj) -> bool:
    """Reversed, or cancelled after it had been posted (a draft never posted sold nothing)."""
    cancelled = invoice.get("status") == "Canceled" and bool(invoice.get("postedDate"))
    return cancelled or invoice.get("reversed") is True


def is_paid(invoice: Obj) -> bool:
    """Posted, not reversed, something to pay, and nothing left to pay (payments or credit)."""
    if invoice.get("status") != "Posted" or invoice.get("reversed") is True:
        return False
    amount = invoice.get("amount")
    balance = invoice.get("balance")
    return amount is not None and Decimal(str(amount)) > 0 and Decimal(str(balance or 0)) == 0


def paid_at(invoice: Obj) -> datetime | None:
    """When the last payment or credit that settled the invoice was applied."""
    applications = [
        *(invoice.get("paymentApplications") or ()),
        *(invoice.get("creditMemoApplications") or ()),
    ]
    return (
        latest([a.get("createdDate") for a in applications])
        or latest([a.get("effectiveDate") for a in applications])
        or instant(invoice.get("updatedDate"))
        or instant(invoice.get("invoiceDate"))
    )


@lru_cache(maxsize=4096)
def shared_customer(external_id: str, email: str | None, name: str | None) -> Customer:
    """Customers repeat across invoices; the model is frozen, so one instance serves them all."""
    return Customer(external_id=external_id, email=email or None, name=name or None)


def customer_of(invoice: Obj) -> Customer | None:
    """The invoice's account, with its bill-to e-mail and the account (or contact) name."""
    account_id = invoice.get("accountId")
    if not account_id:
        return None
    account = invoice.get("account") or {}
    contact = invoice.get("billToContact") or account.get("billTo") or {}
    email = contact.get("workEmail") or contact.get("personalEmail")
    person = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    return shared_customer(str(account_id), email, account.get("name") or person or None)


@dataclass(frozen=True)
class ItemMoney:
    net: int
    tax: int


def item_money(items: Sequence[Obj], currency: str) -> dict[str, ItemMoney]:
    """Net (after folded discounts, before tax) and tax per charge item id."""
    money: dict[str, ItemMoney] = {}
    for item in items:
        if item.get("processingType") == DISCOUNT:
            continue
        money[str(item["id"])] = ItemMoney(
            net=minor(item.get("chargeAmount"), currency, "chargeAmount"),
            tax=minor(item.get("taxAmount"), currency, "taxAmount"),
        )
    for item in items:
        target = item.get("appliedToInvoiceItemId")
        if item.get("processingType") != DISCOUNT or target not in money:
            continue
        off = abs(minor(item.get("chargeAmount"), currency, "chargeAmount"))
        tax_off = abs(minor(item.get("taxAmount"), currency, "taxAmount"))
        found = money[target]
        money[target] = ItemMoney(net=found.net - off, tax=found.tax - tax_off)
    return money


def _quantity(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() and amount > 0 else None


def invoice_events(invoice: Obj) -> list[CanonicalEvent]:
    """A paid invoice: one Purchase per charge item. A cancelled or reversed one: a Void."""
    invoice_id = str(invoice["id"])
    currency = str(invoice.get("currency") or "")
    if is_void(invoice):
        when = instant(invoice.get("updatedDate")) or instant(invoice.get("invoiceDate"))
        if when is None:
            return []
        return [
            Void(
                source=key(invoice_id),
                occurred_at=when,
                currency=currency,
                target_object=invoice_id,
            )
        ]
    if not is_paid(invoice):
        return []
    customer = customer_of(invoice)
    if customer is None:
        log.warning("zuora invoice %s has no account; its items are not purchases", invoice_id)
        return []
    occurred_at = paid_at(invoice)
    if occurred_at is None:
        log.warning("zuora invoice %s carries no date; its items are not purchases", invoice_id)
        return []
    items = list(invoice.get("invoiceItems") or ())
    money = item_money(items, currency)
    events: list[CanonicalEvent] = []
    for item in items:
        item_id = str(item["id"])
        charge = item.get("productRatePlanChargeId")
        quantity = _quantity(item.get("quantity"))
        found = money.get(item_id)
        if found is None or not charge or quantity is None or found.net < 0:
            log.debug("zuora invoice %s item %s is not a purchase", invoice_id, item_id)
            continue
        end = instant(item.get("serviceEndDate"))
        events.append(
            Purchase(
                source=key(invoice_id, item_id),
                occurred_at=occurred_at,
                currency=currency,
                customer=customer,
                item_id=str(charge),
                item_aliases=tuple(a for a in (item.get("chargeNumber"),) if a),
                quantity=quantity,
                net_amount=found.net,
                tax_amount=max(found.tax, 0),
                period_end=end,
                description=str(item.get("chargeName") or item.get("description") or ""),
            )
        )
    return events


def invoice_totals(invoice: Obj) -> GrossToNet:
    currency = str(invoice["currency"])
    return GrossToNet(
        gross_total=minor(invoice.get("amount"), currency, "amount"),
        net_total=minor(invoice.get("amountWithoutTax"), currency, "amountWithoutTax"),
    )


# -- credit memos ---------------------------------------------------------------------------


def credit_memo_events(memo: Obj, invoice: Obj | None) -> list[CreditNote]:
    """A posted credit memo against a paid invoice: one CreditNote per item with revenue.

    An item that credits an invoice item targets that item; any other spreads over the invoice.
    ``invoice`` is the memo's ``invoiceId`` record (None when the memo refers to none).
    """
    invoice_id = memo.get("invoiceId")
    if memo.get("status") != "Posted" or not invoice_id or invoice is None:
        return []
    if not is_paid(invoice):
        return []
    currency = str(memo.get("currency") or invoice.get("currency"))
    when = (
        instant(memo.get("postedOn"))
        or instant(memo.get("memoDate"))
        or instant(memo.get("updatedDate"))
    )
    if when is None:
        return []
    charge_items = {
        str(i["id"])
        for i in invoice.get("invoiceItems") or ()
        if i.get("processingType") != DISCOUNT
    }
    events: list[CreditNote] = []
    for item in memo.get("creditMemoItems") or ():
        amount = item.get("amountWithoutTax")
        if amount is None:
            amount = Decimal(str(item.get("amount") or 0)) - Decimal(
                str(item.get("taxAmount") or 0)
            )
        net = minor(amount, currency, "amountWithoutTax")
        if net <= 0:
            continue
        target = item.get("invoiceItemId")
        known = not charge_items or target in charge_items
        events.append(
            CreditNote(
                source=key(str(memo["id"]), str(item["id"])),
                occurred_at=when,
                currency=currency,
                target_object=str(invoice_id),
                target_line=str(target) if target and known else None,
                amount=net,
            )
        )
    return events


# -- refunds --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefundTarget:
    """An invoice a refunded payment paid, and the part of the payment that went to it."""

    invoice: Obj
    applied: int  # minor units of the payment applied to this invoice
    refunded_before: int = 0  # gross minor units refunded from this invoice by earlier refunds


def refunded_before(application: Obj, applications: Sequence[Obj], currency: str) -> int:
    """Gross amount of the invoice's processed payment refunds applied before ``application``.

    ``applications`` are the invoice's refund applications with their refunds expanded; the
    order is the time each was applied, then the id, the same on every read.
    """
    position = (str(application.get("createdDate") or ""), str(application.get("id")))
    return sum(
        minor(other.get("applyAmount"), currency, "applyAmount")
        for other in applications
        if other.get("paymentId")
        and not other.get("creditMemoId")
        and (other.get("refund") or {}).get("status") == REFUND_DONE
        and (str(other.get("createdDate") or ""), str(other.get("id"))) < position
    )


def payment_refund_applications(refund: Obj) -> list[Obj]:
    """The refund's applications that return a payment; a memo's refund is the memo's event."""
    return [
        app
        for app in refund.get("refundApplications") or ()
        if app.get("paymentId") and not app.get("creditMemoId")
    ]


def refund_events(
    refund: Obj, application: Obj, targets: Sequence[RefundTarget]
) -> list[CanonicalEvent]:
    """The events of one payment refund application, spread over the invoices it paid.

    Processed: a Refund of each invoice's revenue share. Cancelled or in error after the fact:
    a RefundFailed undoing that Refund (same source key), so the credits come back.
    """
    status = refund.get("status")
    if status != REFUND_DONE and status not in REFUND_UNDONE:
        return []
    if not targets:
        return []
    currency = str(refund.get("currency") or targets[0].invoice.get("currency"))
    done = status == REFUND_DONE
    moments = (
        ("refundTransactionTime", "refundDate", "updatedDate")
        if done
        else ("cancelledOn", "updatedDate")
    )
    when = next((m for m in (instant(refund.get(f)) for f in moments) if m is not None), None)
    if when is None:
        return []
    gross = minor(application.get("applyAmount"), currency, "applyAmount")
    parts = spread(gross, [t.applied for t in targets])
    events: list[CanonicalEvent] = []
    for target, part in zip(targets, parts, strict=True):
        invoice_id = str(target.invoice["id"])
        line = f"{application['id']}:{invoice_id}" if len(targets) > 1 else str(application["id"])
        source = key(str(refund["id"]), line)
        if not done:
            events.append(
                RefundFailed(
                    source=key(str(refund["id"]), f"{line}:failed"),
                    occurred_at=when,
                    currency=currency,
                    refund=source,
                    target_object=invoice_id,
                )
            )
            continue
        amount = invoice_totals(target.invoice).share_after(target.refunded_before, part)
        if amount > 0:
            events.append(
                Refund(
                    source=source,
                    occurred_at=when,
                    currency=currency,
                    target_object=invoice_id,
                    target_line=None,
                    amount=amount,
                )
            )
    return events
