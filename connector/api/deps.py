"""What routes share: the runtime of the app they belong to."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from connector.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    """Async although it does no I/O: FastAPI runs plain functions in a worker thread, and a
    thread hop per request is measurable in the webhook acknowledgement time."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
