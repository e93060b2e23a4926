"""Stripe webhook verification and parsing: a pure function of headers, body, secrets and now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from adapters.stripe.settings import StripeSettings
from adapters.stripe.source import StripeSource
from adapters.stripe.webhook import StripeReceiver, receive
from connector.errors import InvalidInput
from connector.events import CreditNote, Purchase, Void
from connector.ports import WebhookReceiver, WebhookRejected, WebhookResult
from tests.stripe.stripe_fake import FakeStripe
from tests.stripe.stripe_payloads import (
    PAID_AT,
    charge,
    checkout_session,
    credit_note,
    credit_note_line,
    customer,
    dispute,
    dumps,
    event,
    invoice,
    invoice_line,
    invoice_payment,
    refund,
    sign,
)

FIXTURES = Path(__file__).parent / "fixtures"
OLD = "whsec_old_0123456789"
NEW = "whsec_new_9876543210"
SENT_AT = PAID_AT + 30
NOW = datetime.fromtimestamp(SENT_AT + 2, UTC)
INVOICE_PAID = (FIXTURES / "invoice_paid_event.json").read_bytes()


def deliver(
    body: bytes,
    *,
    secrets: tuple[str, ...] = (OLD, NEW),
    signed_with: str = NEW,
    at: int = SENT_AT,
    now: datetime = NOW,
    header: str | None = None,
) -> WebhookResult:
    headers = {"Stripe-Signature": header if header is not None else sign(body, signed_with, at)}
    return receive(headers, body, now, [SecretStr(s) for s in secrets])


def test_a_signed_invoice_paid_gives_purchases_straight_from_the_payload() -> None:
    result = deliver(INVOICE_PAID)

    assert (result.event_id, result.event_type, result.ignored) == (
        "evt_1QxPaid",
        "invoice.paid",
        False,
    )
    assert result.fetch_hints == []
    assert [
        (p.source.line_id, p.net_amount, p.tax_amount)
        for p in result.events
        if isinstance(p, Purchase)
    ] == [("il_1QxA", 9_000, 900), ("il_1QxB", 5_000, 500)]


def test_the_receiver_verifies_with_the_settings_secrets(settings: StripeSettings) -> None:
    receiver = StripeReceiver(settings)
    headers = {"stripe-signature": sign(INVOICE_PAID, OLD, SENT_AT)}  # any header case

    assert isinstance(receiver, WebhookReceiver)
    assert receiver.receive(headers, INVOICE_PAID, NOW).event_id == "evt_1QxPaid"


def test_a_tampered_body_is_rejected() -> None:
    header = sign(INVOICE_PAID, NEW, SENT_AT)
    tampered = INVOICE_PAID.replace(b'"amount": 10000', b'"amount": 99999')
    assert tampered != INVOICE_PAID

    with pytest.raises(WebhookRejected, match="signature"):
        deliver(tampered, header=header)


def test_a_body_signed_with_an_unknown_secret_is_rejected() -> None:
    with pytest.raises(WebhookRejected, match="signature"):
        deliver(INVOICE_PAID, signed_with="whsec_somebody_else")


@pytest.mark.parametrize(
    "header",
    ["", "v1=deadbeef", "t=notanumber,v1=deadbeef", f"t={SENT_AT}", f"t={SENT_AT},v0=abc"],
)
def test_unsigned_or_malformed_signatures_are_rejected(header: str) -> None:
    with pytest.raises(WebhookRejected):
        deliver(INVOICE_PAID, header=header)


def test_a_missing_header_is_rejected() -> None:
    with pytest.raises(WebhookRejected, match="missing Stripe-Signature"):
        receive({}, INVOICE_PAID, NOW, [SecretStr(NEW)])


def test_a_stale_timestamp_is_rejected_even_with_a_good_signature() -> None:
    deliver(INVOICE_PAID, now=datetime.fromtimestamp(SENT_AT + 300, UTC))  # at the limit: fine

    with pytest.raises(WebhookRejected, match="301 s old"):
        deliver(INVOICE_PAID, now=datetime.fromtimestamp(SENT_AT + 301, UTC))


def test_a_timestamp_from_the_future_is_rejected() -> None:
    with pytest.raises(WebhookRejected, match="ahead"):
        deliver(INVOICE_PAID, now=datetime.fromtimestamp(SENT_AT - 600, UTC))


def test_rotation_accepts_either_secret_while_both_are_configured() -> None:
    assert deliver(INVOICE_PAID, signed_with=OLD).event_id == "evt_1QxPaid"
    assert deliver(INVOICE_PAID, signed_with=NEW).event_id == "evt_1QxPaid"
    with pytest.raises(WebhookRejected):
        deliver(INVOICE_PAID, signed_with=OLD, secrets=(NEW,))


def test_a_header_with_several_v1_signatures_matches_on_any() -> None:
    old_sig = sign(INVOICE_PAID, OLD, SENT_AT).split(",")[1]
    header = sign(INVOICE_PAID, NEW, SENT_AT) + "," + old_sig  # Stripe signs with both secrets

    assert deliver(INVOICE_PAID, header=header, secrets=(OLD,)).event_id == "evt_1QxPaid"
    assert deliver(INVOICE_PAID, header=header, secrets=(NEW,)).event_id == "evt_1QxPaid"


def test_a_replayed_delivery_gives_the_same_result() -> None:
    first = deliver(INVOICE_PAID)
    again = deliver(INVOICE_PAID, at=SENT_AT + 60, now=NOW + timedelta(seconds=60))

    assert again == first
    assert [str(e.source) for e in again.events] == [str(e.source) for e in first.events]


def webhook(type_: str, obj: dict[str, Any], event_id: str) -> bytes:
    return json.dumps(event(event_id, type_, obj), indent=2).encode()


def test_out_of_order_deliveries_give_the_same_events_as_in_order() -> None:
    paid = webhook("invoice.paid", invoice("in_7"), "evt_paid")
    noted = webhook(
        "credit_note.created",
        credit_note("cn_7", invoice_id="in_7", lines=[credit_note_line(invoice_line_item="il_1")]),
        "evt_note",
    )

    in_order = [deliver(paid), deliver(noted)]
    reversed_order = [deliver(noted), deliver(paid)]

    assert {r.event_id: r for r in in_order} == {r.event_id: r for r in reversed_order}
    (note,) = in_order[1].events
    assert isinstance(note, CreditNote)
    assert (str(note.source), note.target_object, note.target_line) == (
        "stripe:cn_7:cnli_1",
        "in_7",
        "il_1",
    )


def test_a_voided_invoice_gives_a_void() -> None:
    body = webhook("invoice.voided", invoice("in_v", status="void", voided_at=PAID_AT), "evt_v")

    (void,) = deliver(body).events

    assert isinstance(void, Void) and void.target_object == "in_v"


@pytest.mark.parametrize(
    ("type_", "obj", "hint"),
    [
        (
            "invoice.paid",
            invoice("in_cut", lines=[invoice_line()], lines_has_more=True),
            "invoice:in_cut",
        ),
        ("refund.created", refund("re_9"), "refund:re_9"),
        ("refund.updated", refund("re_9"), "refund:re_9"),
        ("refund.updated", refund("re_9", status="failed"), "refund:re_9"),
        ("refund.failed", refund("re_9", status="failed"), "refund:re_9"),
        ("charge.refunded", charge("ch_9"), "charge:ch_9"),
        ("charge.dispute.closed", dispute("du_9", status="lost"), "dispute:du_9"),
        ("charge.dispute.closed", dispute("du_9", status="won"), "dispute:du_9"),
        ("charge.dispute.closed", dispute("dp_9", status="lost"), "dispute:dp_9"),
        ("checkout.session.completed", checkout_session("cs_9"), "checkout.session:cs_9"),
        (
            "checkout.session.async_payment_succeeded",
            checkout_session("cs_9"),
            "checkout.session:cs_9",
        ),
    ],
)
def test_payloads_that_are_not_enough_become_fetch_hints(
    type_: str, obj: dict[str, Any], hint: str
) -> None:
    result = deliver(webhook(type_, obj, "evt_h"))

    assert (result.events, result.fetch_hints, result.ignored) == ([], [hint], False)


@pytest.mark.parametrize(
    ("type_", "obj"),
    [
        ("refund.created", refund("re_p", status="pending")),
        ("charge.dispute.closed", dispute("du_w", status="warning_closed")),
        ("checkout.session.completed", checkout_session("cs_u", payment_status="unpaid")),
        ("checkout.session.completed", checkout_session("cs_i", invoice="in_from_checkout")),
        ("credit_note.created", credit_note("cn_pre", type_="pre_payment")),
    ],
)
def test_handled_types_with_nothing_to_do_give_nothing(type_: str, obj: dict[str, Any]) -> None:
    result = deliver(webhook(type_, obj, "evt_n"))

    assert (result.events, result.fetch_hints, result.ignored) == ([], [], False)


def test_other_event_types_are_verified_then_ignored() -> None:
    result = deliver(webhook("customer.updated", customer("cus_1"), "evt_cus"))

    assert (result.event_type, result.ignored, result.events) == (
        "customer.updated",
        True,
        [],
    )


def test_with_price_lookup_keys_an_invoice_is_fetched_rather_than_parsed() -> None:
    headers = {"Stripe-Signature": sign(INVOICE_PAID, NEW, SENT_AT)}
    result = receive(headers, INVOICE_PAID, NOW, [SecretStr(NEW)], lookup_keys_needed=True)

    assert (result.events, result.fetch_hints) == ([], ["invoice:in_1QxPaid"])


@pytest.mark.parametrize("body", [b"not json", b'{"id": "x", "object": "invoice"}', b"\xff\xfe"])
def test_signed_bodies_that_are_not_stripe_events_are_rejected(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        deliver(body)


def test_a_receiver_needs_a_webhook_secret() -> None:
    with pytest.raises(InvalidInput, match="webhook_secrets"):
        StripeReceiver(StripeSettings())


def test_a_hint_resolves_to_the_same_source_key_the_sync_yields(
    source: StripeSource, fake: FakeStripe
) -> None:
    fake.add_invoice(invoice("in_r"))
    fake.add("/v1/invoice_payments", invoice_payment("in_r", payment_intent="pi_r"))
    refunded = fake.add("/v1/refunds", refund("re_r", payment_intent="pi_r"))

    result = deliver(dumps(event("evt_r", "refund.created", refunded)))
    fetched = source.fetch_objects(result.fetch_hints)
    synced = [e for page in source.pages(None) for e in page.events if e.kind == "refund"]

    assert [str(e.source) for e in fetched] == [str(e.source) for e in synced] == ["stripe:re_r:"]
    assert fetched == synced
