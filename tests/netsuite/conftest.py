"""Fixtures for the NetSuite adapter tests: a certificate's key pair, the stand-in account behind
respx, and a sink wired to it with the example mappings' NetSuite ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from netsuite_fake import ACCOUNT_ID, CERTIFICATE_ID, CLIENT_ID, HOST, FakeNetSuite

from adapters.netsuite.client import NetSuiteClient
from adapters.netsuite.settings import NetSuiteSettings
from adapters.netsuite.sink import NetSuiteSink
from connector.platform.retry import RetryPolicy
from connector.settings import EXAMPLE_MAPPINGS
from mappings.loader import load_mappings


class Sleeps(list[float]):
    """Records the waits the retry policy asked for, without waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


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


def raw_settings(key_file: Path, **extra: Any) -> dict[str, Any]:
    """A connection's settings as they come from creditsync.toml (the private key by path)."""
    return {
        "account_id": ACCOUNT_ID,
        "client_id": CLIENT_ID,
        "certificate_id": CERTIFICATE_ID,
        "private_key": str(key_file),
        "base_url": HOST,
        **extra,
    }


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
