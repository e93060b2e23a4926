"""Stripe as live Stripe sends it: ``dp_`` dispute ids, events rendered in another API version,
refunds that fail after the fact, paid lines that cannot be read, and an SDK upgrade.

The adapter runs against the respx-backed fake Stripe; the last tests take deliveries and a
sync all the way into a real database (SQLite and PostgreSQL).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import requires
from pathlib import Path
from typing import Any

import pytest
import stripe
from pydantic import SecretStr

from adapters.stripe.client import UnsupportedStripeVersion
from adapters.stripe.parse import API_VERSION
from adapters.stripe.settings import StripeSettings
from adapters.stripe.source import StripeSource
from adapters.stripe.webhook import HANDLED_OBJECTS, StripeReceiver, receive
from connector.errors import InvalidInput
from connector.events import (
    CanonicalEvent,
    Dispute,
    DisputeOutcome,
    Purchase,
    Refund,
    RefundFailed,
    SourceKey,
    Unreadable,
)
from connector.ports import Page, WebhookInvalid, WebhookRejected, WebhookResult
from connector.runtime import Runtime
from connector.settings import Connection
from connector.sync import inbox
from connector.sync.engine import run_sync
from connector.sync.exceptions import list_exceptions
from tests.refund_rules_helpers import assert_consistent
from tests.stripe.stripe_fake import API_KEY, NOW, FakeStripe, completed_cursor
from tests.stripe.stripe_payloads import (
    PAID_AT,
    balance_transaction,
    charge,
    checkout_session,
    credit_note,
    dispute,
    dumps,
    event,
    invoice,
    invoice_line,
    invoice_payment,
    refund,
    sign,
    tax,
)
from tests.sync_helpers import runtime_for

SECRET = "whsec_live_0123456789"
SENT_AT = PAID_AT + 30
RECEIVED = datetime.fromtimestamp(SENT_AT + 2, UTC)
OLDER_VERSION = "2024-06-20"
BUNDLE_PRICE = "price_1QpX7rLkd8Hs2mFa0bN7Tq4e"  # mappings/examples/stripe.toml: 10k + 2k bonus
UNTIL = int(NOW.timestamp())
LATER = datetime.fromtimestamp(PAID_AT + 30 * 86_400, UTC)  # after every scenario's last event


def deliver(payload: dict[str, Any]) -> WebhookResult:
    body = dumps(payload)
    headers = {"Stripe-Signature": sign(body, SECRET, SENT_AT)}
    return receive(headers, body, RECEIVED, [SecretStr(SECRET)])


def events_of(pages: Iterator[Page]) -> list[CanonicalEvent]:
    return [e for page in pages for e in page.events]


def in_older_version(paid: dict[str, Any]) -> dict[str, Any]:
    """An invoice as an account pinned to 2024-06-20 renders it: each line names its ``price``
    (an expanded Price) and has no ``pricing``; the invoice names its subscription directly."""
    old = copy.deepcopy(paid)
    for line in old["lines"]["data"]:
        details = line.pop("pricing")["price_details"]
        line["price"] = {"id": details["price"], "object": "price", "product": details["product"]}
        line["type"] = "invoiceitem"
        line.pop("parent")
    old.pop("parent")
    old["subscription"] = None
    return old


# -- disputes come as dp_ and du_ --------------------------------------------------------------


def add_paid_invoice(
    fake: FakeStripe, invoice_id: str = "in_tax", pi: str = "pi_1", price: str = BUNDLE_PRICE
) -> dict[str, Any]:
    line = invoice_line(invoice_id=invoice_id, price=price, taxes=[tax(1_000)])
    paid = fake.add_invoice(invoice(invoice_id, lines=[line]))
    fake.add("/v1/invoice_payments", invoice_payment(invoice_id, payment_intent=pi, amount=11_000))
    return paid


@pytest.mark.parametrize("dispute_id", ["dp_1QxLost", "du_1QxLost"])
def test_a_dispute_closed_webhook_reads_the_dispute_whatever_its_id_prefix(
    source: StripeSource, fake: FakeStripe, dispute_id: str
) -> None:
    add_paid_invoice(fake)
    lost = fake.add("/v1/disputes", dispute(dispute_id, status="lost", amount=11_000))

    result = deliver(event("evt_du", "charge.dispute.closed", lost))
    (found,) = source.fetch_objects(result.fetch_hints)

    assert result.fetch_hints == [f"dispute:{dispute_id}"]
    assert isinstance(found, Dispute) and found.outcome is DisputeOutcome.LOST
    assert (found.source.object_id, found.target_object, found.amount) == (
        dispute_id,
        "in_tax",
        10_000,
    )
    assert len(fake.gets(f"/v1/disputes/{dispute_id}")) == 1


def test_a_bare_dp_id_stored_by_an_older_release_is_still_read(
    source: StripeSource, fake: FakeStripe
) -> None:
    add_paid_invoice(fake)
    fake.add("/v1/disputes", dispute("dp_1", status="lost", amount=11_000))

    (found,) = source.fetch_objects(["dp_1"])

    assert isinstance(found, Dispute) and found.source.object_id == "dp_1"


@pytest.mark.parametrize("hint", ["subscription:sub_1", "invoice:", "invoice:../v1/x", "sub_1"])
def test_hints_that_name_no_readable_object_are_refused_before_any_request(
    source: StripeSource, fake: FakeStripe, hint: str
) -> None:
    with pytest.raises(InvalidInput, match="object_ids") as refused:
        source.fetch_objects(["invoice:in_1", hint])

    assert repr(hint) in str(refused.value) and "dispute:dp_123" in str(refused.value)
    assert fake.requests == []


def test_an_event_whose_object_is_not_the_type_its_event_type_carries_is_refused() -> None:
    with pytest.raises(WebhookRejected, match="carries a 'charge' object"):
        deliver(event("evt_x", "charge.dispute.closed", charge("ch_1")))


@pytest.mark.parametrize("data", [{"object": "in_1"}, {"object": None}, {}, "in_1"])
def test_a_signed_event_without_an_object_is_refused_not_a_crash(data: Any) -> None:
    payload = event("evt_x", "invoice.paid", invoice())
    payload["data"] = data

    with pytest.raises(WebhookInvalid, match=r"data\.object is not an object"):
        deliver(payload)


def test_a_payload_of_our_version_that_does_not_parse_is_refused_with_the_reason() -> None:
    broken = invoice("in_broken")
    del broken["lines"]["data"][0]["amount"]

    with pytest.raises(WebhookInvalid, match=r"in_broken|amount") as refused:
        deliver(event("evt_b", "invoice.paid", broken))

    assert refused.value.event_id == "evt_b"


# -- events rendered in another API version are re-read, never parsed --------------------------


def test_an_invoice_paid_in_an_older_api_version_is_read_again_in_ours(
    source: StripeSource, fake: FakeStripe
) -> None:
    paid = add_paid_invoice(fake, "in_old", price="price_credits_1000")
    payload = event("evt_old", "invoice.paid", in_older_version(paid), api_version=OLDER_VERSION)

    result = deliver(payload)
    (purchase,) = source.fetch_objects(result.fetch_hints)

    assert (result.events, result.fetch_hints) == ([], ["invoice:in_old"])
    assert isinstance(purchase, Purchase)
    assert (str(purchase.source), purchase.item_id, purchase.net_amount) == (
        "stripe:in_old:il_1",
        "price_credits_1000",
        10_000,
    )
    assert len(fake.gets("/v1/invoices/in_old")) == 1


@pytest.mark.parametrize(("event_type", "object_type"), HANDLED_OBJECTS.items())
def test_every_handled_event_of_another_version_becomes_one_typed_hint(
    event_type: str, object_type: str
) -> None:
    objects = {
        "invoice": invoice("in_9"),
        "checkout.session": checkout_session("cs_9", line_items=[]),
        "credit_note": credit_note("cn_9"),
        "refund": refund("re_9"),
        "charge": charge("ch_9"),
        "dispute": dispute("du_9"),
    }
    obj = objects[object_type]

    result = deliver(event("evt_v", event_type, obj, api_version=OLDER_VERSION))

    assert (result.events, result.fetch_hints) == ([], [f"{object_type}:{obj['id']}"])


def test_the_events_api_catch_up_rereads_an_object_of_another_version(
    source: StripeSource, fake: FakeStripe
) -> None:
    since = UNTIL - 3_600
    paid = invoice("in_late", created=since - 40 * 86_400, paid_at=UNTIL - 100)
    fake.add_invoice(paid)
    old = event("evt_late", "invoice.paid", in_older_version(paid), api_version=OLDER_VERSION)
    fake.add("/v1/events", {**old, "created": UNTIL - 100})

    (purchase,) = events_of(source.pages(completed_cursor(since)))

    assert isinstance(purchase, Purchase) and str(purchase.source) == "stripe:in_late:il_1"
    assert len(fake.gets("/v1/invoices/in_late")) == 1


def test_an_event_of_our_version_is_parsed_from_its_payload_without_a_request(
    source: StripeSource, fake: FakeStripe
) -> None:
    since = UNTIL - 3_600
    paid = invoice("in_late", created=since - 40 * 86_400, paid_at=UNTIL - 100)
    fake.add("/v1/events", event("evt_late", "invoice.paid", paid, created=UNTIL - 100))

    (purchase,) = events_of(source.pages(completed_cursor(since)))

    assert str(purchase.source) == "stripe:in_late:il_1"
    assert fake.gets("/v1/invoices/in_late") == []


# -- a paid line that cannot be read is an exception, never a silent skip -----------------------


def unreadable_invoice() -> dict[str, Any]:
    no_price = invoice_line("il_no_price", invoice_id="in_odd", amount=3_000)
    no_price["pricing"] = None
    no_quantity = invoice_line("il_no_qty", invoice_id="in_odd", amount=2_000)
    no_quantity["quantity"] = None
    no_quantity["quantity_decimal"] = None
    good = invoice_line("il_good", invoice_id="in_odd", price=BUNDLE_PRICE)
    return invoice("in_odd", lines=[good, no_price, no_quantity])


def test_a_paid_line_without_price_or_quantity_becomes_an_unreadable_event_naming_it(
    source: StripeSource, fake: FakeStripe
) -> None:
    fake.add_invoice(unreadable_invoice())

    good, no_price, no_quantity = events_of(source.pages(None))

    assert isinstance(good, Purchase) and good.source.line_id == "il_good"
    assert isinstance(no_price, Unreadable) and isinstance(no_quantity, Unreadable)
    assert str(no_price.source) == "stripe:in_odd:il_no_price"
    assert "line il_no_price" in no_price.reason
    assert "pricing.price_details.price" in no_price.reason
    assert "line il_no_qty" in no_quantity.reason and "None" in no_quantity.reason


# -- refunds that fail after the fact -----------------------------------------------------------


def add_failure_booking(fake: FakeStripe, refund_id: str = "re_f", amount: int = 5_500) -> None:
    """The balance transaction with which Stripe books a refund's failure."""
    fake.add(
        "/v1/balance_transactions",
        balance_transaction(
            f"txn_fail_{refund_id}", amount=amount, created=PAID_AT + 5 * 86_400, source=refund_id
        ),
    )


def add_failed_refund(fake: FakeStripe, refund_id: str = "re_f", **fields: Any) -> dict[str, Any]:
    failed = fake.add("/v1/refunds", refund(refund_id, amount=5_500, status="failed", **fields))
    add_failure_booking(fake, refund_id)
    return failed


def expected_failure(refund_id: str = "re_f") -> RefundFailed:
    return RefundFailed(
        source=SourceKey(platform="stripe", object_id=refund_id),
        occurred_at=datetime.fromtimestamp(PAID_AT + 5 * 86_400, UTC),
        currency="USD",
        refund=SourceKey(platform="stripe", object_id=refund_id),
        target_object="in_tax",
    )


def test_a_refund_listed_as_failed_gives_refund_failed_for_the_refund_it_undoes(
    source: StripeSource, fake: FakeStripe
) -> None:
    add_paid_invoice(fake)
    add_failed_refund(fake)

    adjustments = [e for e in events_of(source.pages(None)) if not isinstance(e, Purchase)]

    assert adjustments == [expected_failure()]


@pytest.mark.parametrize("event_type", ["refund.failed", "refund.updated"])
def test_a_refund_failed_webhook_gives_refund_failed(
    source: StripeSource, fake: FakeStripe, event_type: str
) -> None:
    add_paid_invoice(fake)
    failed = add_failed_refund(fake)

    result = deliver(
        event("evt_f", event_type, failed, previous_attributes={"status": "succeeded"})
    )

    assert source.fetch_objects(result.fetch_hints) == [expected_failure()]


def test_the_events_api_gives_the_refund_and_then_its_failure(
    source: StripeSource, fake: FakeStripe
) -> None:
    since = UNTIL - 3_600
    add_paid_invoice(fake)
    created = since - 3 * 86_400
    succeeded = refund("re_f", amount=5_500, created=created)
    failed = add_failed_refund(fake, created=created)
    fake.add("/v1/events", event("evt_1", "refund.created", succeeded, created=UNTIL - 200))
    fake.add("/v1/events", event("evt_2", "refund.failed", failed, created=UNTIL - 100))

    found = events_of(source.pages(completed_cursor(since)))

    assert sorted(type(e).__name__ for e in found) == ["Refund", "RefundFailed"]
    (refunded,) = [e for e in found if isinstance(e, Refund)]
    assert [e for e in found if isinstance(e, RefundFailed)] == [expected_failure()]
    assert refunded.source == expected_failure().refund


def test_a_failed_refund_issued_by_a_credit_note_is_an_exception_for_an_operator(
    source: StripeSource, fake: FakeStripe
) -> None:
    add_paid_invoice(fake)
    fake.add_credit_note(credit_note("cn_1", invoice_id="in_tax", refunds=["re_f"]))
    add_failed_refund(fake)

    (problem,) = source.fetch_objects(["refund:re_f"])

    assert isinstance(problem, Unreadable) and str(problem.source) == "stripe:re_f:"
    assert (
        "credit note on in_tax" in problem.reason and "expired_or_canceled_card" in problem.reason
    )


# -- the SDK upgrade that would change every shape ----------------------------------------------


def test_an_sdk_pinning_another_api_version_is_refused_in_one_line(
    settings: StripeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stripe, "api_version", "2027-04-30.fig")

    for build in (lambda: StripeSource(settings), lambda: StripeReceiver(settings)):
        with pytest.raises(UnsupportedStripeVersion) as refused:
            build()
        message = str(refused.value)
        assert "\n" not in message
        assert "2027-04-30.fig" in message and API_VERSION in message
        assert "stripe>=16.1,<17" in message


def test_the_installed_sdk_pins_the_version_the_parsers_read_and_the_pin_is_capped() -> None:
    (declared,) = [r for r in requires("creditsync") or [] if re.match(r"stripe\b", r)]
    bounds = set(re.findall(r"(<|>=)\s*([0-9.]+)", declared))

    assert stripe.api_version == API_VERSION
    assert bounds == {(">=", "16.1"), ("<", "17")}
    assert stripe.VERSION.startswith("16.")


# -- into the ledger: SQLite and PostgreSQL ------------------------------------------------------


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, fake: FakeStripe) -> Iterator[Runtime]:
    settings = {
        "api_key": API_KEY,
        "backfill_from": "2026-01-01",
        "webhook_secrets": [SECRET],
    }
    rt = runtime_for(
        db_url, tmp_path, connections={"stripe": Connection(platform="stripe", settings=settings)}
    )
    yield rt
    rt.engine.dispose()


def accept_and_process(runtime: Runtime, payload: dict[str, Any]) -> None:
    body = dumps(payload)
    headers = {"Stripe-Signature": sign(body, SECRET, SENT_AT)}
    result = runtime.receiver("stripe").receive(headers, body, RECEIVED)
    assert inbox.accept(runtime.engine, "stripe", result, body, RECEIVED)
    assert inbox.process_pending(runtime, "stripe") == 1


def test_an_older_version_invoice_paid_delivery_grants_its_credits(
    runtime: Runtime, fake: FakeStripe
) -> None:
    paid = add_paid_invoice(fake, "in_old")

    accept_and_process(
        runtime,
        event("evt_old", "invoice.paid", in_older_version(paid), api_version=OLDER_VERSION),
    )

    assert runtime.ledger.balance("cus_1").total == 12_000  # 10,000 credits + 2,000 bonus
    assert_consistent(runtime, LATER)


def test_a_dp_dispute_lost_after_the_purchase_takes_the_credits_back(
    runtime: Runtime, fake: FakeStripe
) -> None:
    paid = add_paid_invoice(fake)
    lost = fake.add("/v1/disputes", dispute("dp_1QxLost", status="lost", amount=11_000))

    accept_and_process(runtime, event("evt_paid", "invoice.paid", paid))
    accept_and_process(runtime, event("evt_lost", "charge.dispute.closed", lost))

    assert runtime.ledger.balance("cus_1").total == 0
    assert list_exceptions(runtime.engine) == []
    assert_consistent(runtime, LATER)


def test_a_synced_unreadable_line_is_an_open_exception_and_the_run_goes_on(
    runtime: Runtime, fake: FakeStripe
) -> None:
    fake.add_invoice(unreadable_invoice())

    summary = run_sync(runtime, "stripe")

    assert summary.status == "succeeded"
    assert runtime.ledger.balance("cus_1").total == 12_000  # the readable line
    found = {e.source_key: (e.reason_code, e.reason) for e in list_exceptions(runtime.engine)}
    assert set(found) == {"stripe:in_odd:il_no_price", "stripe:in_odd:il_no_qty"}
    assert {code for code, _ in found.values()} == {"unreadable"}
    assert "line il_no_price" in found["stripe:in_odd:il_no_price"][1]
    assert summary.report.counts["unreadable.unreadable"] == 2
    assert_consistent(runtime, LATER)


@pytest.mark.parametrize("event_type", ["refund.failed", "refund.updated"])
def test_a_refund_that_fails_after_it_applied_gives_the_credits_back(
    runtime: Runtime, fake: FakeStripe, event_type: str
) -> None:
    paid = add_paid_invoice(fake)
    refunded = fake.add("/v1/refunds", refund("re_f", amount=11_000))
    accept_and_process(runtime, event("evt_paid", "invoice.paid", paid))
    accept_and_process(runtime, event("evt_refund", "refund.created", refunded))
    assert runtime.ledger.balance("cus_1").total == 0

    refunded.update(refund("re_f", amount=11_000, status="failed"))  # Stripe's answer from now
    add_failure_booking(fake, amount=11_000)
    accept_and_process(runtime, event("evt_failed", event_type, refunded))

    assert runtime.ledger.balance("cus_1").total == 12_000
    assert list_exceptions(runtime.engine) == []
    assert_consistent(runtime, LATER)
