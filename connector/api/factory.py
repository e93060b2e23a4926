"""The app of the configured settings, built inside each worker process of ``serve --workers``.

uvicorn starts several workers by importing an app factory in each; every worker builds its own
runtime (engine, mappings, burn writer) from the same settings. PostgreSQL keeps them exact:
burns lock their accounts, runs and jobs hold leases, so any number of workers and hosts can
share one database. The scheduler starts in every worker unless ``CREDITSYNC_SERVE_SCHEDULER`` is
``0``; its leader lease lets only one of them run the jobs.
"""

from __future__ import annotations

import os
import sys

from fastapi import FastAPI

from connector.api.app import create_app
from connector.runtime import Runtime
from connector.scheduler import Scheduler
from connector.settings import get_settings

SCHEDULER_ENV = "CREDITSYNC_SERVE_SCHEDULER"

# Applying webhooks and running jobs happen in threads of the server's process; a shorter
# interpreter switch interval lets the event loop answer between their steps, not after them.
SWITCH_INTERVAL_SECONDS = 0.0005


def favour_the_event_loop() -> None:
    """Set the short switch interval every server process runs with."""
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)


def served_app() -> FastAPI:
    favour_the_event_loop()
    settings = get_settings()
    runtime = Runtime.from_settings(settings, migrate=False)
    run_jobs = os.environ.get(SCHEDULER_ENV, "1") != "0" and settings.schedule.enabled
    return create_app(runtime, scheduler=Scheduler(runtime) if run_jobs else None)
