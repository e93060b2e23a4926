"""Fixtures for the Stripe adapter tests: a respx-backed fake Stripe and adapters wired to it."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

from adapters.stripe.retry import RetryPolicy
from adapters.stripe.settings import StripeSettings
from adapters.stripe.source import StripeSource
from tests.platform_support import retry as retry
from tests.platform_support import router as router
from tests.platform_support import sleeps as sleeps
from tests.stripe.stripe_fake import API_KEY, NOW, FakeStripe


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The SDK hands httpx form bodies as bytes, which httpx deprecates; not ours to fix."""
    here = Path(__file__).parent
    quiet = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
    for item in items:
        if here in item.path.parents:
            item.add_marker(quiet)


@pytest.fixture
def fake(router: respx.MockRouter) -> FakeStripe:
    return FakeStripe(router)


@pytest.fixture
def settings() -> StripeSettings:
    return StripeSettings.model_validate(
        {
            "api_key": API_KEY,
            "backfill_from": "2026-01-01",
            "webhook_secrets": ["whsec_old_0123456789", "whsec_new_9876543210"],
            "refill_price": "price_refill_5000",
            "meter_event_name": "ai_credits_overage",
        }
    )


@pytest.fixture
def source(fake: FakeStripe, settings: StripeSettings, retry: RetryPolicy) -> StripeSource:
    return StripeSource(settings, retry=retry, clock=lambda: NOW)
