"""Fixtures for the NetSuite adapter tests: a certificate's key pair, the stand-in account behind
respx, and a sink wired to it with the example mappings' NetSuite ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.netsuite.client import NetSuiteClient
from adapters.netsuite.settings import NetSuiteSettings
from adapters.netsuite.sink import NetSuiteSink
from connector.platform.retry import RetryPolicy
from connector.settings import EXAMPLE_MAPPINGS
from mappings.loader import load_mappings
from tests.netsuite.netsuite_fake import FakeNetSuite, pem, raw_settings
from tests.platform_support import Sleeps


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def key_file(rsa_key: rsa.RSAPrivateKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("netsuite") / "creditsync-m2m.pem"
    path.write_text(pem(rsa_key))
    return path


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def fake(router: respx.MockRouter, rsa_key: rsa.RSAPrivateKey) -> FakeNetSuite:
    return FakeNetSuite(router, rsa_key.public_key())


@pytest.fixture
def settings(key_file: Path) -> NetSuiteSettings:
    books = load_mappings([EXAMPLE_MAPPINGS]).sink_books("netsuite")
    return NetSuiteSettings.model_validate(
        {**raw_settings(key_file), "gl_books": [b.model_dump(by_alias=True) for b in books]}
    )


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def sink(settings: NetSuiteSettings, fake: FakeNetSuite, sleeps: Sleeps) -> NetSuiteSink:
    policy = RetryPolicy(max_attempts=4, base_wait=0.5, max_wait=8.0, jitter=0.0, sleep=sleeps)
    return NetSuiteSink(settings, NetSuiteClient(settings, policy=policy))
