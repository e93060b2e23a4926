"""Retries around the Stripe SDK: what is retried, how long it waits, what fails at once."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx

from adapters.stripe.client import StripeApi, build_client
from adapters.stripe.retry import RetryPolicy, StripeRequestFailed
from tests.platform_support import Sleeps
from tests.stripe.stripe_fake import API_KEY
from tests.stripe.stripe_payloads import error_body, invoice

FIXTURES = Path(__file__).parent / "fixtures"
URL = "https://api.stripe.com/v1/invoices/in_1"
RATE_LIMITED = json.loads((FIXTURES / "rate_limit_error.json").read_text())


@pytest.fixture
def api(retry: RetryPolicy) -> StripeApi:
    return StripeApi(build_client(API_KEY), retry)


def rate_limited(**headers: str) -> httpx.Response:
    return httpx.Response(429, json=RATE_LIMITED, headers=headers)


def test_a_429_storm_that_ends_is_ridden_out_with_growing_waits(
    api: StripeApi, router: respx.MockRouter, sleeps: Sleeps, retry: RetryPolicy
) -> None:
    route = router.get(URL).mock(
        side_effect=[
            rate_limited(),
            rate_limited(),
            rate_limited(),
            httpx.Response(200, json=invoice()),
        ]
    )

    assert api.get("/v1/invoices/in_1")["id"] == "in_1"

    assert route.call_count == 4
    assert len(sleeps) == 3
    for n, wait in enumerate(sleeps):  # exponential: base * 2**n plus at most the jitter
        floor = retry.base_wait * 2**n
        assert floor <= wait <= floor + retry.jitter


def test_a_429_storm_that_never_ends_fails_with_a_clear_error(
    api: StripeApi, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    route = router.get(URL).mock(return_value=rate_limited())

    with pytest.raises(StripeRequestFailed) as failed:
        api.get("/v1/invoices/in_1")

    assert route.call_count == 4 and len(sleeps) == 3
    error = failed.value
    assert (error.status, error.attempts, error.retryable) == (429, 4, True)
    assert error.stripe_code == "rate_limit"
    assert str(error) == (
        "Stripe GET /v1/invoices/in_1 still failing after 4 attempts (HTTP 429 (rate_limit)): "
        + RATE_LIMITED["error"]["message"]
    )


def test_a_400_fails_at_once_with_stripes_own_message(
    api: StripeApi, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    message = "Received unknown parameter: colour. Did you mean color?"
    route = router.get(URL).mock(
        return_value=httpx.Response(
            400, json=error_body(message, code="parameter_unknown", param="colour")
        )
    )

    with pytest.raises(StripeRequestFailed) as failed:
        api.get("/v1/invoices/in_1")

    assert route.call_count == 1 and sleeps == []
    assert failed.value.stripe_message == message
    assert str(failed.value).endswith(message)
    assert failed.value.retryable is False


@pytest.mark.parametrize("status", [401, 403, 404])
def test_other_client_errors_fail_at_once(
    api: StripeApi, router: respx.MockRouter, sleeps: Sleeps, status: int
) -> None:
    route = router.get(URL).mock(return_value=httpx.Response(status, json=error_body("no")))

    with pytest.raises(StripeRequestFailed):
        api.get("/v1/invoices/in_1")

    assert route.call_count == 1 and sleeps == []


def test_stripe_should_retry_false_is_honoured_even_on_a_500(
    api: StripeApi, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    body = error_body("An unknown error occurred", type_="api_error")
    route = router.get(URL).mock(
        return_value=httpx.Response(500, json=body, headers={"Stripe-Should-Retry": "false"})
    )

    with pytest.raises(StripeRequestFailed, match="An unknown error occurred"):
        api.get("/v1/invoices/in_1")

    assert route.call_count == 1 and sleeps == []


def test_stripe_should_retry_true_retries_a_4xx(
    api: StripeApi, router: respx.MockRouter, sleeps: Sleeps
) -> None:
    locked = httpx.Response(
        400,
        json=error_body("This object cannot be accessed right now", code="lock_timeout"),
        headers={"Stripe-Should-Retry": "true"},
    )
    route = router.get(URL).mock(side_effect=[locked, httpx.Response(200, json=invoice())])

    api.get("/v1/invoices/in_1")

    assert route.call_count == 2 and len(sleeps) == 1


@pytest.mark.parametrize("status", [409, 500, 502, 503])
def test_conflicts_and_server_errors_are_retried(
    api: StripeApi, router: respx.MockRouter, status: int
) -> None:
    failing = httpx.Response(status, json=error_body("try again", type_="api_error"))
    route = router.get(URL).mock(side_effect=[failing, httpx.Response(200, json=invoice())])

    api.get("/v1/invoices/in_1")

    assert route.call_count == 2


def test_retry_after_is_the_wait_when_stripe_sends_it(
    api: StripeApi, router: respx.MockRouter, sleeps: Sleeps, retry: RetryPolicy
) -> None:
    router.get(URL).mock(
        side_effect=[
            rate_limited(**{"Retry-After": "3"}),
            rate_limited(**{"Retry-After": "120"}),
            httpx.Response(200, json=invoice()),
        ]
    )

    api.get("/v1/invoices/in_1")

    assert sleeps == [3.0, retry.max_wait]  # what was asked, within the policy's ceiling


def test_a_dropped_connection_is_retried(api: StripeApi, router: respx.MockRouter) -> None:
    route = router.get(URL).mock(
        side_effect=[httpx.ConnectError("connection reset"), httpx.Response(200, json=invoice())]
    )

    api.get("/v1/invoices/in_1")

    assert route.call_count == 2


def test_a_retried_post_sends_the_same_idempotency_key(
    api: StripeApi, router: respx.MockRouter
) -> None:
    route = router.post("https://api.stripe.com/v1/invoices").mock(
        side_effect=[rate_limited(), httpx.Response(200, json=invoice("in_new", status="draft"))]
    )

    api.post("/v1/invoices", {"customer": "cus_1"}, idempotency_key="refill-7:invoice")

    assert [c.request.headers["Idempotency-Key"] for c in route.calls] == ["refill-7:invoice"] * 2


def test_a_post_without_an_idempotency_key_is_refused(
    api: StripeApi, router: respx.MockRouter
) -> None:
    with pytest.raises(ValueError, match="idempotency key"):
        api.post("/v1/invoices", {"customer": "cus_1"}, idempotency_key="")
    assert router.calls.call_count == 0


def test_requests_carry_the_key_and_the_pinned_api_version(
    api: StripeApi, router: respx.MockRouter
) -> None:
    route = router.get(URL).mock(return_value=httpx.Response(200, json=invoice()))

    api.get("/v1/invoices/in_1")

    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Stripe-Version"] == "2026-10-28.endive"


def test_the_default_policy_really_sleeps_between_attempts() -> None:
    import time

    assert RetryPolicy().sleep is time.sleep
