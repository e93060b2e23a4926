"""Fixtures for the Zuora adapter tests: the respx stand-in and adapters wired to it."""

from __future__ import annotations

import pytest
import respx

from adapters.zuora.client import ZuoraApi
from adapters.zuora.settings import ZuoraSettings
from adapters.zuora.source import ZuoraSource
from connector.platform.retry import RetryPolicy
from tests.platform_support import Sleeps
from tests.platform_support import router as router
from tests.platform_support import sleeps as sleeps
from tests.zuora.zuora_fake import NOW, ZuoraFake, zuora_settings
from tests.zuora.zuora_payloads import account


@pytest.fixture
def retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(max_attempts=4, base_wait=0.5, max_wait=30.0, jitter=0.0, sleep=sleeps)


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
