"""Connection settings: validated up front, errors that name the key, secrets never shown."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.stripe import ADAPTER
from adapters.stripe.charger import StripeCharger
from adapters.stripe.settings import StripeSettings, load_settings
from adapters.stripe.source import StripeSource
from adapters.stripe.usage import StripeUsageSink
from adapters.stripe.webhook import StripeReceiver
from connector.errors import InvalidInput
from connector.ports import adapter

GOOD: dict[str, Any] = {
    "api_key": "sk_live_51Qx0000secret0000",
    "webhook_secrets": ["whsec_a_111", "whsec_b_222"],
    "backfill_from": "2026-01-01",
    "overlap_seconds": 120,
    "refill_price": "price_refill",
    "meter_event_name": "ai_credits_overage",
}


def test_the_registry_finds_the_stripe_adapter() -> None:
    spec = adapter("stripe")

    assert spec is ADAPTER and spec.platform == "stripe"
    assert spec.sink is None  # Stripe has no journal API
    assert spec.source is not None and spec.receiver is not None
    assert spec.usage is not None and spec.charger is not None
    assert isinstance(spec.source(GOOD), StripeSource)
    assert isinstance(spec.receiver(GOOD), StripeReceiver)
    assert isinstance(spec.usage(GOOD), StripeUsageSink)
    assert isinstance(spec.charger(GOOD), StripeCharger)


def test_good_settings_are_read_with_their_defaults() -> None:
    settings = load_settings(GOOD)

    assert settings.backfill_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert settings.overlap_seconds == 120
    assert [s.get_secret_value() for s in settings.webhook_secrets] == [
        "whsec_a_111",
        "whsec_b_222",
    ]
    assert load_settings({"api_key": "rk_test_1"}).overlap_seconds == 300


def test_a_single_webhook_secret_may_be_given_as_a_string() -> None:
    settings = load_settings({"webhook_secrets": "whsec_only"})

    assert [s.get_secret_value() for s in settings.webhook_secrets] == ["whsec_only"]


def test_secrets_never_show_in_repr_or_errors() -> None:
    settings = load_settings(GOOD)
    assert "secret0000" not in repr(settings)
    assert "whsec_a_111" not in repr(settings)

    with pytest.raises(InvalidInput) as refused:
        load_settings({**GOOD, "api_key": "pk_live_publishable_oops"})
    assert refused.value.field == "api_key"
    assert "publishable_oops" not in str(refused.value)
    assert "sk_live_" in str(refused.value)  # the fix says what kind of key belongs there


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"webhook_secrets": ["secret"]}, "webhook_secrets", "whsec_"),
        ({"backfill_from": "last tuesday"}, "backfill_from", "2026-01-01"),
        ({"backfill_from": "2026-01-01T00:00:00"}, "backfill_from", "timezone"),
        ({"overlap_seconds": -1}, "overlap_seconds", "between 0 and 86400"),
        ({"refill_price": "prod_123"}, "refill_price", "price id"),
        ({"apikey": "sk_test_1"}, "apikey", "remove it"),
    ],
)
def test_bad_settings_name_the_key_and_the_fix(
    changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        load_settings({**GOOD, **changes})

    assert refused.value.field == field
    assert words in str(refused.value)


def test_several_bad_keys_are_reported_together() -> None:
    with pytest.raises(InvalidInput) as refused:
        load_settings({**GOOD, "overlap_seconds": "soon", "refill_price": "prod_1"})

    assert refused.value.field == "overlap_seconds, refill_price"


@pytest.mark.parametrize(
    ("missing", "factory"),
    [
        ("backfill_from", StripeSource),
        ("api_key", StripeSource),
        ("api_key", StripeCharger),
        ("meter_event_name", StripeUsageSink),
        ("webhook_secrets", StripeReceiver),
    ],
)
def test_each_component_names_what_it_is_missing(missing: str, factory: Any) -> None:
    settings = StripeSettings.model_validate({k: v for k, v in GOOD.items() if k != missing})

    with pytest.raises(InvalidInput) as refused:
        factory(settings)

    assert refused.value.field == missing
