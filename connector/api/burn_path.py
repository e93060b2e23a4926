"""A single burn answered without FastAPI's per-request machinery; anything else goes on to the
route.

Every AI action of every customer posts one burn, so this is the request the server answers
most. For it FastAPI spends about 200 microseconds of CPU resolving the route's dependencies and
walking its routers: twice what the burn itself costs the server. This plain ASGI route sits
ahead of the FastAPI one and takes the requests whose meaning is certain: a JSON body that
validates as one burn, with at most one valid ``Idempotency-Key`` header, from a caller the
request gate (``connector.api.gate``) has admitted for the route's scope. It answers them with
the route's own function (``burn_one``), and its errors reach the app's exception handlers as the
route's do.

Everything else (a batch, a body or header that does not validate, another content type, a
request the gate did not see) is handed to the FastAPI route with its body replayed, so every
refusal a caller can get, and its exact wording, is still the route's; the route also remains
what OpenAPI documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Message, Receive, Scope, Send

from connector.api.auth import ADMITTED, Caller
from connector.api.burns import BurnIn, burn_one
from connector.api.types import Text

PATH = "/v1/burns"
_BURN = TypeAdapter(BurnIn)
_KEY = TypeAdapter(Text)


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key.lower() == name]


def _certain(scope: Scope, body: bytes) -> tuple[BurnIn, str | None] | None:
    """The burn and header key when the request is one the route would take as they stand;
    None whenever the route must decide (and word the refusal)."""
    if not isinstance(scope.get(ADMITTED), Caller):
        return None
    content_type = _header(scope, b"content-type")
    if len(content_type) != 1 or content_type[0].split(b";")[0].strip() != b"application/json":
        return None
    keys = _header(scope, b"idempotency-key")
    if len(keys) > 1 or not body.startswith(b"{"):
        return None
    try:
        burn = _BURN.validate_json(body)
        key = _KEY.validate_python(keys[0].decode("latin-1")) if keys else None
    except (ValidationError, ValueError):
        return None
    return burn, key


class SingleBurn:
    """The ASGI app of the fast route; ``route`` is the FastAPI route it stands in front of."""

    def __init__(self, route: APIRoute) -> None:
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read(receive)
        certain = _certain(scope, body)
        if certain is None:
            match, child = self.route.matches(scope)
            if match is Match.FULL:
                scope.update(child)
            await self.route.handle(scope, _replay(body, receive), send)
            return
        burn, key = certain
        answer = await burn_one(scope["app"].state.runtime, burn, key)
        response = Response(answer.model_dump_json(), media_type="application/json")
        await response(scope, receive, send)


async def _read(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` as if the body had not been read yet."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


def fast_route(routes: Sequence[BaseRoute]) -> Route:
    """The route to put ahead of the FastAPI route POST /v1/burns, found among ``routes``."""
    route = next(
        r
        for r in routes
        if isinstance(r, APIRoute) and r.path == PATH and "POST" in (r.methods or ())
    )
    app: Any = SingleBurn(route)
    return Route(PATH, app, methods=["POST"], include_in_schema=False)
