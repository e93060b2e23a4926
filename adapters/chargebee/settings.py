"""The settings of a Chargebee connection, validated once, with errors that say what to change.

Every factory in this package goes through :func:`load_settings`, so a typo in a key, a site
name pasted as a URL or a webhook credential without a password is refused before any request
is made. Secrets stay ``SecretStr``: neither ``repr`` nor a log line ever shows them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connector.money import exponent, normalize_currency
from connector.platform.settings import (
    BackfillFrom,
    OneOrMany,
    load_adapter_settings,
    require_setting,
)

_FIXES: dict[str, str] = {
    "api_key": "use an API key from Settings > Configure Chargebee > API keys",
    "site": "give the site name only: 'acme' for https://acme.chargebee.com",
    "base_url": "give scheme, host and optional port, e.g. http://127.0.0.1:8766",
    "webhook_credentials": "give a list of {user, password} tables, the one set on the webhook",
    "backfill_from": "give an ISO date such as 2026-01-01",
    "overlap_seconds": "use a number of seconds between 0 and 86400 (default 300)",
    "currencies": "list ISO 4217 codes with 0 or 2 decimals that the site bills in, e.g. ['USD']",
    "refill_item_price": "give the id of a charge item price, e.g. credits-refill-10k-USD",
    "refill_lookback_days": "use a number of days between 1 and 90 (default 7)",
    "usage_item_price": "give the id of the metered item price that bills overage",
    "usage_subscriptions": "map Chargebee customer ids to subscription ids: {cust = 'sub'}",
    "dispute_lookback_days": "use a number of days between 1 and 730 (default 180)",
    "max_attempts": "use a number of attempts between 1 and 20 (default 6)",
}

_SITE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class WebhookCredential(BaseModel):
    """One user/password pair a Chargebee webhook endpoint may send (basic auth)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user: str = Field(min_length=1)
    password: SecretStr

    @field_validator("password")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 8:
            raise ValueError("a webhook password needs at least 8 characters")
        return value


class ChargebeeSettings(BaseModel):
    """One Chargebee site. Each component checks what it needs with :meth:`require`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = None
    site: str | None = None
    base_url: str | None = Field(
        default=None, description="scheme://host[:port] instead of https://{site}.chargebee.com"
    )
    webhook_credentials: tuple[WebhookCredential, ...] = ()
    backfill_from: BackfillFrom | None = None
    overlap_seconds: int = Field(default=300, ge=0, le=86_400)
    currencies: Annotated[tuple[str, ...], OneOrMany] = ()
    refill_item_price: str | None = Field(default=None, min_length=1, max_length=100)
    refill_lookback_days: int = Field(default=7, ge=1, le=90)
    usage_item_price: str | None = Field(default=None, min_length=1, max_length=100)
    usage_subscriptions: dict[str, str] = Field(default_factory=dict)
    dispute_lookback_days: int = Field(default=180, ge=1, le=730)
    max_attempts: int = Field(default=6, ge=1, le=20)

    @field_validator("site")
    @classmethod
    def _site_name(cls, value: str | None) -> str | None:
        if value is not None and not _SITE.match(value):
            raise ValueError("is not a Chargebee site name")
        return value

    @field_validator("base_url")
    @classmethod
    def _origin(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("needs http:// or https:// and a host")
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
            raise ValueError("takes scheme, host and port only (no path, query or user)")
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("currencies")
    @classmethod
    def _billable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(normalize_currency(code, "currencies") for code in value)
        odd = [code for code in codes if exponent(code) > 2]
        if odd:
            raise ValueError(
                f"{', '.join(odd)} has more than two decimals; Chargebee amounts are in cents"
            )
        return codes

    def require(self, field: str, purpose: str) -> None:
        """Refuse a connection that lacks what ``purpose`` needs, naming the missing key."""
        require_setting(self, field, purpose, _FIXES)

    @property
    def credentials(self) -> list[tuple[str, SecretStr]]:
        return [(c.user, c.password) for c in self.webhook_credentials]


def load_settings(settings: Mapping[str, Any] | ChargebeeSettings) -> ChargebeeSettings:
    """Validate a connection's settings; every problem is reported, none of the values is."""
    return load_adapter_settings(ChargebeeSettings, settings, _FIXES)
