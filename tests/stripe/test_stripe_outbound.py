"""Refill invoices and overage meter events: the writes, their bodies and idempotency keys."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
import respx

from adapters.stripe.charger import StripeCharger
from adapters.stripe.retry import RetryPolicy, StripeRequestFailed
from adapters.stripe.settings import StripeSettings
from adapters.stripe.usage import StripeUsageSink
from connector.errors import InvalidInput
from connector.ports import Charger, OverageUsage, RefillRequest, UsageSink
from tests.stripe.stripe_payloads import (
    invoice,
    invoice_item,
    invoice_line,
    list_envelope,
    meter_event,
    price,
)

FIXTURES = Path(__file__).parent / "fixtures"
API = "https://api.stripe.com"
REFILL = RefillRequest(
    key="refill:acct_42:7",
    account_id="acct_42",
    external_customer_id="cus_42",
    item_id="price_refill_5000",
    quantity=2,
)


def form(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode()))


@pytest.fixture
def refill_routes(router: respx.MockRouter) -> dict[str, respx.Route]:
    draft = invoice("in_refill", status="draft", customer="cus_42", lines=[])
    line = invoice_line(
        "il_refill", invoice_id="in_refill", price="price_refill_5000", quantity=2, amount=10_000
    )
    open_ = invoice("in_refill", status="open", customer="cus_42", lines=[line])
    paid = invoice("in_refill", status="paid", customer="cus_42", lines=[line])
    item = invoice_item(
        "ii_refill",
        invoice_id="in_refill",
        customer="cus_42",
        price="price_refill_5000",
        quantity=2,
    )
    return {
        "create": router.post(f"{API}/v1/invoices").mock(
            return_value=httpx.Response(200, json=draft)
        ),
        "item": router.post(f"{API}/v1/invoiceitems").mock(
            return_value=httpx.Response(200, json=item)
        ),
        "finalize": router.post(f"{API}/v1/invoices/in_refill/finalize").mock(
            return_value=httpx.Response(200, json=open_)
        ),
        "pay": router.post(f"{API}/v1/invoices/in_refill/pay").mock(
            return_value=httpx.Response(200, json=paid)
        ),
    }


@pytest.fixture
def charger(settings: StripeSettings, retry: RetryPolicy) -> StripeCharger:
    return StripeCharger(settings, retry=retry)


def test_a_refill_creates_finalizes_and_pays_an_invoice(
    charger: StripeCharger, refill_routes: dict[str, respx.Route], router: respx.MockRouter
) -> None:
    assert isinstance(charger, Charger)

    assert charger.charge(REFILL) == "in_refill"

    order = [call.request.url.path for call in router.calls]
    assert order == [
        "/v1/invoices",
        "/v1/invoiceitems",
        "/v1/invoices/in_refill/finalize",
        "/v1/invoices/in_refill/pay",
    ]
    created = form(refill_routes["create"].calls.last.request)
    assert created["customer"] == "cus_42"
    assert created["collection_method"] == "charge_automatically"
    assert created["auto_advance"] == "true"
    assert created["pending_invoice_items_behavior"] == "exclude"
    assert created["metadata[creditsync_refill]"] == REFILL.key
    item = form(refill_routes["item"].calls.last.request)
    assert (item["invoice"], item["pricing[price]"], item["quantity"]) == (
        "in_refill",
        "price_refill_5000",
        "2",
    )
    assert "price" not in item  # the pinned API version takes pricing[price]
    assert form(refill_routes["pay"].calls.last.request)["off_session"] == "true"


def test_a_refill_named_by_lookup_key_is_charged_with_the_price_id(
    charger: StripeCharger, refill_routes: dict[str, respx.Route], router: respx.MockRouter
) -> None:
    prices = router.get(f"{API}/v1/prices").mock(
        return_value=httpx.Response(
            200,
            json=list_envelope(
                [price("price_refill_5000", lookup_key="refill_5k")], url="/v1/prices"
            ),
        )
    )
    assert charger.charge(dataclasses.replace(REFILL, item_id="refill_5k")) == "in_refill"
    query = dict(parse_qsl(prices.calls.last.request.url.query.decode()))
    assert query["lookup_keys[0]"] == "refill_5k" and query["active"] == "true"
    assert form(refill_routes["item"].calls.last.request)["pricing[price]"] == "price_refill_5000"


def test_a_refill_lookup_key_without_a_price_fails_clearly(
    charger: StripeCharger, refill_routes: dict[str, respx.Route], router: respx.MockRouter
) -> None:
    router.get(f"{API}/v1/prices").mock(
        return_value=httpx.Response(200, json=list_envelope([], url="/v1/prices"))
    )
    with pytest.raises(InvalidInput, match="no active Stripe price has the lookup key 'gone'"):
        charger.charge(dataclasses.replace(REFILL, item_id="gone"))
    assert not refill_routes["create"].called


def test_every_refill_write_carries_a_key_derived_from_the_request(
    charger: StripeCharger, refill_routes: dict[str, respx.Route], router: respx.MockRouter
) -> None:
    charger.charge(REFILL)
    charger.charge(REFILL)  # a retried refill sends the very same keys

    sent = [call.request.headers.get("Idempotency-Key") for call in router.calls]
    expected = [f"{REFILL.key}:{step}" for step in ("invoice", "item", "finalize", "pay")]
    assert sent == expected * 2


def test_the_settings_refill_price_is_used_when_the_request_names_none(
    charger: StripeCharger, refill_routes: dict[str, respx.Route]
) -> None:
    request = RefillRequest(key="r2", account_id="a", external_customer_id="cus_42", item_id="")

    charger.charge(request)

    assert form(refill_routes["item"].calls.last.request)["pricing[price]"] == "price_refill_5000"


def test_a_refill_without_a_price_is_refused_before_any_request(
    retry: RetryPolicy, router: respx.MockRouter
) -> None:
    charger = StripeCharger(StripeSettings.model_validate({"api_key": "sk_test_x"}), retry=retry)
    request = RefillRequest(key="r3", account_id="a", external_customer_id="cus_42", item_id="")

    with pytest.raises(InvalidInput, match="item_id"):
        charger.charge(request)
    assert router.calls.call_count == 0


def test_a_declined_card_fails_with_stripes_message(
    charger: StripeCharger, refill_routes: dict[str, respx.Route], sleeps: list[float]
) -> None:
    declined = json.loads((FIXTURES / "card_declined_error.json").read_text())
    refill_routes["pay"].mock(return_value=httpx.Response(402, json=declined))

    with pytest.raises(StripeRequestFailed, match=r"Your card was declined\.") as failed:
        charger.charge(REFILL)

    assert failed.value.stripe_code == "card_declined"
    assert refill_routes["pay"].call_count == 1 and sleeps == []


def test_overage_is_sent_as_a_meter_event(
    settings: StripeSettings, retry: RetryPolicy, router: respx.MockRouter
) -> None:
    occurred = datetime(2026, 1, 9, 12, tzinfo=UTC)
    ts = int(occurred.timestamp())
    route = router.post(f"{API}/v1/billing/meter_events").mock(
        return_value=httpx.Response(
            200, json=meter_event("ai_credits_overage", "cus_42", 35, "burn-991", ts)
        )
    )
    sink = StripeUsageSink(settings, retry=retry)
    usage = OverageUsage(
        key="burn-991",
        account_id="acct_42",
        external_customer_id="cus_42",
        credits=35,
        occurred_at=occurred,
    )

    assert isinstance(sink, UsageSink)
    assert sink.report(usage) == "burn-991"

    request = route.calls.last.request
    assert form(request) == {
        "event_name": "ai_credits_overage",
        "payload[stripe_customer_id]": "cus_42",
        "payload[value]": "35",
        "identifier": "burn-991",
        "timestamp": str(ts),
    }
    assert request.headers["Idempotency-Key"] == "burn-991:meter_event"


@pytest.mark.parametrize("credits", [0, -5])
def test_overage_that_is_not_positive_is_refused(
    settings: StripeSettings, retry: RetryPolicy, router: respx.MockRouter, credits: int
) -> None:
    sink = StripeUsageSink(settings, retry=retry)
    usage = OverageUsage(
        key="k",
        account_id="a",
        external_customer_id="cus_1",
        credits=credits,
        occurred_at=datetime(2026, 1, 9, tzinfo=UTC),
    )

    with pytest.raises(InvalidInput, match="credits"):
        sink.report(usage)
    assert router.calls.call_count == 0


def test_a_usage_sink_needs_a_meter_event_name(retry: RetryPolicy) -> None:
    with pytest.raises(InvalidInput, match="meter_event_name"):
        StripeUsageSink(StripeSettings.model_validate({"api_key": "sk_test_x"}), retry=retry)
