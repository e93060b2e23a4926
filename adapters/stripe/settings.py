"""The settings of a Stripe connection, validated once, with errors that say what to change.

A connection's settings arrive as a plain mapping (from TOML, the environment or the database);
every factory in this package goes through :func:`load_settings` so a typo in a key or a
publishable key pasted where a secret key belongs is refused before any request is made. Secrets
stay ``SecretStr`` so neither ``repr`` nor a log line ever shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from connector.platform.settings import (
    BackfillFrom,
    OneOrMany,
    load_adapter_settings,
    require_setting,
)

_FIXES: dict[str, str] = {
    "api_key": "use a secret key (sk_live_... / sk_test_...) or a restricted key (rk_...)",
    "webhook_secrets": "copy each endpoint's signing secret (whsec_...) from the Stripe dashboard",
    "backfill_from": "give an ISO date such as 2026-01-01",
    "overlap_seconds": "use a number of seconds between 0 and 86400 (default 300)",
    "refill_price": "give a Stripe price id such as price_1Q...",
    "meter_event_name": "give the event name of a Billing meter, e.g. ai_credits_overage",
    "webhook_tolerance_seconds": "use a number of seconds between 1 and 3600 (default 300)",
    "max_attempts": "use a number of attempts between 1 and 20 (default 6)",
    "price_lookup_keys": "use true or false",
}


class StripeSettings(BaseModel):
    """One Stripe account. Only the source needs ``backfill_from``; see :meth:`require`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr | None = None
    webhook_secrets: Annotated[tuple[SecretStr, ...], OneOrMany] = ()
    backfill_from: BackfillFrom | None = None
    overlap_seconds: int = Field(default=300, ge=0, le=86_400)
    refill_price: str | None = None
    meter_event_name: str | None = Field(default=None, min_length=1, max_length=100)
    price_lookup_keys: bool = Field(
        default=False,
        description="read each price's lookup_key (cached) so mappings may name prices by it",
    )
    webhook_tolerance_seconds: int = Field(default=300, ge=1, le=3_600)
    max_attempts: int = Field(default=6, ge=1, le=20)

    @field_validator("api_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("sk_", "rk_")):
            raise ValueError("is not a Stripe secret or restricted key")
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _signing_secrets(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for secret in value:
            if not secret.get_secret_value().startswith("whsec_"):
                raise ValueError("every webhook secret must start with whsec_")
        return value

    @field_validator("refill_price")
    @classmethod
    def _price_id(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("price_"):
            raise ValueError("is not a Stripe price id")
        return value

    def require(self, field: str, purpose: str) -> None:
        """Refuse a connection that lacks what ``purpose`` needs, naming the missing key."""
        require_setting(self, field, purpose, _FIXES)

    @property
    def secret_key(self) -> str:
        self.require("api_key", "calls to the Stripe API")
        assert self.api_key is not None
        return self.api_key.get_secret_value()


def load_settings(settings: Mapping[str, Any] | StripeSettings) -> StripeSettings:
    """Validate a connection's settings; every problem is reported, none of the values is."""
    return load_adapter_settings(StripeSettings, settings, _FIXES)
