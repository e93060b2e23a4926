"""Who you are before what you sent: the token is checked, and the body limited, before any read.

FastAPI reads and parses a route's body before it resolves the route's dependencies, so without
this gate ``{not json`` sent with no token answers 422 instead of 401, and a 300 MB body from
anyone is read into memory before the token is looked at. The gate runs before routing: under
``/v1`` it admits the token for the scope the matched route requires (the same ``Require``
dependency the route declares, so there is one list of scopes), then it refuses a body that
declares more than ``max_body_bytes`` at once (413), and stops one that streams past the limit
without a Content-Length as soon as it does. Webhooks and health routes carry no token; they
get the limit only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connector.api.auth import ADMITTED, Require, authenticate, authorize, credentials_from
from connector.api.errors import ApiError, error_response
from connector.settings import Scope as TokenScope

PROTECTED = "/v1"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit; FastAPI re-raises
    HTTP exceptions met while reading a body, so this reaches the error handlers as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body exceeds the limit of {limit} bytes")


def route_scope(route: BaseRoute) -> TokenScope | None:
    """The scope a route's ``Require`` dependency asks for, if it has one."""
    dependant = getattr(route, "dependant", None)
    for dependency in getattr(dependant, "dependencies", ()):
        if isinstance(dependency.call, Require):
            return dependency.call.scope
    return None


@dataclass(frozen=True)
class Guarded:
    """A route that needs a scope, reduced to what matching a request against it takes."""

    path: re.Pattern[str]
    methods: frozenset[str]
    scope: TokenScope


def guarded(routes: Sequence[BaseRoute]) -> list[Guarded]:
    return [
        Guarded(route.path_regex, frozenset(route.methods or ()), needed)
        for route in routes
        if isinstance(route, Route) and (needed := route_scope(route)) is not None
    ]


def _admit(scope: Scope, routes: Sequence[Guarded]) -> None:
    """Authenticate the token, and authorize it for the matched route's scope; the caller is
    left in the request scope for the route's own ``Require`` (one comparison per request)."""
    credentials = credentials_from(Headers(scope=scope).get("authorization"))
    caller = authenticate(scope["app"].state.tokens, credentials)
    for route in routes:
        if scope["method"] in route.methods and route.path.match(scope["path"]):
            authorize(caller, route.scope)
            break
    scope[ADMITTED] = caller


def _declared_length(scope: Scope, limit: int) -> None:
    declared = Headers(scope=scope).get("content-length")
    if declared is None:
        return
    if not declared.strip().isdigit():
        raise ApiError(400, "bad_request", "Content-Length is not a number")
    if int(declared) > limit:
        raise ApiError(
            413,
            "too_large",
            f"the body is {int(declared)} bytes; the limit is {limit}",
            fix="send a smaller body (setting max_body_bytes)",
        )


def _limited(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return limited


class RequestGate:
    """ASGI middleware: authenticate under /v1, then limit the body (see module docstring)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, routes: Sequence[BaseRoute]) -> None:
        """``routes``: the routes of the routers the app includes (as each router holds them,
        prefix included), matched here to find the scope a request needs."""
        self.app = app
        self.limit = max_body_bytes
        self.routes = guarded(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        try:
            if path == PROTECTED or path.startswith(PROTECTED + "/"):
                _admit(scope, self.routes)
            _declared_length(scope, self.limit)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)
            await response(scope, receive, send)
            return
        await self.app(scope, _limited(receive, self.limit), send)
