"""What every command shares: the console, the settings, the database and runtime they open,
and error reporting.

A command never prints a traceback for something an operator can fix. A mistake in what was
typed or configured (an option, a setting, a database that cannot be opened) is one line,
``error: <setting>: <problem> (<fix>)``, and exit status 2, as for any usage error; a refusal of
the request itself (an unknown account, a conflict) is one line and exit status 1.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from connector.errors import CreditsyncError, InvalidInput
from connector.horizon import not_after_now
from connector.timeutil import parse_instant

if TYPE_CHECKING:  # settings, database and ledger load when a command uses them, not for --help
    from sqlalchemy import Engine
    from sqlalchemy.exc import DBAPIError

    from connector.runtime import Runtime
    from connector.settings import Settings
    from mappings.holder import MappingStore

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line, for logs

P = ParamSpec("P")
R = TypeVar("R")

DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="print what would happen and write nothing")
]

USAGE_ERROR = 2  # what was typed or configured cannot work (click's status for usage errors)
REFUSED = 1  # the request was understood and refused


def get_settings() -> Settings:
    """``connector.settings.get_settings``, imported on first use: ``--help`` reads none."""
    from connector.settings import get_settings as cached_settings

    return cached_settings()


class InvalidOption(InvalidInput):
    """A command-line value creditsync cannot accept: a usage error (exit status 2)."""

    code = "invalid_option"


def fails_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a CreditsyncError into one line on stderr and an exit status instead of a
    traceback: 2 for a bad option or setting, 1 for a refused request."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CreditsyncError as exc:
            from connector.config_file import InvalidSetting

            err_console.print(f"[red]error:[/red] {escape(exc.message)}")
            usage = isinstance(exc, InvalidOption | InvalidSetting)
            raise typer.Exit(USAGE_ERROR if usage else REFUSED) from None

    return wrapper


def _require_sqlite_folder(url: str) -> None:
    """A SQLite file goes into a folder that exists: a typo in the path must not quietly start
    an empty database somewhere else. Only the default home, .creditsync/, is created."""
    from sqlalchemy.engine import make_url

    from connector.settings import DEFAULT_HOME, InvalidSetting

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    folder = Path(str(parsed.database)).parent
    if folder.is_dir() or folder.resolve() == DEFAULT_HOME.resolve():
        return
    raise InvalidSetting(
        "database_url",
        f"the folder {folder} of the SQLite database does not exist",
        "create it, or point CREDITSYNC_DATABASE_URL at a file in an existing folder",
    )


def _reason(exc: DBAPIError, url: str) -> str:
    """The driver's own words, on one line and without the password."""
    from sqlalchemy.engine import make_url

    lines = [line.strip() for line in str(exc.orig).splitlines() if line.strip()]
    reason = " ".join(lines) or type(exc.orig).__name__
    password = make_url(url).password
    return reason.replace(str(password), "***") if password else reason


def open_engine(migrate: bool = True, settings: Settings | None = None) -> Engine:
    """The configured database, migrated to the current schema on first use; InvalidSetting
    when it cannot be opened (no such folder, database or server; refused credentials)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from connector.settings import InvalidSetting, mask_url
    from connector.store.engine import make_engine
    from connector.store.migrate import is_current, upgrade

    url = (settings or get_settings()).database_url
    _require_sqlite_folder(url)
    engine = make_engine(url)
    try:
        if migrate and not is_current(engine):
            upgrade(engine)
        elif not migrate:
            with engine.connect() as conn:
                conn.execute(text("select 1"))
    except DBAPIError as exc:
        engine.dispose()
        raise InvalidSetting(
            "database_url",
            f"cannot open {mask_url(url)}: {_reason(exc, url)}",
            "check that the server runs and the database exists, and the URL's host, port, "
            "name and credentials",
        ) from None
    return engine


def load_mappings(settings: Settings) -> MappingStore:
    from connector.settings import InvalidSetting
    from mappings.holder import MappingStore
    from mappings.loader import MappingInvalid

    try:
        return MappingStore(settings.mapping_paths)
    except MappingInvalid as exc:
        more = f" (and {len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        raise InvalidSetting(
            "mapping_paths",
            f"{exc.errors[0]}{more}",
            "fix the files (`creditsync mappings check` lists every problem) or "
            "CREDITSYNC_MAPPING_PATHS",
        ) from None


def open_runtime(settings: Settings | None = None, migrate: bool = True) -> Runtime:
    """Settings, database (migrated), mappings and the ledger with the plans' policies."""
    from connector.runtime import Runtime

    settings = settings or get_settings()
    engine = open_engine(migrate, settings)
    return Runtime(settings=settings, engine=engine, mappings=load_mappings(settings))


def instant_option(text: str | None, field: str) -> datetime | None:
    return None if text is None else parse_instant(text, field)


def past_option(text: str | None, field: str, skew: timedelta = timedelta(0)) -> datetime | None:
    """An ISO instant from the command line that is not after now (plus ``skew``)."""
    moment = instant_option(text, field)
    if moment is None:
        return None
    return not_after_now(moment, field, f"give {field} a moment up to now", skew=skew)


def positive(value: int, field: str) -> int:
    """``value`` when above zero; a negative number says so instead of looking like an option."""
    if value <= 0:
        raise InvalidOption(field, f"{value} is not a positive number", "give 1 or more")
    return value
