"""Chargebee objects (plain JSON of API v2, as the 3.29 SDK keeps them in ``raw_data``) to
canonical events.

Pure functions: whatever needs another request (the rest of a cut-short line list, the customer's
e-mail, the invoices a payment paid) is fetched by the caller and passed in, so a webhook re-read
and a listed object go through the same code and yield the same source keys.

Money rules, from the line's own fields: ``amount`` is before discounts; net = ``amount`` -
``discount_amount`` - ``item_level_discount_amount``, less ``tax_amount`` when the invoice's
``price_type`` is ``tax_inclusive`` (the amount then includes tax). Chargebee's whole-number
amounts are in cents, and in the major unit for zero-decimal currencies (JPY, KRW): both are
ISO 4217 minor units already. A refund or dispute returns gross money (tax included), so its
net share is the same fraction of the invoice's net total as the amount is of its gross total.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from connector.events import (
    CreditNote,
    Customer,
    Dispute,
    DisputeOutcome,
    Purchase,
    Refund,
    RefundFailed,
    SourceKey,
    Void,
)
from connector.money import exponent
from connector.platform.shares import GrossToNet, spread

PLATFORM = "chargebee"
log = logging.getLogger(__name__)

Obj = Mapping[str, Any]

CHARGEBEE_DECIMALS = 2  # "cents", except for zero-decimal currencies
REFUND_FAILED = frozenset({"failure", "late_failure"})
CREDITING_NOTE_TYPES = frozenset({"refundable", "adjustment"})


def instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(int(seconds), UTC)


def key(object_id: str, line_id: str = "") -> SourceKey:
    return SourceKey(platform=PLATFORM, object_id=object_id, line_id=line_id)


def minor_units(amount: Any, currency: str) -> int:
    """A Chargebee whole-number amount in ISO 4217 minor units of ``currency``.

    Chargebee multiplies by 100, except for zero-decimal currencies (JPY: "Chargebee does not
    multiply the amount value by 100"), and prices carry at most two decimals; so only a
    currency with more than two decimals (KWD) would need scaling. Sources: chargebee.com/docs
    "What are zero decimal currencies?" and "What is multi-decimal support in Chargebee?".
    """
    value = int(amount or 0)
    digits = exponent(currency)
    scale: int = 10 ** (digits - min(digits, CHARGEBEE_DECIMALS))
    return value * scale


@lru_cache(maxsize=4096)
def shared_customer(external_id: str, email: str | None, name: str | None) -> Customer:
    """Customers repeat across invoices; the model is frozen, so one instance serves them all."""
    return Customer(external_id=external_id, email=email or None, name=name or None)


def customer_of(customer_id: str, details: Obj | None) -> Customer:
    """The customer with the e-mail and name of a Customer object (or a billing address)."""
    details = details or {}
    name = " ".join(str(details.get(part) or "") for part in ("first_name", "last_name")).strip()
    name = name or str(details.get("company") or "")
    return shared_customer(customer_id, details.get("email"), name or None)


def has_contact(details: Obj | None) -> bool:
    return bool(details and details.get("email"))


# -- invoices -------------------------------------------------------------------------------


def line_net_and_tax(line: Obj, tax_inclusive: bool, currency: str) -> tuple[int, int]:
    tax = minor_units(line.get("tax_amount"), currency)
    net = (
        minor_units(line.get("amount"), currency)
        - minor_units(line.get("discount_amount"), currency)
        - minor_units(line.get("item_level_discount_amount"), currency)
    )
    return (net - tax if tax_inclusive else net), tax


def _is_tax_inclusive(document: Obj) -> bool:
    return document.get("price_type") == "tax_inclusive"


def invoice_purchases(invoice: Obj, lines: Sequence[Obj], customer: Customer) -> list[Purchase]:
    """A paid invoice: one Purchase per line that names an item price. Others: nothing.

    ``lines`` is the invoice's complete line list (see ``line_items_next_offset``).
    """
    if invoice.get("status") != "paid" or invoice.get("deleted"):
        return []
    invoice_id = str(invoice["id"])
    currency = str(invoice["currency_code"])
    inclusive = _is_tax_inclusive(invoice)
    occurred_at = instant(invoice.get("paid_at") or invoice["date"])
    purchases: list[Purchase] = []
    for line in lines:
        item_price = line.get("entity_id")
        quantity = line.get("quantity")
        net, tax = line_net_and_tax(line, inclusive, currency)
        if (
            not item_price
            or line.get("entity_type") == "adhoc"
            or not isinstance(quantity, int)
            or quantity <= 0
            or net < 0
        ):
            log.debug("chargebee invoice %s line %s is not a purchase", invoice_id, line.get("id"))
            continue
        purchases.append(
            Purchase(
                source=key(invoice_id, str(line["id"])),
                occurred_at=occurred_at,
                currency=currency,
                customer=customer,
                item_id=str(item_price),
                quantity=quantity,
                net_amount=net,
                tax_amount=tax,
                period_end=instant(line["date_to"]) if line.get("date_to") else None,
                description=str(line.get("description") or ""),
            )
        )
    return purchases


def void_event(invoice: Obj) -> Void | None:
    """A voided invoice: every pool it granted loses what remains (nothing if none was)."""
    if invoice.get("status") != "voided":
        return None
    invoice_id = str(invoice["id"])
    when = instant(invoice.get("voided_at") or invoice.get("updated_at") or invoice["date"])
    return Void(
        source=key(invoice_id),
        occurred_at=when,
        currency=str(invoice["currency_code"]),
        target_object=invoice_id,
    )


@dataclass(frozen=True)
class InvoiceTotals:
    """What a payment paid: an invoice's gross total and the revenue (net) part of it."""

    invoice_id: str
    gross: int
    net: int

    @classmethod
    def of(cls, invoice: Obj) -> InvoiceTotals:
        currency = str(invoice["currency_code"])
        gross = minor_units(invoice.get("total"), currency)
        net = gross - minor_units(invoice.get("tax"), currency)
        return cls(invoice_id=str(invoice["id"]), gross=gross, net=max(net, 0))

    def net_share(self, gross_amount: int) -> int:
        """The revenue part of ``gross_amount`` returned on this invoice, rounded once."""
        return GrossToNet(gross_total=self.gross, net_total=self.net).share(gross_amount)


# -- credit notes ---------------------------------------------------------------------------


def credit_note_events(note: Obj, lines: Sequence[Obj]) -> list[CreditNote]:
    """A refundable or adjustment note against an invoice: one CreditNote per line.

    A line that names the invoice line it credits (``reference_line_item_id``) targets it; a
    line without one spreads over the invoice. A voided or deleted note, or a store-credit
    note (``store``: no invoice), yields nothing.
    """
    invoice_id = note.get("reference_invoice_id")
    if (
        note.get("type") not in CREDITING_NOTE_TYPES
        or note.get("status") == "voided"
        or note.get("deleted")
        or not invoice_id
    ):
        return []
    currency = str(note["currency_code"])
    inclusive = _is_tax_inclusive(note)
    when = instant(note.get("date") or note["generated_at"])
    events: list[CreditNote] = []
    for line in lines:
        net, _ = line_net_and_tax(line, inclusive, currency)
        if net <= 0:
            continue
        events.append(
            CreditNote(
                source=key(str(note["id"]), str(line["id"])),
                occurred_at=when,
                currency=currency,
                target_object=str(invoice_id),
                target_line=line.get("reference_line_item_id") or None,
                amount=net,
            )
        )
    return events


# -- refunds and disputes -------------------------------------------------------------------


def refund_counted_by_credit_note(transaction: Obj) -> bool:
    """A refund issued through credit notes: the notes carry the money already."""
    return bool(transaction.get("linked_credit_notes"))


def paid_invoices(payment: Obj) -> list[tuple[str, int]]:
    """(invoice id, amount applied) of each invoice a payment or refund transaction names."""
    return [
        (str(link["invoice_id"]), int(link.get("applied_amount") or 0))
        for link in payment.get("linked_invoices") or ()
        if link.get("invoice_id")
    ]


def _spread(
    object_id: str, gross_amount: int, targets: Sequence[tuple[InvoiceTotals, int]]
) -> list[tuple[SourceKey, InvoiceTotals, int]]:
    """(source key, invoice, gross part) of an amount returned on the invoices a payment paid.

    One invoice takes it all under the object's own key; several share it in proportion to
    what the payment applied to each, keyed per invoice, so the same keys come back each time.
    """
    if len(targets) == 1:
        return [(key(object_id), targets[0][0], gross_amount)]
    parts = spread(gross_amount, [applied for _, applied in targets])
    return [
        (key(object_id, totals.invoice_id), totals, part)
        for (totals, _), part in zip(targets, parts, strict=True)
    ]


def refund_events(
    refund: Obj, targets: Sequence[tuple[InvoiceTotals, int]]
) -> list[Refund | RefundFailed]:
    """A refund transaction not issued through a credit note, as the revenue it returns.

    ``targets`` are the invoices the refunded payment paid, with the amount applied to each.
    A refund that failed after the fact (``failure``, ``late_failure``) undoes what its
    success emitted, under the same source keys.
    """
    status = refund.get("status")
    if refund.get("type") != "refund" or refund_counted_by_credit_note(refund) or not targets:
        return []
    if status not in ("success", *REFUND_FAILED):
        return []
    currency = str(refund["currency_code"])
    gross = minor_units(refund.get("amount"), currency)
    when = instant(refund.get("date") or refund["updated_at"])
    events: list[Refund | RefundFailed] = []
    for source, totals, part in _spread(str(refund["id"]), gross, targets):
        net = totals.net_share(part)
        if net <= 0:
            continue
        if status == "success":
            events.append(
                Refund(
                    source=source,
                    occurred_at=when,
                    currency=currency,
                    target_object=totals.invoice_id,
                    amount=net,
                )
            )
        else:
            failed_at = instant(refund.get("updated_at") or refund["date"])
            events.append(
                RefundFailed(
                    source=key(str(refund["id"]), f"failed:{source.line_id}"),
                    occurred_at=failed_at,
                    currency=currency,
                    refund=source,
                    target_object=totals.invoice_id,
                )
            )
    return events


_OUTCOMES = {"lost": DisputeOutcome.LOST, "won": DisputeOutcome.WON}


def dispute_events(dispute: Obj, targets: Sequence[tuple[InvoiceTotals, int]]) -> list[Dispute]:
    """A closed dispute (lost or won) on the invoices its payment paid; open ones: nothing."""
    outcome = _OUTCOMES.get(str(dispute.get("status")))
    if outcome is None or not targets:
        return []
    currency = str(dispute["currency_code"])
    gross = minor_units(dispute.get("amount"), currency)
    when = instant(dispute.get("updated_at") or dispute["created_at"])
    events: list[Dispute] = []
    for source, totals, part in _spread(str(dispute["id"]), gross, targets):
        net = totals.net_share(part)
        if net > 0:
            events.append(
                Dispute(
                    source=source,
                    occurred_at=when,
                    currency=currency,
                    target_object=totals.invoice_id,
                    amount=net,
                    outcome=outcome,
                )
            )
    return events
