"""The FastAPI application: built from a Runtime, so tests and the server build it the same way."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from connector.api import (
    accounts,
    admin,
    burn_path,
    burns,
    errors,
    health,
    manual,
    rejected,
    webhooks,
)
from connector.api.auth import TokenTable
from connector.api.gate import RequestGate
from connector.runtime import Runtime
from connector.scheduler import Scheduler
from connector.store.migrate import head_revision
from connector.sync.inbox_writer import InboxWriter

DESCRIPTION = """\
Prepaid AI credits: webhooks from billing platforms in, burns from the AI product, balances out.

* `POST /webhooks/{connection}`: signed by the platform, no bearer token.
* `/v1/burns`, `/v1/accounts/...`: bearer token with the `burn` or `read` scope.
* `/v1/admin/...`: bearer token with the `admin` scope (admin may also burn and read).

Every error answers `{"error": {"code", "message", ...}}`; `code` is stable.
"""


def _version() -> str:
    try:
        return version("creditsync")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0.0.0"


def create_app(runtime: Runtime, *, scheduler: Scheduler | None = None) -> FastAPI:
    """The app serving ``runtime``; ``scheduler`` (if any) starts and stops with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(webhooks.warm_receivers, runtime, app.state.receivers)
        if scheduler is not None:
            await run_in_threadpool(scheduler.start)
        # Everything built so far lives as long as the process: out of the collector's sight, a
        # full collection no longer walks it, and its pauses stop showing in the answers' tail.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()  # an app built and stopped again (tests) leaves nothing frozen
            if scheduler is not None:
                await run_in_threadpool(scheduler.shutdown)
            await run_in_threadpool(runtime.close_burn_writer)
            await run_in_threadpool(app.state.inbox_writer.close)
            app.state.sync_pool.shutdown(wait=False)

    app = FastAPI(
        title="creditsync",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.tokens = TokenTable(runtime.settings.api_tokens)
    app.state.receivers = {}
    app.state.drainer = webhooks.make_drainer(runtime)
    app.state.inbox_writer = InboxWriter(runtime.engine)
    app.state.head_revision = head_revision()
    app.state.sync_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="api-sync")
    app.state.scheduler = scheduler
    errors.install(app)
    routers = [m.router for m in (health, webhooks, burns, accounts, admin, manual, rejected)]
    for router in routers:
        app.include_router(router)
    # single burns, the requests answered most, skip FastAPI's per-request machinery
    app.router.routes.insert(0, burn_path.fast_route(burns.router.routes))
    app.add_middleware(
        RequestGate,
        max_body_bytes=runtime.settings.max_body_bytes,
        routes=[route for router in routers for route in router.routes],
    )
    return app
