"""The settings of a Zuora connection, validated once, with errors that say what to change.

Zuora has one REST host per region and environment (rest.na.zuora.com, rest.eu.zuora.com,
rest.apisandbox.zuora.com, ...), so ``base_url`` is required rather than guessed. Callout
notifications are authenticated the way the tenant configured its callout template: HTTP basic
(Zuora's non-preemptive flow) or an HMAC whose header, algorithm and signed fields the tenant
chooses. Secrets stay ``SecretStr`` so neither ``repr`` nor a log line shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connector.platform.settings import (
    BackfillFrom,
    OneOrMany,
    load_adapter_settings,
    require_setting,
)

_FIXES: dict[str, str] = {
    "base_url": "give the REST host of your tenant's region, e.g. https://rest.na.zuora.com",
    "client_id": "create an OAuth client in Zuora (Settings > Administration > Manage Users)",
    "client_secret": "copy the secret shown once when the OAuth client was created",
    "entity_ids": "give the Zuora entity id(s) to act in, as a list",
    "backfill_from": "give an ISO date such as 2026-01-01",
    "overlap_seconds": "use a number of seconds between 0 and 86400 (default 300)",
    "max_attempts": "use a number of attempts between 1 and 20 (default 6)",
    "callout_auth": 'use "basic" or "hmac", as configured on the callout template',
    "callout_credentials": 'list {user = "...", password = "..."} pairs of the callout template',
    "hmac_secrets": "copy the HMAC key(s) of the callout template",
    "hmac_header": "the header name the callout template puts the signature in",
    "hmac_algorithm": 'use "sha256", "sha512" or "sha1", as on the callout template',
    "hmac_signed_fields": 'list "body", "header:<Name>" or body field names, in template order',
    "usage_uom": "the unit of measure of the overage charge, e.g. credits",
    "journal_accounting_codes": "map creditsync GL codes to Zuora accounting code names",
    "journal_period_format": 'a strftime pattern naming periods as in Zuora, e.g. "%b %Y"',
}


class CalloutCredential(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str = Field(min_length=1)
    password: SecretStr


class ZuoraSettings(BaseModel):
    """One Zuora tenant (and entity). Each component checks what it needs with :meth:`require`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str
    client_id: str | None = Field(default=None, min_length=1)
    client_secret: SecretStr | None = None
    entity_ids: tuple[str, ...] = ()
    backfill_from: BackfillFrom | None = None
    overlap_seconds: int = Field(default=300, ge=0, le=86_400)
    max_attempts: int = Field(default=6, ge=1, le=20)
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    callout_auth: Literal["basic", "hmac"] = "basic"
    callout_credentials: tuple[CalloutCredential, ...] = ()
    callout_realm: str = Field(default="creditsync", min_length=1, pattern=r'^[^"\\]+$')
    hmac_secrets: Annotated[tuple[SecretStr, ...], OneOrMany] = ()
    hmac_header: str | None = Field(default=None, min_length=1)
    hmac_algorithm: Literal["sha256", "sha512", "sha1"] = "sha256"
    hmac_encoding: Literal["base64", "hex"] = "base64"
    hmac_signed_fields: tuple[str, ...] = ("body",)
    hmac_separator: str = ""
    usage_uom: str | None = Field(default=None, min_length=1)
    journal_accounting_codes: dict[str, str] = Field(
        default_factory=dict,
        description="creditsync GL code -> Zuora accounting code name, where the two differ",
    )
    journal_transaction_type: str | None = Field(default=None, min_length=1)
    journal_period_format: str = Field(
        default="%Y-%m", min_length=1, description="strftime of a period's first day: its name"
    )

    @field_validator("base_url")
    @classmethod
    def _https_host(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        local = parts.hostname in ("localhost", "127.0.0.1", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError("must be an https:// URL (http only for localhost)")
        if not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be a bare host URL such as https://rest.na.zuora.com")
        return value.strip().rstrip("/")

    @field_validator("hmac_signed_fields")
    @classmethod
    def _some_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not part for part in value):
            raise ValueError("needs at least one non-empty field")
        return value

    def require(self, field: str, purpose: str) -> None:
        """Refuse a connection that lacks what ``purpose`` needs, naming the missing key."""
        require_setting(self, field, purpose, _FIXES)

    def accounting_code(self, gl_code: str) -> str:
        return self.journal_accounting_codes.get(gl_code, gl_code)

    def gl_code(self, accounting_code_name: str) -> str:
        for gl_code, name in self.journal_accounting_codes.items():
            if name == accounting_code_name:
                return gl_code
        return accounting_code_name


def load_settings(settings: Mapping[str, Any] | ZuoraSettings) -> ZuoraSettings:
    """Validate a connection's settings; every problem is reported, none of the values is."""
    return load_adapter_settings(ZuoraSettings, settings, _FIXES)
