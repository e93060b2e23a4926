"""Refill invoices and overage usages written to the fake site, and retried safely."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl

import pytest

import tests.chargebee.chargebee_payloads as p
from adapters.chargebee.charger import ChargebeeCharger
from adapters.chargebee.marks import mark
from adapters.chargebee.retry import ChargebeeRequestFailed, RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings
from adapters.chargebee.usage import ChargebeeUsageSink
from connector.errors import InvalidInput
from connector.ports import OverageUsage, RefillRequest
from tests.chargebee.chargebee_fake import NOW, FakeChargebee, failing
from tests.platform_support import Sleeps

REFILL = RefillRequest(
    key="refill:acct_1:2026-01-10T00:00:00Z",
    account_id="acct_1",
    external_customer_id="cust_1",
    item_id="credits-refill-10k-USD",
)


@pytest.fixture
def charger(
    fake: FakeChargebee, settings: ChargebeeSettings, retry: RetryPolicy
) -> ChargebeeCharger:
    fake.add("customers", p.customer())
    fake.add("item_prices", p.item_price())
    return ChargebeeCharger(settings, retry=retry, clock=lambda: NOW)


def form(fake: FakeChargebee, path: str) -> list[dict[str, str]]:
    return [dict(parse_qsl(r.content.decode())) for r in fake.requests_to(path, "POST")]


def test_a_refill_is_a_merchant_initiated_invoice_on_the_primary_payment_source(
    fake: FakeChargebee, charger: ChargebeeCharger
) -> None:
    invoice_id = charger.charge(REFILL)

    [sent] = form(fake, "/invoices/create_for_charge_items_and_charges")
    assert invoice_id == "inv_refill_3" or invoice_id.startswith("inv_refill_")
    assert sent["customer_id"] == "cust_1"
    assert sent["item_prices[item_price_id][0]"] == "credits-refill-10k-USD"
    assert sent["item_prices[quantity][0]"] == "1"
    assert sent["payment_initiator"] == "merchant"
    assert sent["payment_source_id"] == "pm_card_1"
    assert sent["currency_code"] == "USD"
    assert sent["po_number"] == mark("refill", REFILL.key)
    [request] = fake.requests_to("/invoices/create_for_charge_items_and_charges", "POST")
    assert request.headers["chargebee-idempotency-key"] == mark("refill", REFILL.key)


def test_a_retry_after_the_idempotency_window_finds_the_first_invoice(
    fake: FakeChargebee, charger: ChargebeeCharger
) -> None:
    first = charger.charge(REFILL)
    fake.idempotent.clear()  # Chargebee forgot the key after 30 minutes

    again = charger.charge(REFILL)

    assert again == first
    assert len(form(fake, "/invoices/create_for_charge_items_and_charges")) == 1


def test_a_lost_answer_is_retried_with_the_same_key_and_charges_once(
    fake: FakeChargebee, charger: ChargebeeCharger, sleeps: Sleeps
) -> None:
    path = "/invoices/create_for_charge_items_and_charges"
    fake.interceptors.append(fake.lose_answer(path))

    invoice_id = charger.charge(REFILL)

    assert len(fake.created) == 1
    assert fake.objects["invoices"][invoice_id]["po_number"] == mark("refill", REFILL.key)
    assert len(fake.requests_to(path, "POST")) == 2 and len(sleeps) == 1


def test_a_declined_card_fails_with_chargebee_message(
    fake: FakeChargebee, charger: ChargebeeCharger
) -> None:
    declined = p.error_body(
        "Your card was declined.",
        status=402,
        api_error_code="payment_processing_failed",
        type_="payment",
    )
    fake.interceptors.append(
        failing(402, times=1, path="/invoices/create_for_charge_items_and_charges", body=declined)
    )

    with pytest.raises(ChargebeeRequestFailed, match="card was declined") as caught:
        charger.charge(REFILL)

    assert caught.value.platform_code == "payment_processing_failed"


def test_a_customer_without_a_payment_source_is_refused_before_any_write(
    fake: FakeChargebee, charger: ChargebeeCharger
) -> None:
    fake.add("customers", p.customer(payment_source=None))

    with pytest.raises(InvalidInput, match="primary payment source"):
        charger.charge(REFILL)

    assert fake.requests_to("/invoices/create_for_charge_items_and_charges", "POST") == []


def test_a_refill_in_a_currency_the_connection_does_not_bill_is_refused(
    fake: FakeChargebee, settings: ChargebeeSettings, retry: RetryPolicy
) -> None:
    fake.add("customers", p.customer())
    fake.add("item_prices", p.item_price(currency="USD"))
    euro_only = settings.model_copy(update={"currencies": ("EUR",)})

    with pytest.raises(InvalidInput, match="is in USD, not in EUR"):
        ChargebeeCharger(euro_only, retry=retry, clock=lambda: NOW).charge(REFILL)

    assert fake.requests_to("/invoices/create_for_charge_items_and_charges", "POST") == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": ""}, "key"),
        ({"external_customer_id": ""}, "external_customer_id"),
        ({"quantity": 0}, "quantity"),
    ],
)
def test_bad_refill_requests_name_the_field(
    charger: ChargebeeCharger, change: dict[str, object], field: str
) -> None:
    request = RefillRequest(**{**REFILL.__dict__, **change})

    with pytest.raises(InvalidInput) as caught:
        charger.charge(request)

    assert caught.value.field == field


# -- usages ---------------------------------------------------------------------------------

OVERAGE = OverageUsage(
    key="overage:acct_1:burn-77",
    account_id="acct_1",
    external_customer_id="cust_1",
    credits=1_250,
    occurred_at=NOW - timedelta(minutes=5),
)


@pytest.fixture
def usage_sink(
    fake: FakeChargebee, settings: ChargebeeSettings, retry: RetryPolicy
) -> ChargebeeUsageSink:
    fake.add("subscriptions", p.subscription("sub_old", status="cancelled"))
    fake.add("subscriptions", p.subscription("sub_1"))
    return ChargebeeUsageSink(settings, retry=retry)


def test_overage_is_a_usage_with_a_deterministic_id_on_the_live_subscription(
    fake: FakeChargebee, usage_sink: ChargebeeUsageSink
) -> None:
    usage_id = usage_sink.report(OVERAGE)

    [sent] = form(fake, "/subscriptions/sub_1/usages")
    assert usage_id == sent["id"] == mark("usage", OVERAGE.key)
    assert sent["item_price_id"] == "overage-credits-USD"
    assert sent["quantity"] == "1250"
    assert sent["dedupe_option"] == "skip"
    assert int(sent["usage_date"]) == int(OVERAGE.occurred_at.timestamp())
    [lookup] = fake.list_calls("subscriptions")
    assert lookup["customer_id[is]"] == "cust_1"
    assert lookup["item_price_id[is]"] == "overage-credits-USD"


def test_a_late_retry_is_deduplicated_by_chargebee(
    fake: FakeChargebee, usage_sink: ChargebeeUsageSink
) -> None:
    usage_sink.report(OVERAGE)
    fake.idempotent.clear()

    usage_sink.report(OVERAGE)

    assert len(fake.objects["usages"]) == 1 and len(fake.created) == 1


def test_a_mapped_subscription_needs_no_lookup(
    fake: FakeChargebee, settings: ChargebeeSettings, retry: RetryPolicy
) -> None:
    mapped = settings.model_copy(update={"usage_subscriptions": {"cust_1": "sub_9"}})

    ChargebeeUsageSink(mapped, retry=retry).report(OVERAGE)

    assert fake.list_calls("subscriptions") == []
    assert len(form(fake, "/subscriptions/sub_9/usages")) == 1


def test_a_customer_without_a_metered_subscription_fails_the_record_with_the_reason(
    fake: FakeChargebee, settings: ChargebeeSettings, retry: RetryPolicy
) -> None:
    sink = ChargebeeUsageSink(settings, retry=retry)

    with pytest.raises(InvalidInput, match="no live subscription with the metered item price"):
        sink.report(OVERAGE)


def test_long_keys_become_stable_digests_within_chargebee_limits() -> None:
    long_key = "k" * 200

    assert mark("usage", long_key) == mark("usage", long_key)
    assert len(mark("usage", long_key)) <= 100
    assert mark("usage", long_key) != mark("usage", long_key + "x")
