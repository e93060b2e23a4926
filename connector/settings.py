"""Settings from the environment (prefix CREDITSYNC_) and an optional TOML file.

Defaults run everything embedded: a SQLite file under .creditsync/ and the example mappings, so
that a fresh checkout works with no configuration and no credentials.
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from connector.config_file import DEFAULT_DATABASE_URL, config_file
from connector.config_file import DEFAULT_HOME as DEFAULT_HOME
from connector.config_file import InvalidSetting as InvalidSetting

# SQLAlchemy drivers creditsync runs on: SQLite (the standard library) and psycopg 3
SUPPORTED_DATABASES = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")
EXAMPLE_MAPPINGS = Path(__file__).resolve().parent.parent / "mappings" / "examples"


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

# An admin token changes rates, closes periods and reloads mappings: too short, it can be guessed.
ADMIN_TOKEN_MIN_LENGTH = 24


class ApiToken(BaseModel):
    """A bearer token for the HTTP API and what it may do."""

    model_config = ConfigDict(extra="forbid")

    token: SecretStr
    scopes: list[Scope] = Field(default_factory=lambda: list[Scope](["read"]))
    name: str = ""

    @model_validator(mode="after")
    def _admin_token_long_enough(self) -> ApiToken:
        length = len(self.token.get_secret_value())
        if "admin" in self.scopes and length < ADMIN_TOKEN_MIN_LENGTH:
            raise ValueError(
                f"an admin token needs at least {ADMIN_TOKEN_MIN_LENGTH} characters, "
                f"this one has {length}"
            )
        return self


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


class BurnWriter(BaseModel):
    """Group commit of concurrent API burns: one transaction for what arrives together."""

    model_config = ConfigDict(extra="forbid")

    max_batch: int = Field(default=128, ge=1, le=1000, description="burns per transaction")
    max_wait_ms: float = Field(
        default=2.0, ge=0, le=50, description="how long a batch waits for company"
    )
    writers: int = Field(default=1, ge=1, le=16, description="writer threads per process")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CREDITSYNC_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL; postgresql://... selects PostgreSQL (psycopg 3)",
    )
    mapping_paths: list[Path] = Field(
        default_factory=lambda: [EXAMPLE_MAPPINGS],
        description="mapping TOML files or folders of them",
    )
    timezone: str = Field(default="UTC", description="accounting periods are in this timezone")
    output_dir: Path = Field(
        default=DEFAULT_HOME / "out",
        description="files sink, reports; unset with a SQLite database: beside the database file",
    )
    connections: dict[str, Connection] = Field(
        default_factory=dict, description="billing platform connections by name"
    )
    api_tokens: list[ApiToken] = Field(default_factory=list)
    schedule: Schedule = Field(default_factory=Schedule)
    burn_writer: BurnWriter = Field(default_factory=BurnWriter)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    notify_url: str | None = Field(
        default=None, description="low-balance alerts are POSTed here as JSON; unset: logged"
    )
    notify_signing_secret: SecretStr | None = Field(
        default=None,
        description="alerts POSTed to notify_url carry a Creditsync-Signature header, an "
        "HMAC-SHA256 with this secret; unset: unsigned",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1, description="largest request body the API reads (413 above)"
    )
    journal_sinks: list[str] = Field(
        default_factory=lambda: ["files"], description="adapters whose JournalSink gets entries"
    )

    # -- clock --------------------------------------------------------------------------------
    burn_clock_skew_seconds: int = Field(
        default=300,
        ge=0,
        le=3600,
        description="how far ahead of this clock a burn's time may be (the sender's clock skew)",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        from sqlalchemy.engine import make_url  # here: reading settings needs no database
        from sqlalchemy.exc import ArgumentError

        try:
            driver = make_url(value).drivername
        except ArgumentError:
            raise ValueError("is not a database URL") from None
        if driver not in SUPPORTED_DATABASES:
            raise ValueError(f"{driver!r} is not a supported database")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as UTC") from None
        return value

    @model_validator(mode="after")
    def _outputs_beside_the_database(self) -> Settings:
        """Left unset, the output folder (the files journal, reports) goes with a SQLite database
        rather than with the working directory: a command run from another folder must read the
        journal it posted, never an empty one (reconcile would offer to post everything again)."""
        if "output_dir" in self.model_fields_set:
            return self
        from sqlalchemy.engine import make_url

        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self.output_dir = Path(url.database).parent / "out"
        return self

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
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))


# What to do about a setting that does not validate, by its top-level name.
SETTING_FIXES = {
    "database_url": "set CREDITSYNC_DATABASE_URL to sqlite:///path/to/file.db or postgresql://...",
    "mapping_paths": 'set CREDITSYNC_MAPPING_PATHS to a JSON list, e.g. ["mappings/examples"]',
    "timezone": "set CREDITSYNC_TIMEZONE to an IANA name, e.g. UTC or America/New_York",
    "api_tokens": 'set CREDITSYNC_API_TOKENS to JSON: [{"token": "...", "scopes": ["burn"]}]; '
    "make a token with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`",
    "connections": "see Configuration in README.md for the shape of a connection",
}
DEFAULT_FIX = "see `creditsync config show` and Configuration in README.md"


def _fix_for(where: str) -> str:
    return SETTING_FIXES.get(where.split(".")[0], DEFAULT_FIX)


def invalid_settings(exc: ValidationError) -> InvalidSetting:
    """One refusal for every problem pydantic found: the first in full, the others by name.

    Values are never shown (``include_input=False``): a setting may hold a secret, and a typo in
    a connection's key would otherwise echo every credential next to it."""
    problems = exc.errors(include_input=False, include_url=False)
    names = [".".join(str(part) for part in p["loc"]) or "settings" for p in problems]
    first = problems[0]["msg"].removeprefix("Value error, ")
    if len(names) > 1:
        first += f"; also wrong: {', '.join(names[1:])}"
    return InvalidSetting(names[0], first, _fix_for(names[0]))


def unparsable_setting(exc: Exception) -> InvalidSetting:
    """pydantic-settings could not decode a value (JSON of a list or table, typically); its
    message names the field, never the value."""
    found = re.search(r'field "([^"]+)"', str(exc))
    name = found.group(1) if found else "settings"
    return InvalidSetting(name, "is not valid JSON", _fix_for(name))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, or InvalidSetting naming the setting at fault and the fix."""
    try:
        return Settings()
    except ValidationError as exc:
        raise invalid_settings(exc) from None
    except SettingsError as exc:
        raise unparsable_setting(exc) from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidSetting(
            config_file(),
            f"is not valid TOML: {exc}",
            "fix the file, or point CREDITSYNC_CONFIG at another",
        ) from None


SECRET_WORDS = ("key", "secret", "password", "token", "auth")
# query parameters that carry credentials in URLs besides those (signed URLs, OAuth codes)
URL_SECRET_WORDS = (*SECRET_WORDS, "sig", "code", "session")
MASK = "**********"
URL_MASK = "***"


def _secret_name(name: str, words: tuple[str, ...] = SECRET_WORDS) -> bool:
    return any(word in name.lower() for word in words)


def mask_url(text: str) -> str:
    """``text`` with the credentials a URL may carry hidden: the password of ``user:password@``
    (a lone user part too, which is how tokens ride in URLs) and the value of every query
    parameter named like a credential (``?token=``, ``api_key=``, ``sig=``)."""
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc:
        return text
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user, has_password, _password = userinfo.partition(":")
        netloc = f"{user}:{URL_MASK}@{host}" if has_password else f"{URL_MASK}@{host}"
    query = urlencode(
        [
            (name, URL_MASK if _secret_name(name, URL_SECRET_WORDS) else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data with every secret shown as '**********'.

    SecretStr fields mask themselves; adapter settings are free-form, so any text or number
    under a key naming a key, secret, password or token is masked too (a list of tokens keeps
    its names and scopes); credentials inside any URL (the database, notify_url, a connection's
    base_url) are hidden by ``mask_url``.
    """

    def hide(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: hide(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [hide(v, key) for v in value]
        if _secret_name(key) and value not in (None, ""):
            return MASK
        return mask_url(value) if isinstance(value, str) and "://" in value else value

    dumped: dict[str, Any] = hide(settings.model_dump(mode="json"))
    return dumped
