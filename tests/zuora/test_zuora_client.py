"""The thin Zuora client: OAuth token reuse and renewal, entity header, idempotency keys,
"200 but failed", retries honouring Retry-After / RateLimit-Reset, and settings errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adapters.zuora.client import ZuoraApi, ZuoraRequestFailed
from adapters.zuora.settings import load_settings
from connector.errors import InvalidInput
from connector.platform.retry import RetryPolicy
from tests.platform_support import Sleeps
from tests.zuora.zuora_fake import CLIENT_SECRET, ZuoraFake, zuora_settings
from tests.zuora.zuora_payloads import ACCOUNT, failure, invoice


def test_one_token_serves_many_calls(api: ZuoraApi, fake: ZuoraFake) -> None:
    fake.add("invoices", invoice("inv1"))

    api.record("invoices", "inv1")
    api.record("invoices", "inv1")

    token_calls = fake.calls("POST", "/oauth/token")
    assert len(token_calls) == 1
    form = token_calls[0].content.decode()
    assert "grant_type=client_credentials" in form and token_calls[0].headers["Content-Type"] == (
        "application/x-www-form-urlencoded"
    )


def test_a_401_gets_one_new_token_and_one_more_try(api: ZuoraApi, fake: ZuoraFake) -> None:
    fake.add("invoices", invoice("inv1"))
    api.record("invoices", "inv1")
    fake.expire_tokens()

    assert api.record("invoices", "inv1") is not None
    assert fake.tokens_issued == 2


def test_a_token_is_renewed_before_it_expires(fake: ZuoraFake, retry: RetryPolicy) -> None:
    clock = [0.0]
    fake.next_token_expires_in = 3599
    api = ZuoraApi(zuora_settings(), retry=retry, monotonic=lambda: clock[0])
    api.get("/object-query/invoices", {"pageSize": "1"})
    clock[0] = 3000.0
    api.get("/object-query/invoices", {"pageSize": "1"})
    clock[0] = 3560.0  # within a minute of expiry
    api.get("/object-query/invoices", {"pageSize": "1"})

    assert fake.tokens_issued == 2


def test_bad_client_credentials_fail_at_once_without_retries(
    fake: ZuoraFake, sleeps: Sleeps, retry: RetryPolicy
) -> None:
    api = ZuoraApi(zuora_settings(client_secret="not-the-secret"), retry=retry)

    with pytest.raises(ZuoraRequestFailed, match="invalid client credentials") as caught:
        api.record("invoices", "inv1")

    assert caught.value.status == 401 and sleeps == []
    assert CLIENT_SECRET not in str(caught.value) and "not-the-secret" not in str(caught.value)


def test_entity_ids_and_idempotency_keys_are_sent(fake: ZuoraFake, retry: RetryPolicy) -> None:
    api = ZuoraApi(zuora_settings(entity_ids=["e-1", "e-2"]), retry=retry)

    api.get("/object-query/usages", {"pageSize": "1"})
    api.post(
        "/v1/object/usage",
        {
            "AccountId": ACCOUNT,
            "UOM": "credits",
            "Quantity": 1,
            "StartDateTime": "2026-01-05T00:00:00Z",
        },
        idempotency_key="k-1",
    )

    get, post = (
        fake.calls("GET", "/object-query/usages")[0],
        fake.calls("POST", "/v1/object/usage")[0],
    )
    assert get.headers["Zuora-Entity-Ids"] == post.headers["Zuora-Entity-Ids"] == "e-1,e-2"
    assert post.headers["Idempotency-Key"] == "k-1" and "Idempotency-Key" not in get.headers
    with pytest.raises(ValueError, match="idempotency key"):
        api.post("/v1/object/usage", {}, idempotency_key="")


@pytest.mark.parametrize(
    "body",
    [
        failure("53100020", "accounting period 2026-01 is closed"),
        {
            "Success": False,
            "Errors": [{"Code": "INVALID_VALUE", "Message": "accounting period 2026-01 is closed"}],
        },
    ],
    ids=["camelCase", "PascalCase"],
)
def test_a_200_that_says_success_false_is_a_failure_with_zuoras_reasons(
    api: ZuoraApi, fake: ZuoraFake, sleeps: Sleeps, body: dict[str, Any]
) -> None:
    fake.fail("/v1/journal-entries", 200, method="POST", body=body)

    with pytest.raises(ZuoraRequestFailed, match="accounting period 2026-01 is closed") as caught:
        api.post("/v1/journal-entries", {}, idempotency_key="je-1")

    assert caught.value.retryable is False and sleeps == []
    assert caught.value.platform_code in ("53100020", "INVALID_VALUE")


def test_waits_follow_retry_after_then_rate_limit_reset_within_the_cap(
    api: ZuoraApi, fake: ZuoraFake, sleeps: Sleeps
) -> None:
    fake.fail("/object-query/invoices", 429, retry_after="2")
    fake.fail("/object-query/invoices", 429, rate_limit_reset="120")
    fake.fail("/object-query/invoices", 503)

    api.query("invoices")

    assert sleeps[:2] == [2.0, 30.0]  # RateLimit-Reset of 120 s capped at max_wait
    assert len(sleeps) == 3


def test_amounts_are_read_as_decimals(api: ZuoraApi, fake: ZuoraFake) -> None:
    fake.add("invoices", invoice("inv1"))

    found = api.record("invoices", "inv1")

    assert found is not None and found["amount"] == Decimal("10000.0")


def test_settings_name_the_key_at_fault_and_never_echo_secrets() -> None:
    with pytest.raises(InvalidInput) as caught:
        load_settings(
            {"base_url": "http://rest.na.zuora.com", "client_secret": "s3cr3t-value", "colour": 1}
        )

    message = str(caught.value)
    assert "base_url" in message and "colour" in message and "s3cr3t-value" not in message
    with pytest.raises(InvalidInput, match="client_id"):
        ZuoraApi(load_settings({"base_url": "https://rest.eu.zuora.com"}))
    assert (
        load_settings({"base_url": "https://rest.eu.zuora.com/"}).base_url
        == "https://rest.eu.zuora.com"
    )
