"""``creditsync serve``, ``creditsync scheduler`` and ``creditsync config show``."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Sequence
from socket import socket
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from connector.cli.common import (
    InvalidOption,
    console,
    err_console,
    fails_cleanly,
    get_settings,
    open_runtime,
)

if TYPE_CHECKING:  # the server's libraries load when a server starts, not for every command
    import uvicorn

    from connector.scheduler import Scheduler
    from connector.settings import Settings

config_app = typer.Typer(help="The effective settings.", no_args_is_help=True)

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's


def build_server(
    settings: Settings,
    host: str,
    port: int,
    *,
    scheduler: bool = True,
    log_level: str = "info",
    access_log: bool = True,
) -> uvicorn.Server:
    """A uvicorn server for the app of ``settings`` (with its scheduler unless told not to)."""
    import uvicorn

    from connector.api import create_app
    from connector.scheduler import Scheduler

    runtime = open_runtime(settings)
    jobs = Scheduler(runtime) if scheduler and settings.schedule.enabled else None
    app = create_app(runtime, scheduler=jobs)
    from connector.api.nodelay import NoDelayHttpProtocol

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=access_log,
        server_header=False,
        http=NoDelayHttpProtocol,
    )
    return uvicorn.Server(config)


def run_server(server: uvicorn.Server, sockets: Sequence[socket] | None = None) -> None:
    from connector.api.factory import favour_the_event_loop

    favour_the_event_loop()
    server.run(sockets=list(sockets) if sockets else None)


@fails_cleanly
def serve_command(
    host: Annotated[
        str | None, typer.Option(help="address to listen on; default from settings")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="port; default from settings")
    ] = None,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="serve only; another process schedules jobs")
    ] = False,
    log_level: Annotated[str, typer.Option(help=f"one of {', '.join(LOG_LEVELS)}")] = "info",
    workers: Annotated[
        int,
        typer.Option(min=1, max=64, help="processes serving the port (PostgreSQL for more than 1)"),
    ] = 1,
) -> None:
    """Serve webhooks, the burn and balance API, the admin API, /healthz, /readyz, /metrics."""
    if log_level.lower() not in LOG_LEVELS:
        raise InvalidOption(
            "--log-level",
            f"{log_level!r} is not a log level",
            f"use one of {', '.join(LOG_LEVELS)}",
        )
    settings = get_settings()
    if not settings.api_tokens:
        err_console.print(
            "[yellow]warning:[/yellow] no api_tokens configured: every /v1 call will be refused"
        )
    if workers > 1:
        jobs = not no_scheduler
        serve_workers(settings, host, port, workers, scheduler=jobs, log_level=log_level.lower())
        return
    server = build_server(
        settings,
        host or settings.host,
        port or settings.port,
        scheduler=not no_scheduler,
        log_level=log_level.lower(),
    )
    run_server(server)


def serve_workers(
    settings: Settings,
    host: str | None,
    port: int | None,
    workers: int,
    *,
    scheduler: bool,
    log_level: str,
) -> None:
    """``workers`` processes on one port, each building its app from the same settings."""
    import uvicorn

    from connector.api.factory import SCHEDULER_ENV

    if not settings.database_url.startswith("postgresql"):
        raise InvalidOption(
            "--workers",
            "several workers need PostgreSQL (SQLite has one writer per file)",
            "set database_url to a PostgreSQL URL, or serve with one worker",
        )
    open_runtime(settings).engine.dispose()  # migrate once, before the workers start
    os.environ[SCHEDULER_ENV] = "1" if scheduler else "0"
    from connector.api.nodelay import NoDelayHttpProtocol

    uvicorn.run(
        "connector.api.factory:served_app",
        factory=True,
        http=NoDelayHttpProtocol,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=log_level,
        server_header=False,
        # a worker answers the supervisor's pings once its app is built: give a loaded host time
        timeout_worker_healthcheck=60,
    )


def _jobs_table(scheduler: Scheduler) -> Table:
    table = Table(title=f"scheduled jobs ({'leader' if scheduler.is_leader else 'follower'})")
    for column in ("job", "every", "next run (UTC)"):
        table.add_column(column)
    for job in scheduler.status().jobs:
        when = f"{job.next_run_at:%Y-%m-%d %H:%M:%S}" if job.next_run_at else "-"
        table.add_row(job.id, f"{job.every_seconds // 60} min", when)
    return table


def stop_event() -> threading.Event:
    """What ``creditsync scheduler`` waits on; set by SIGINT or SIGTERM."""
    return threading.Event()


@fails_cleanly
def scheduler_command() -> None:
    """Run the scheduled jobs without the HTTP server, until interrupted (Ctrl-C, SIGTERM)."""
    from connector.scheduler import Scheduler

    settings = get_settings()
    if not settings.schedule.enabled:
        err_console.print("the scheduler is disabled (schedule.enabled = false); nothing to run")
        raise typer.Exit(1)
    scheduler = Scheduler(open_runtime(settings))
    stop = stop_event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler.start()
    try:
        console.print(_jobs_table(scheduler))
        stop.wait()
    finally:
        scheduler.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("scheduler stopped")


@config_app.command("show")
@fails_cleanly
def config_show() -> None:
    """The effective settings (environment, creditsync.toml, defaults), secrets masked."""
    from connector.settings import masked

    console.print_json(json.dumps(masked(get_settings())))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("serve")(serve_command)
    app.command("scheduler")(scheduler_command)
    app.add_typer(config_app, name="config")


__all__ = ["build_server", "register", "run_server"]
