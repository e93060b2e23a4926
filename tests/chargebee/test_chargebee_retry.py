"""Bounded retries around the SDK: 429 and 5xx retried honouring Retry-After, other 4xx fail
fast with Chargebee's message, code and param; the SDK's own retries never run."""

from __future__ import annotations

import httpx
import pytest

import tests.chargebee.chargebee_payloads as p
from adapters.chargebee.retry import ChargebeeRequestFailed, RetryPolicy, classify
from adapters.chargebee.source import ChargebeeSource
from tests.chargebee.chargebee_fake import FakeChargebee, failing
from tests.platform_support import Sleeps


def test_429_waits_what_retry_after_asks_then_succeeds(
    fake: FakeChargebee, source: ChargebeeSource, sleeps: Sleeps
) -> None:
    fake.add("invoices", p.invoice(address=p.billing_address()))
    fake.interceptors.append(failing(429, times=2, headers={"Retry-After": "3"}))

    events = [e for page in source.pages(None) for e in page.events]

    assert len(events) == 1
    assert sleeps == [3.0, 3.0]


def test_5xx_is_retried_with_backoff_and_bounded(
    fake: FakeChargebee, source: ChargebeeSource, sleeps: Sleeps
) -> None:
    fake.interceptors.append(failing(503, times=100))

    with pytest.raises(ChargebeeRequestFailed) as caught:
        next(iter(source.pages(None)))

    assert caught.value.attempts == 4 and len(fake.requests) == 4
    assert len(sleeps) == 3 and all(0 < s <= 8 for s in sleeps)
    assert caught.value.status == 503 and caught.value.retryable
    assert "still failing after 4 attempts" in caught.value.message


def test_a_4xx_fails_at_once_with_chargebee_message_code_and_param(
    fake: FakeChargebee, source: ChargebeeSource, sleeps: Sleeps
) -> None:
    error = p.error_body(
        "updated_at[after] : invalid value",
        status=400,
        api_error_code="param_wrong_value",
        param="updated_at[after]",
    )
    fake.interceptors.append(failing(400, times=1, body=error))

    with pytest.raises(ChargebeeRequestFailed) as caught:
        next(iter(source.pages(None)))

    failed = caught.value
    assert (failed.status, failed.platform_code, failed.param) == (
        400,
        "param_wrong_value",
        "updated_at[after]",
    )
    assert "invalid value" in failed.message and "param updated_at[after]" in failed.message
    assert sleeps == [] and len(fake.requests) == 1


def test_a_proxy_page_instead_of_json_is_a_retryable_failure(
    fake: FakeChargebee, source: ChargebeeSource, sleeps: Sleeps
) -> None:
    html = httpx.Response(502, text="<html>503 Service Unavailable</html>")
    calls = [0]

    def proxy(request: httpx.Request, _: int) -> httpx.Response | None:
        calls[0] += 1
        return html if calls[0] == 1 else None

    fake.interceptors.append(proxy)

    pages = list(source.pages(None))

    assert pages and len(sleeps) == 1


def test_timeouts_are_retried(fake: FakeChargebee, source: ChargebeeSource, sleeps: Sleeps) -> None:
    calls = [0]

    def slow(request: httpx.Request, _: int) -> httpx.Response | None:
        calls[0] += 1
        if calls[0] == 1:
            raise httpx.ReadTimeout("read timed out", request=request)
        return None

    fake.interceptors.append(slow)

    list(source.pages(None))

    assert len(sleeps) == 1


def test_sdk_retries_stay_off(fake: FakeChargebee, source: ChargebeeSource) -> None:
    """The SDK would retry a 429 without bound; with one attempt allowed, one request is made."""
    fake.interceptors.append(failing(429, times=100))
    one_shot = ChargebeeSource(source._settings, retry=RetryPolicy(max_attempts=1))

    with pytest.raises(ChargebeeRequestFailed) as caught:
        next(iter(one_shot.pages(None)))

    assert len(fake.requests) == 1
    assert caught.value.platform_code == "api_request_limit_exceeded"


def test_anything_that_is_not_a_platform_failure_is_left_alone() -> None:
    assert classify(ValueError("a bug")) is None
    assert classify(Exception("something else")) is None
