"""Fixtures for the Zuora adapter tests: the respx stand-in and adapters wired to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx

from adapters.zuora.client import ZuoraApi
from adapters.zuora.settings import ZuoraSettings
from adapters.zuora.source import ZuoraSource
from connector.platform.retry import RetryPolicy
from tests.zuora.zuora_fake import NOW, Sleeps, ZuoraFake, zuora_settings
from tests.zuora.zuora_payloads import account


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
