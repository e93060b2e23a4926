"""Zuora connection settings: one clear line per mistake, and secrets never shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.zuora import ADAPTER
from adapters.zuora.settings import load_settings
from connector.errors import InvalidInput
from connector.ports import adapter
from connector.settings import Connection, Settings, masked
from tests.zuora.zuora_fake import CALLOUT_PASSWORD, CLIENT_SECRET, zuora_settings


def test_the_registry_finds_every_zuora_port() -> None:
    spec = adapter("zuora")

    assert spec is ADAPTER
    assert None not in (spec.source, spec.receiver, spec.sink, spec.usage, spec.charger)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"base_url": "ftp://rest.zuora.com"}, "base_url"),
        ({"base_url": "https://rest.zuora.com?x=1"}, "base_url"),
        ({"base_url": "https://rest.zuora.com", "hmac_signed_fields": []}, "hmac_signed_fields"),
        ({"base_url": "https://rest.zuora.com", "hmac_algorithm": "md5"}, "hmac_algorithm"),
        ({"base_url": "https://rest.zuora.com", "callout_realm": 'a"b'}, "callout_realm"),
        (
            {"base_url": "https://rest.zuora.com", "backfill_from": "2026-01-01T00:00:00"},
            "backfill_from",
        ),
        ({}, "base_url"),
    ],
)
def test_each_mistake_names_its_key(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_settings(raw)

    assert field in caught.value.field


def test_a_local_stand_in_may_use_plain_http_and_dates_mean_midnight_utc() -> None:
    settings = load_settings({"base_url": "http://127.0.0.1:8766", "backfill_from": "2026-01-01"})

    assert settings.backfill_from == datetime(2026, 1, 1, tzinfo=UTC)


def test_secrets_are_masked_and_never_in_repr() -> None:
    raw = zuora_settings(hmac_secrets=["hm4c"]).model_dump(mode="json")
    raw["client_secret"] = CLIENT_SECRET
    raw["callout_credentials"] = [{"user": "u", "password": CALLOUT_PASSWORD}]
    settings = Settings(connections={"zuora": Connection(platform="zuora", settings=raw)})

    shown = str(masked(settings))

    assert CLIENT_SECRET not in shown and CALLOUT_PASSWORD not in shown and "hm4c" not in shown
    assert CLIENT_SECRET not in repr(load_settings(raw))
