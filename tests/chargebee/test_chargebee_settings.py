"""Chargebee connection settings: one clear line per mistake, never a secret echoed."""

from __future__ import annotations

import httpx
import pytest
import respx
from chargebee import Chargebee

import tests.chargebee.chargebee_payloads as p
from adapters.chargebee import ADAPTER
from adapters.chargebee.settings import ChargebeeSettings, load_settings
from adapters.chargebee.source import ChargebeeSource
from connector.errors import InvalidInput
from connector.ports import adapter, available_platforms
from tests.chargebee.chargebee_fake import NOW


def test_the_adapter_is_found_by_name_with_its_ports() -> None:
    assert "chargebee" in available_platforms()
    spec = adapter("chargebee")
    assert spec is ADAPTER
    assert spec.sink is None  # Chargebee has no journal API
    assert None not in (spec.source, spec.receiver, spec.usage, spec.charger)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"site": "https://acme.chargebee.com"}, "site"),
        ({"base_url": "ftp://proxy"}, "base_url"),
        ({"base_url": "http://proxy:8080/api/v2"}, "base_url"),
        ({"currencies": ["KWD"]}, "currencies"),
        ({"currencies": ["usd", "XXX"]}, "currencies"),
        ({"webhook_credentials": [{"user": "cb", "password": "short"}]}, "webhook_credentials"),
        ({"overlap_seconds": -1}, "overlap_seconds"),
        ({"backfill_from": "2026-01-01T00:00:00"}, "backfill_from"),
        ({"api_kee": "x"}, "api_kee"),
    ],
)
def test_bad_settings_name_the_key(raw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_settings({"api_key": "test_secret_value_123", **raw})

    assert field in caught.value.field
    assert "test_secret_value_123" not in str(caught.value)


def test_secrets_never_show() -> None:
    settings = load_settings(
        {
            "api_key": "test_secret_value_123",
            "webhook_credentials": [{"user": "cb", "password": "hunter2-hunter2"}],
        }
    )

    assert "test_secret_value_123" not in repr(settings)
    assert "hunter2" not in repr(settings)


def test_a_source_needs_a_backfill_date_and_a_site_or_base_url() -> None:
    with pytest.raises(InvalidInput, match="backfill_from"):
        ChargebeeSource(ChargebeeSettings(api_key="k", site="acme"))
    with pytest.raises(InvalidInput, match="site"):
        ChargebeeSource(load_settings({"api_key": "k", "backfill_from": "2026-01-01"}))


def test_an_http_base_url_is_spoken_as_http(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK speaks https while the class attribute verify_ca_certs is true; http must work."""
    monkeypatch.setattr(Chargebee, "verify_ca_certs", True)
    settings = load_settings(
        {"api_key": "k", "base_url": "http://127.0.0.1:8766", "backfill_from": "2026-01-01"}
    )
    with respx.mock(assert_all_mocked=True) as router:
        route = router.get(url__regex=r"^http://127\.0\.0\.1:8766/api/v2/").mock(
            return_value=httpx.Response(200, json=p.list_envelope("invoice", []))
        )
        list(ChargebeeSource(settings, clock=lambda: NOW).pages(None))

    assert route.call_count == 6  # one listing per stream, each answered empty
