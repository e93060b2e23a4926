"""Where settings come from, readable without pydantic: the config file, the default home, and
the database URL alone.

``connector.settings`` validates every setting with pydantic-settings, which takes longer to
import than a read-only command takes to run. ``balance`` needs the database URL and nothing
else, so it reads it here the way ``Settings`` does (the environment above the TOML file above
the default) and falls back to the full settings whenever this reading is not sure.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from connector.errors import InvalidInput

ENV_PREFIX = "CREDITSYNC_"
DEFAULT_HOME = Path(".creditsync")
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_HOME / 'creditsync.db'}"


class InvalidSetting(InvalidInput):
    """A setting (environment, creditsync.toml) has a value creditsync cannot run with."""

    code = "invalid_setting"


def config_file() -> str:
    """The TOML file settings are read from (below the environment): CREDITSYNC_CONFIG."""
    return os.environ.get(f"{ENV_PREFIX}CONFIG", "creditsync.toml")


def database_url() -> str | None:
    """The configured database URL; None when only the full settings can tell (an unreadable
    config file, a value that is not text), so that they report it."""
    wanted = f"{ENV_PREFIX}DATABASE_URL"
    for name, value in os.environ.items():
        if name.upper() == wanted:  # environment names match whatever their case, as in Settings
            return value
    try:
        with Path(config_file()).open("rb") as file:
            table = tomllib.load(file)
    except FileNotFoundError:
        return DEFAULT_DATABASE_URL
    except (OSError, tomllib.TOMLDecodeError):
        return None
    value = table.get("database_url", DEFAULT_DATABASE_URL)
    return value if isinstance(value, str) else None
