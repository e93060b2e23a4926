"""M2M authentication: the client assertion is a valid PS256 (or ES256) JWT that NetSuite's
token endpoint accepts, and the 60-minute token is kept, renewed before it ends, and replaced
after a 401."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from adapters.netsuite.auth import NetSuiteAuthFailed, TokenSource, client_assertion
from adapters.netsuite.settings import NetSuiteSettings
from adapters.netsuite.sink import NetSuiteSink
from connector.errors import InvalidInput
from tests.netsuite.netsuite_fake import (
    CERTIFICATE_ID,
    CLIENT_ID,
    HOST,
    TOKEN_PATH,
    FakeNetSuite,
    pem,
    raw_settings,
)


@pytest.fixture
def now() -> float:
    """The real clock, read when the test runs: the stand-in checks exp against it."""
    return float(int(time.time()))


def test_the_token_request_carries_a_ps256_jwt_signed_by_the_certificate_key(
    settings: NetSuiteSettings, rsa_key: rsa.RSAPrivateKey, fake: FakeNetSuite, now: float
) -> None:
    source = TokenSource(settings, httpx.Client(), clock=lambda: now)
    assert source.token() == fake.tokens_issued[0]
    request = fake.requests[0]
    assert request.url == HOST + TOKEN_PATH
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = dict(httpx.QueryParams(request.content.decode()))
    assertion = form["client_assertion"]
    header = jwt.get_unverified_header(assertion)
    assert header == {"alg": "PS256", "kid": CERTIFICATE_ID, "typ": "JWT"}
    claims = jwt.decode(  # the signature checks out with the certificate's public key
        assertion,
        rsa_key.public_key(),
        algorithms=["PS256"],
        audience=HOST + TOKEN_PATH,
        options={"verify_exp": False},
    )
    assert claims["iss"] == CLIENT_ID
    assert claims["scope"] == "rest_webservices"
    assert claims["iat"] == int(now) and now < claims["exp"] <= now + 3600
    with pytest.raises(jwt.InvalidSignatureError):  # and with no other key
        jwt.decode(
            assertion,
            rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(),
            algorithms=["PS256"],
            audience=HOST + TOKEN_PATH,
            options={"verify_exp": False},
        )


def test_an_es256_certificate_signs_es256(
    key_file: Path, router: respx.MockRouter, now: float
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    settings = NetSuiteSettings.model_validate(
        {**raw_settings(key_file), "private_key": pem(key), "algorithm": "ES256"}
    )
    fake = FakeNetSuite(router, key.public_key(), algorithm="ES256")
    assert TokenSource(settings, httpx.Client(), clock=lambda: now).token()
    assert fake.assertions[0]["header"]["alg"] == "ES256"


def test_the_token_is_kept_for_its_hour_and_renewed_five_minutes_before_it_ends(
    settings: NetSuiteSettings, fake: FakeNetSuite, now: float
) -> None:
    fake.leeway = 7200  # this test moves the client's clock ahead of the stand-in's
    clock = [now]
    source = TokenSource(settings, httpx.Client(), clock=lambda: clock[0])
    first = source.token()
    clock[0] = now + 3600 - 301
    assert source.token() == first and len(fake.tokens_issued) == 1
    clock[0] = now + 3600 - 299
    assert source.token() != first and len(fake.tokens_issued) == 2
    assert fake.assertions[1]["claims"]["iat"] == int(clock[0])  # a fresh JWT each time


def test_a_401_drops_the_token_and_the_request_is_made_once_more(
    sink: NetSuiteSink, fake: FakeNetSuite
) -> None:
    sink.client.tokens.token()
    fake.tokens_issued.clear()  # NetSuite revoked it
    assert sink.currency_id("USD") == "1"
    assert len(fake.tokens_issued) == 1
    statuses = [r.url.path for r in fake.requests]
    assert statuses.count(TOKEN_PATH) == 2


def test_a_refused_assertion_names_the_setup_to_check(
    key_file: Path, router: respx.MockRouter, rsa_key: rsa.RSAPrivateKey, now: float
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    FakeNetSuite(router, other.public_key())  # the certificate NetSuite holds is another one
    settings = NetSuiteSettings.model_validate(raw_settings(key_file))
    with pytest.raises(NetSuiteAuthFailed) as caught:
        TokenSource(settings, httpx.Client(), clock=lambda: now).token()
    text = str(caught.value)
    assert "HTTP 400" in text and "certificate_id" in text and "Signature" in text
    assert pem(rsa_key) not in text


def test_a_key_that_cannot_sign_the_algorithm_is_refused_before_any_request(
    key_file: Path, now: float
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    settings = NetSuiteSettings.model_validate({**raw_settings(key_file), "private_key": pem(key)})
    with pytest.raises(NetSuiteAuthFailed, match="cannot sign PS256"):
        client_assertion(settings, now)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"private_key": "not a key"}, "private_key"),
        ({"algorithm": "RS256"}, "algorithm"),
        ({"concurrency": 0}, "concurrency"),
        ({"account_id": "12 34"}, "account_id"),
        ({"token_id": "x"}, "token_id"),  # TBA credentials are not accepted
    ],
)
def test_settings_name_the_field_and_never_echo_the_key(
    key_file: Path, change: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        NetSuiteSink.from_settings({**raw_settings(key_file), **change})
    assert caught.value.field.startswith(field)
    assert "BEGIN" not in str(caught.value)


def test_a_sink_without_netsuite_ids_in_the_mappings_says_where_to_add_them(
    key_file: Path,
) -> None:
    with pytest.raises(InvalidInput, match=r"\[gl\.sinks\.netsuite\]"):
        NetSuiteSink.from_settings(raw_settings(key_file))


def test_the_host_comes_from_the_account_id(key_file: Path) -> None:
    settings = NetSuiteSettings.model_validate({**raw_settings(key_file), "base_url": None})
    assert settings.host == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert settings.token_url.endswith("/services/rest/auth/oauth2/v1/token")
