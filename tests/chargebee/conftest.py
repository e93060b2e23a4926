"""Fixtures for the Chargebee adapter tests: a respx-backed fake Chargebee and adapters on it."""

from __future__ import annotations

import pytest
import respx

from adapters.chargebee.retry import RetryPolicy
from adapters.chargebee.settings import ChargebeeSettings
from adapters.chargebee.source import ChargebeeSource
from tests.chargebee.chargebee_fake import API_KEY, NOW, SITE, FakeChargebee
from tests.platform_support import retry as retry
from tests.platform_support import router as router
from tests.platform_support import sleeps as sleeps


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
