"""Fixtures for the Zuora adapter tests: the respx stand-in and adapters wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import respx
from zuora_fake import BASE, CLIENT_ID, CLIENT_SECRET, ZuoraFake
from zuora_payloads import account

from adapters.zuora.client import ZuoraApi
from adapters.zuora.settings import ZuoraSettings
from adapters.zuora.source import ZuoraSource
from connector.platform.retry import RetryPolicy

NOW = datetime(2026, 2, 1, tzinfo=UTC)
CALLOUT_USER = "zuora-callouts"
CALLOUT_PASSWORD = "c4ll0ut-pa55-7Qz"
HMAC_KEY = "hm4c-key-9f8e7d6c5b4a"


class Sleeps(list[float]):
    """Records the waits the retry policy asked for, without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def zuora_settings(**overrides: Any) -> ZuoraSettings:
    raw: dict[str, Any] = {
        "base_url": BASE,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "backfill_from": "2026-01-01",
        "callout_credentials": [{"user": CALLOUT_USER, "password": CALLOUT_PASSWORD}],
        "usage_uom": "credits",
    }
    raw.update(overrides)
    return ZuoraSettings.model_validate(raw)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_wait=0.5, max_wait=30.0, jitter=0.0, sleep=sleeps)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def fake(router: respx.MockRouter) -> ZuoraFake:
    tenant = ZuoraFake(router)
    tenant.add("accounts", account())
    return tenant


@pytest.fixture
def settings() -> ZuoraSettings:
    return zuora_settings()


@pytest.fixture
def api(fake: ZuoraFake, settings: ZuoraSettings, retry: RetryPolicy) -> ZuoraApi:
    return ZuoraApi(settings, retry=retry)


@pytest.fixture
def source(api: ZuoraApi, settings: ZuoraSettings) -> ZuoraSource:
    return ZuoraSource(settings, api=api, clock=lambda: NOW)
