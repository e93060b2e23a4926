"""Stripe objects (plain JSON of API version 2026-10-28.endive) to canonical events.

Only objects rendered in :data:`API_VERSION` are parsed here: an event rendered in another
version (its ``api_version``) is re-read through the API by the caller instead.

Pure functions: whatever needs another request (the rest of a cut-short line list, the invoice a
refund's payment belongs to, a price's lookup key) is fetched by the caller and passed in, so a
webhook payload and a listed object go through the same code and yield the same source keys.

Money rules, from the invoice line's own fields: ``amount`` is before discounts and includes
inclusive tax; net = amount - discount_amounts - inclusive taxes; tax = every tax on the line.
A refund or dispute returns gross money (tax included), so its net share is the same fraction
of the purchase's net total as the refunded amount is of the purchase's gross total.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache
from typing import Any

from connector.events import (
    CanonicalEvent,
    CreditNote,
    Customer,
    Dispute,
    DisputeOutcome,
    Purchase,
    Refund,
    RefundFailed,
    SourceKey,
    Unreadable,
    Void,
)
from connector.money import round_half_even
from connector.platform.shares import GrossToNet

PLATFORM = "stripe"
API_VERSION = "2026-10-28.endive"  # the version every parser below is written for
log = logging.getLogger(__name__)

Obj = Mapping[str, Any]


def instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def object_id(value: Any) -> str | None:
    """The id of an expandable field, whether Stripe sent the id or the expanded object."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping):
        found = value.get("id")
        return found if isinstance(found, str) else None
    return None


def key(object_id: str, line_id: str = "") -> SourceKey:
    return SourceKey(platform=PLATFORM, object_id=object_id, line_id=line_id)


@dataclass(frozen=True)
class PurchaseTarget(GrossToNet):
    """The purchase object (invoice or checkout session) a payment paid, with its totals.

    ``gross_total`` is what the customer was charged, tax included; ``net_total`` the revenue
    part, after discounts and without tax. A refund's or dispute's share of it is
    :meth:`GrossToNet.share`, on cumulative figures so parts add up to the share of their sum.
    """

    object_id: str

    net_share = GrossToNet.share
    net_share_after = GrossToNet.share_after


# -- invoices -------------------------------------------------------------------------------


def _taxes(line: Obj) -> tuple[int, int]:
    """(all tax, inclusive tax) on a line."""
    total = inclusive = 0
    for tax in line.get("taxes") or ():
        amount = int(tax.get("amount") or 0)
        total += amount
        if tax.get("tax_behavior") == "inclusive":
            inclusive += amount
    return total, inclusive


def line_net_and_tax(line: Obj) -> tuple[int, int]:
    discounts = sum(int(d.get("amount") or 0) for d in line.get("discount_amounts") or ())
    tax, inclusive = _taxes(line)
    return int(line["amount"]) - discounts - inclusive, tax


def line_price(line: Obj) -> tuple[str | None, str | None]:
    """(price id, lookup key if the price was expanded) of an invoice line."""
    pricing = line.get("pricing") or {}
    details = pricing.get("price_details") or {}
    price = details.get("price")
    lookup = price.get("lookup_key") if isinstance(price, Mapping) else None
    return object_id(price), lookup


def invoice_price_ids(lines: Iterable[Obj]) -> set[str]:
    return {price for price, _ in map(line_price, lines) if price}


@lru_cache(maxsize=4096)
def shared_customer(external_id: str, email: str | None, name: str | None) -> Customer:
    """Customers repeat across invoices; the model is frozen, so one instance serves them all."""
    return Customer(external_id=external_id, email=email or None, name=name or None)


def _customer(invoice: Obj) -> Customer | None:
    customer = invoice.get("customer")
    external_id = object_id(customer) or invoice.get("customer_account")
    if not external_id:
        return None
    email = invoice.get("customer_email")
    name = invoice.get("customer_name")
    if isinstance(customer, Mapping):
        email = email or customer.get("email")
        name = name or customer.get("name")
    return shared_customer(str(external_id), email, name)


def invoice_events(
    invoice: Obj,
    lines: Sequence[Obj] | None = None,
    lookup_keys: Mapping[str, str | None] | None = None,
) -> list[CanonicalEvent]:
    """A paid invoice: one Purchase per priced line. A voided one: a Void. Others: nothing.

    ``lines`` is the invoice's complete line list when the embedded one was cut short.
    """
    status = invoice.get("status")
    invoice_id = str(invoice["id"])
    currency = str(invoice["currency"])
    if status == "void":
        voided_at = (invoice.get("status_transitions") or {}).get("voided_at")
        when = instant(voided_at or invoice["created"])
        void = Void(
            source=key(invoice_id), occurred_at=when, currency=currency, target_object=invoice_id
        )
        return [void]
    if status != "paid":
        return []
    customer = _customer(invoice)
    if customer is None:
        log.warning("stripe invoice %s has no customer; its lines are not purchases", invoice_id)
        return []
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at") or invoice["created"]
    occurred_at = instant(paid_at)
    events: list[CanonicalEvent] = []
    for line in lines if lines is not None else (invoice.get("lines") or {}).get("data") or ():
        price, lookup = line_price(line)
        quantity = line.get("quantity")
        if quantity is not None and (isinstance(quantity, bool) or not isinstance(quantity, int)):
            # null is a shape the API allows (an exception names the line); anything else is
            # not Stripe's shape at all, and the delivery carrying it is refused
            raise TypeError(f"line {line.get('id')}: quantity {quantity!r} is not a whole number")
        net, tax = line_net_and_tax(line)
        line_currency = str(line.get("currency") or currency)
        problem = _unreadable(line, price, quantity, line_currency)
        if problem is not None:
            events.append(
                Unreadable(
                    source=key(invoice_id, str(line["id"])),
                    occurred_at=occurred_at,
                    currency=line_currency,
                    reason=f"stripe invoice {invoice_id} line {line['id']}: {problem}",
                )
            )
            continue
        if price is None or not quantity or quantity <= 0 or net < 0:
            log.debug("stripe invoice %s line %s charges nothing to grant", invoice_id, line["id"])
            continue
        if lookup is None and lookup_keys is not None:
            lookup = lookup_keys.get(price)
        period = line.get("period") or {}
        events.append(
            Purchase(
                source=key(invoice_id, str(line["id"])),
                occurred_at=occurred_at,
                currency=line_currency,
                customer=customer,
                item_id=price,
                item_aliases=(lookup,) if lookup else (),
                quantity=int(quantity),
                net_amount=net,
                tax_amount=tax,
                period_end=instant(period["end"]) if period.get("end") else None,
                description=str(line.get("description") or ""),
            )
        )
    return events


def _unreadable(line: Obj, price: str | None, quantity: Any, currency: str) -> str | None:
    """Why a line that charged money cannot become a purchase, or None when it can (or when it
    charged nothing: a free or credit line grants nothing and is not a loss)."""
    if int(line.get("amount") or 0) <= 0:
        return None
    missing = []
    if price is None:
        missing.append("pricing.price_details.price")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        missing.append(f"a positive quantity (got {quantity!r})")
    if not missing:
        return None
    return (
        f"charged {line['amount']} {currency} (minor units) but has no {' and no '.join(missing)}; "
        "no credits were granted for it: check the line in Stripe and grant them by hand"
    )


def invoice_target(invoice: Obj) -> PurchaseTarget:
    total = int(invoice.get("total") or 0)
    excluding = invoice.get("total_excluding_tax")
    net = (
        int(excluding)
        if excluding is not None
        else total - sum(int(t.get("amount") or 0) for t in invoice.get("total_taxes") or ())
    )
    return PurchaseTarget(object_id=str(invoice["id"]), gross_total=total, net_total=max(net, 0))


# -- checkout sessions ----------------------------------------------------------------------


def session_is_purchase(session: Obj) -> bool:
    """A one-off payment that completed and was paid, and that Stripe did not invoice."""
    return (
        session.get("mode") == "payment"
        and session.get("status") == "complete"
        and session.get("payment_status") == "paid"
        and not object_id(session.get("invoice"))
    )


def _session_customer(session: Obj) -> Customer | None:
    details = session.get("customer_details") or {}
    email = details.get("email") or session.get("customer_email")
    name = details.get("name")
    external_id = object_id(session.get("customer")) or session.get("customer_account")
    if not external_id and email:
        # A guest checkout has no Stripe customer; the e-mail is the only stable handle.
        external_id = f"guest:{str(email).lower()}"
    if not external_id:
        return None
    return shared_customer(str(external_id), email, name)


def session_purchases(session: Obj, line_items: Sequence[Obj]) -> list[Purchase]:
    """Purchases from a paid payment-mode session's line items (object ``item``).

    The session records no completion time; ``created`` is used, the same on every path.
    """
    if not session_is_purchase(session):
        return []
    session_id = str(session["id"])
    customer = _session_customer(session)
    if customer is None:
        log.warning("stripe checkout session %s has neither customer nor e-mail", session_id)
        return []
    occurred_at = instant(session["created"])
    purchases: list[Purchase] = []
    for item in line_items:
        price = item.get("price")
        price_id = object_id(price)
        quantity = item.get("quantity")
        tax = int(item.get("amount_tax") or 0)
        net = int(item["amount_total"]) - tax
        if price_id is None or not quantity or quantity <= 0 or net < 0:
            continue
        lookup = price.get("lookup_key") if isinstance(price, Mapping) else None
        purchases.append(
            Purchase(
                source=key(session_id, str(item["id"])),
                occurred_at=occurred_at,
                currency=str(item.get("currency") or session["currency"]),
                customer=customer,
                item_id=price_id,
                item_aliases=(lookup,) if lookup else (),
                quantity=int(quantity),
                net_amount=net,
                tax_amount=tax,
                description=str(item.get("description") or ""),
            )
        )
    return purchases


def session_target(session: Obj) -> PurchaseTarget:
    total = int(session.get("amount_total") or 0)
    details = session.get("total_details") or {}
    net = total - int(details.get("amount_tax") or 0) - int(details.get("amount_shipping") or 0)
    return PurchaseTarget(object_id=str(session["id"]), gross_total=total, net_total=max(net, 0))


# -- credit notes, refunds, disputes --------------------------------------------------------


def credit_note_events(credit_note: Obj, lines: Sequence[Obj] | None = None) -> list[CreditNote]:
    """An issued credit note on a paid invoice: one CreditNote per line with revenue to return.

    A line that credits an invoice line targets it; a custom line spreads over the invoice. A
    ``mixed`` note is partly a pre-payment credit (never paid, so nothing to take back): only
    its post-payment share counts.
    """
    note_type = credit_note.get("type")
    if credit_note.get("status") != "issued" or note_type == "pre_payment":
        return []
    invoice_id = object_id(credit_note.get("invoice"))
    if invoice_id is None:
        return []
    total = int(credit_note.get("amount") or 0)
    post = int(credit_note.get("post_payment_amount") or 0)
    if note_type == "post_payment":
        share = Fraction(1)
    else:
        share = Fraction(post, total) if total else Fraction(0)
    when = instant(credit_note.get("effective_at") or credit_note["created"])
    events: list[CreditNote] = []
    for line in lines if lines is not None else (credit_note.get("lines") or {}).get("data") or ():
        _, inclusive = _taxes(line)
        net = int(line["amount"]) - int(line.get("discount_amount") or 0) - inclusive
        amount = round_half_even(net * share)
        if amount <= 0:
            continue
        credits_line = line.get("type") == "invoice_line_item"
        target_line = line.get("invoice_line_item") if credits_line else None
        events.append(
            CreditNote(
                source=key(str(credit_note["id"]), str(line["id"])),
                occurred_at=when,
                currency=str(credit_note["currency"]),
                target_object=invoice_id,
                target_line=target_line or None,
                amount=amount,
            )
        )
    return events


def credit_note_refund_ids(credit_notes: Iterable[Obj]) -> set[str]:
    """Refunds that credit notes already account for (issued notes only)."""
    found: set[str] = set()
    for note in credit_notes:
        if note.get("status") != "issued":
            continue
        for entry in note.get("refunds") or ():
            refund = object_id(entry.get("refund"))
            if refund:
                found.add(refund)
    return found


def payment_of(obj: Obj) -> tuple[str | None, str | None]:
    """(payment intent, charge) a refund or dispute points at."""
    return object_id(obj.get("payment_intent")), object_id(obj.get("charge"))


def refunded_before(refund: Obj, refunds: Iterable[Obj], excluded: set[str]) -> int:
    """Gross amount of the succeeded refunds of the same payment made before ``refund``."""
    position = (int(refund["created"]), str(refund["id"]))
    return sum(
        int(other["amount"])
        for other in refunds
        if other.get("status") == "succeeded"
        and other["id"] not in excluded
        and (int(other["created"]), str(other["id"])) < position
    )


def refund_event(refund: Obj, target: PurchaseTarget, refunded_before: int = 0) -> Refund | None:
    """A succeeded refund of a purchase's payment, as the revenue part it returns.

    ``refunded_before`` is the gross amount of the payment's earlier refunds.
    """
    if refund.get("status") != "succeeded":
        return None
    amount = target.net_share_after(refunded_before, int(refund["amount"]))
    if amount <= 0:
        return None
    return Refund(
        source=key(str(refund["id"])),
        occurred_at=instant(refund["created"]),
        currency=str(refund["currency"]),
        target_object=target.object_id,
        target_line=None,
        amount=amount,
    )


def refund_failed_event(refund: Obj, target: PurchaseTarget, failed_at: int) -> RefundFailed | None:
    """A refund Stripe reports as failed (after it succeeded, or before): its money never left.

    It names the refund by the source key :func:`refund_event` gives it, so the core can undo
    exactly that clawback. ``failed_at`` is when the failure was booked (unix seconds).
    """
    if refund.get("status") != "failed":
        return None
    return RefundFailed(
        source=key(str(refund["id"])),
        occurred_at=instant(failed_at),
        currency=str(refund["currency"]),
        refund=key(str(refund["id"])),
        target_object=target.object_id,
    )


def credit_note_refund_failed(refund: Obj, target: PurchaseTarget, failed_at: int) -> Unreadable:
    """A failed refund that a credit note issued. The credit note is the event that took the
    credits back and it still stands, so there is no refund event to undo: an operator settles
    it (refund again, or void the credit note), and until then it is an open exception."""
    reason = refund.get("failure_reason") or "no reason given"
    return Unreadable(
        source=key(str(refund["id"])),
        occurred_at=instant(failed_at),
        currency=str(refund["currency"]),
        reason=(
            f"stripe refund {refund['id']}, issued by a credit note on {target.object_id}, "
            f"failed ({reason}); the credit note still takes back its credits: "
            "refund again or void the credit note in Stripe"
        ),
    )


_OUTCOMES = {"lost": DisputeOutcome.LOST, "won": DisputeOutcome.WON}


def dispute_event(dispute: Obj, target: PurchaseTarget) -> Dispute | None:
    """A closed dispute (lost or won). Open ones change nothing and yield nothing."""
    outcome = _OUTCOMES.get(str(dispute.get("status")))
    amount = target.net_share(int(dispute["amount"]))
    if outcome is None or amount <= 0:
        return None
    return Dispute(
        source=key(str(dispute["id"])),
        occurred_at=instant(dispute["created"]),
        currency=str(dispute["currency"]),
        target_object=target.object_id,
        amount=amount,
        outcome=outcome,
    )
