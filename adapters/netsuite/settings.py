"""The settings of a NetSuite connection, validated once, with errors that say what to change.

Authentication is OAuth 2.0 client credentials (machine to machine) only: token-based
authentication (OAuth 1.0a) cannot be set up for new integrations from NetSuite 2027.1, so
creditsync does not offer it. The private key stays a ``SecretStr`` (PEM text, or the path of a
PEM file) so neither ``repr`` nor a log line shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connector.errors import InvalidInput
from connector.platform.settings import load_adapter_settings
from mappings.gl import SinkBook

_FIXES: dict[str, str] = {
    "account_id": "give the account id from Setup > Company > Company Information, e.g. 1234567"
    " or 1234567_SB1",
    "client_id": "copy the client id of the integration record (Setup > Integration > Manage"
    " Integrations)",
    "certificate_id": "copy the certificate id from Setup > Integration > OAuth 2.0 Client"
    " Credentials (M2M) Setup",
    "private_key": "give the PEM private key of that certificate, or the path of its file",
    "algorithm": "use PS256 (an RSA key) or ES256 (an EC P-256 key)",
    "concurrency": "use a number of requests at once between 1 and 50 (default 4)",
    "base_url": "give the REST host, e.g. https://1234567.suitetalk.api.netsuite.com",
}


class NetSuiteSettings(BaseModel):
    """One NetSuite account, reached as one integration with one M2M certificate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    client_id: SecretStr
    certificate_id: str = Field(min_length=1)
    private_key: SecretStr
    algorithm: Literal["PS256", "ES256"] = "PS256"
    scope: str = Field(default="rest_webservices", min_length=1)
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    concurrency: int = Field(default=4, ge=1, le=50)
    max_attempts: int = Field(default=6, ge=1, le=20)
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    posting_period: bool = Field(
        default=True, description="set postingPeriod from the entry's period (else tranDate)"
    )
    name: str = Field(default="netsuite", min_length=1, description="the sink's name")
    gl_books: tuple[SinkBook, ...] = Field(
        default=(), description="filled from the mappings' GL tables, not by hand"
    )

    @field_validator("private_key")
    @classmethod
    def _pem(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if "-----BEGIN" not in text:
            path = Path(text).expanduser()
            try:
                text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError):
                raise ValueError("is neither PEM text nor a readable PEM file") from None
            if "-----BEGIN" not in text:
                raise ValueError("the file named is not a PEM file")
        return SecretStr(text)

    @property
    def host(self) -> str:
        """``https://<account>.suitetalk.api.netsuite.com``: lower case, ``_`` as ``-``."""
        if self.base_url:
            return self.base_url.rstrip("/")
        slug = self.account_id.lower().replace("_", "-")
        return f"https://{slug}.suitetalk.api.netsuite.com"

    @property
    def token_url(self) -> str:
        return f"{self.host}/services/rest/auth/oauth2/v1/token"


def load_settings(raw: Mapping[str, Any] | NetSuiteSettings) -> NetSuiteSettings:
    settings = load_adapter_settings(NetSuiteSettings, raw, _FIXES)
    if not settings.gl_books:
        raise InvalidInput(
            "gl",
            f"the mappings give no {settings.name} account ids",
            f"add a [gl.sinks.{settings.name}] table (or [gl.sinks.netsuite]) with the five "
            "account ids to every [[gl]] table; `creditsync mappings check` shows what is missing",
        )
    return settings
