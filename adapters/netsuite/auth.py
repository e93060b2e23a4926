"""OAuth 2.0 client credentials (machine to machine) for NetSuite's REST web services.

Each access token is bought with a fresh JWT signed with the integration's private key (PS256
or ES256; NetSuite refuses RS256), whose header names the certificate id (``kid``). The token is
valid 60 minutes and has no refresh token: it is kept and replaced a few minutes before it ends,
one exchange at a time however many threads post at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import httpx
import jwt

from adapters.netsuite.settings import NetSuiteSettings
from connector.errors import CreditsyncError

ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SECONDS: Final = 300  # the JWT only has to live until the exchange
RENEW_BEFORE_SECONDS: Final = 300


class NetSuiteAuthFailed(CreditsyncError):
    """The token endpoint refused the client assertion: the M2M setup needs a look."""

    code = "netsuite_auth_failed"


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # on the clock the source was given


def client_assertion(settings: NetSuiteSettings, now: float) -> str:
    """The signed JWT the token endpoint exchanges for an access token."""
    issued = int(now)
    claims = {
        "iss": settings.client_id.get_secret_value(),
        "scope": settings.scope,
        "aud": settings.token_url,
        "iat": issued,
        "exp": issued + ASSERTION_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    try:
        return jwt.encode(
            claims,
            settings.private_key.get_secret_value(),
            algorithm=settings.algorithm,
            headers={"kid": settings.certificate_id, "typ": "JWT"},
        )
    except (ValueError, TypeError, jwt.PyJWTError) as exc:
        raise NetSuiteAuthFailed(
            f"the private key cannot sign {settings.algorithm}: {type(exc).__name__}; give the "
            "PEM key of the certificate uploaded to NetSuite (RSA for PS256, P-256 for ES256)"
        ) from None


class TokenSource:
    """The current access token, renewed before it ends."""

    def __init__(
        self,
        settings: NetSuiteSettings,
        http: httpx.Client,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._http = http
        self._clock = clock
        self._lock = threading.Lock()
        self._token: Token | None = None

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._token.expires_at - RENEW_BEFORE_SECONDS:
                self._token = self._exchange(now)
            return self._token.value

    def forget(self) -> None:
        """Drop the token (NetSuite said 401): the next request gets a new one."""
        with self._lock:
            self._token = None

    def _exchange(self, now: float) -> Token:
        response = self._http.post(
            self._settings.token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion(self._settings, now),
            },
        )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            reason = body.get("error_description") or body.get("error") or response.reason_phrase
            raise NetSuiteAuthFailed(
                f"NetSuite refused the client credentials (HTTP {response.status_code}: {reason}); "
                "check client_id, certificate_id and the certificate's mapping to a role in "
                "Setup > Integration > OAuth 2.0 Client Credentials (M2M) Setup (a sandbox "
                "refresh clears it)"
            )
        try:
            seconds = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            seconds = 3600.0  # NetSuite's documented lifetime
        return Token(body["access_token"], now + seconds)
