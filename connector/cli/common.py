"""What every command shares: the console, the engine from settings, and error reporting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from connector.errors import CreditsyncError
from connector.runtime import Runtime
from connector.settings import get_settings
from connector.store.engine import make_engine
from connector.store.migrate import is_current, upgrade
from connector.timeutil import parse_instant

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line, for logs

P = ParamSpec("P")
R = TypeVar("R")


def open_engine(migrate: bool = True) -> Engine:
    """The configured database, migrated to the current schema on first use."""
    engine = make_engine(get_settings().database_url)
    if migrate and not is_current(engine):
        upgrade(engine)
    return engine


def open_runtime() -> Runtime:
    """Settings, database (migrated), mappings and the ledger with the plans' policies."""
    return Runtime.from_settings()


def fails_cleanly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a CreditsyncError into a one-line message and exit status 1 instead of a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CreditsyncError as exc:
            err_console.print(f"[red]error:[/red] {escape(exc.message)}")
            raise typer.Exit(1) from None

    return wrapper


def instant_option(text: str | None, field: str) -> datetime | None:
    return None if text is None else parse_instant(text, field)
