"""Settings from the environment (prefix CREDITSYNC_) and an optional TOML file.

Defaults run everything embedded: a SQLite file under .creditsync/ and the example mappings, so
that a fresh checkout works with no configuration and no credentials.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

EXAMPLE_MAPPINGS = Path(__file__).resolve().parent.parent / "mappings" / "examples"
DEFAULT_HOME = Path(".creditsync")


class Connection(BaseModel):
    """One link to a billing platform: which adapter, its credentials and its schedule."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(description="adapter name: stripe, files, ...")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="adapter settings (api_key, webhook_secrets, path...)"
    )
    sync_every_minutes: int = Field(default=15, ge=1)
    enabled: bool = True


Scope = Literal["burn", "read", "admin"]


class ApiToken(BaseModel):
    """A bearer token for the HTTP API and what it may do."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["read"]))
    name: str = ""


class Schedule(BaseModel):
    """Intervals of the scheduler's jobs (sync intervals are per connection)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    expire_every_minutes: int = Field(default=60, ge=1)
    recognize_every_minutes: int = Field(default=24 * 60, ge=1)
    post_every_minutes: int = Field(default=5, ge=1)
    reconcile_every_minutes: int = Field(default=24 * 60, ge=1)
    policy_every_minutes: int = Field(default=1, ge=1, description="refills, overage, alerts")
    jitter_seconds: int = Field(default=30, ge=0)
    lease_ttl_seconds: int = Field(
        default=60,
        ge=3,
        description="a sync run's or job's lease lapses this long after its last heartbeat "
        "(renewed every third of it); a crashed holder's work is taken over after this",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CREDITSYNC_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_HOME / 'creditsync.db'}",
        description="SQLAlchemy URL; postgresql://... selects PostgreSQL (psycopg 3)",
    )
    mapping_paths: list[Path] = Field(
        default_factory=lambda: [EXAMPLE_MAPPINGS],
        description="mapping TOML files or folders of them",
    )
    timezone: str = Field(default="UTC", description="accounting periods are in this timezone")
    output_dir: Path = Field(default=DEFAULT_HOME / "out", description="files sink, reports")
    connections: dict[str, Connection] = Field(
        default_factory=dict, description="billing platform connections by name"
    )
    api_tokens: list[ApiToken] = Field(default_factory=list)
    schedule: Schedule = Field(default_factory=Schedule)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    notify_url: str | None = Field(
        default=None, description="low-balance alerts are POSTed here as JSON; unset: logged"
    )
    journal_sinks: list[str] = Field(
        default_factory=lambda: ["files"], description="adapters whose JournalSink gets entries"
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as UTC") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("CREDITSYNC_CONFIG", "creditsync.toml")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


SECRET_WORDS = ("key", "secret", "password", "token")
MASK = "**********"


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data with every secret shown as '**********'.

    SecretStr fields mask themselves; adapter settings are free-form, so any text or number
    under a key naming a key, secret, password or token is masked too (a list of tokens keeps
    its names and scopes); a password inside the database URL is hidden.
    """

    def hide(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: hide(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [hide(v, key) for v in value]
        secret = any(word in key.lower() for word in SECRET_WORDS)
        return MASK if secret and value not in (None, "") else value

    dumped: dict[str, Any] = hide(settings.model_dump(mode="json"))
    dumped["database_url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    return dumped
