"""Fixtures for the Chargebee adapter tests: a respx-backed fake Chargebee and adapters on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from adapters.chargebee.retry import RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings
from adapters.chargebee.source import ChargebeeSource
from tests.chargebee.chargebee_fake import API_KEY, NOW, SITE, FakeChargebee, Sleeps


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_wait=0.5, max_wait=8.0, jitter=0.25, sleep=sleeps)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def fake(router: respx.MockRouter) -> FakeChargebee:
    return FakeChargebee(router)


@pytest.fixture
def settings() -> ChargebeeSettings:
    return ChargebeeSettings.model_validate(
        {
            "api_key": API_KEY,
            "site": SITE,
            "backfill_from": "2026-01-01",
            "webhook_credentials": [
                {"user": "chargebee", "password": "old-password-1"},
                {"user": "chargebee", "password": "new-password-2"},
            ],
            "refill_item_price": "credits-refill-10k-USD",
            "usage_item_price": "overage-credits-USD",
        }
    )


@pytest.fixture
def source(fake: FakeChargebee, settings: ChargebeeSettings, retry: RetryPolicy) -> ChargebeeSource:
    return ChargebeeSource(settings, retry=retry, clock=lambda: NOW)
