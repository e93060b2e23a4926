"""Settings from the environment (prefix CREDITSYNC_) and an optional TOML file.

Defaults run everything embedded: a SQLite file under .creditsync/ and the example mappings, so
that a fresh checkout works with no configuration and no credentials.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

EXAMPLE_MAPPINGS = Path(__file__).resolve().parent.parent / "mappings" / "examples"
DEFAULT_HOME = Path(".creditsync")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CREDITSYNC_",
        env_nested_delimiter="__",
        toml_file=os.environ.get("CREDITSYNC_CONFIG", "creditsync.toml"),
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
    admin_tokens: list[SecretStr] = Field(default_factory=list)

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
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets shown as '**********'."""
    return settings.model_dump(mode="json")
