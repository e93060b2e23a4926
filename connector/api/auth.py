"""Bearer tokens with scopes: ``burn`` may burn, ``read`` may read, ``admin`` may do everything.

A presented token is compared with every configured token in constant time (``hmac.compare_digest``
and no early exit), so the answer time says nothing about how close a guess was or which token
matched. With no token configured nothing is allowed: an unconfigured server is closed, not open.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from connector.api.errors import ApiError
from connector.settings import ApiToken, Scope

REALM = 'Bearer realm="creditsync"'

bearer = HTTPBearer(
    auto_error=False,
    description="A token from the api_tokens setting; its scopes (burn, read, admin) decide "
    "which routes it may call.",
)


@dataclass(frozen=True)
class Caller:
    name: str
    scopes: frozenset[str]

    def may(self, scope: Scope) -> bool:
        return scope in self.scopes or "admin" in self.scopes


class TokenTable:
    """The configured tokens, encoded once."""

    def __init__(self, tokens: Sequence[ApiToken]) -> None:
        self._entries = [
            (
                t.token.get_secret_value().encode(),
                Caller(t.name or f"token #{i + 1}", frozenset(t.scopes)),
            )
            for i, t in enumerate(tokens)
        ]

    def __len__(self) -> int:
        return len(self._entries)

    def match(self, presented: str) -> Caller | None:
        given = presented.encode()
        found: Caller | None = None
        for secret, caller in self._entries:  # all of them, whatever matched first
            if hmac.compare_digest(secret, given) and found is None:
                found = caller
        return found


def authenticate(table: TokenTable, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if not len(table):
        raise ApiError(
            401,
            "unauthorized",
            "no API tokens are configured on this server, so no request is allowed; "
            "add api_tokens to the settings (CREDITSYNC_API_TOKENS or creditsync.toml)",
            headers={"WWW-Authenticate": REALM},
        )
    if credentials is None or not credentials.credentials:
        raise ApiError(
            401,
            "unauthorized",
            "send a token in the Authorization header: 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": REALM},
        )
    caller = table.match(credentials.credentials)
    if caller is None:
        raise ApiError(
            401,
            "unauthorized",
            "the bearer token is not one this server knows",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    return caller


ADMITTED = "creditsync.caller"  # request scope key: the caller the request gate admitted


def authorize(caller: Caller, scope: Scope) -> Caller:
    """``caller`` if its token has ``scope`` (or admin); else 403."""
    if not caller.may(scope):
        raise ApiError(
            403,
            "forbidden",
            f"token {caller.name!r} has scopes {sorted(caller.scopes)}; "
            f"this route needs {scope!r} (or admin)",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'},
        )
    return caller


def credentials_from(authorization: str | None) -> HTTPAuthorizationCredentials | None:
    """What ``HTTPBearer`` makes of an Authorization header, for code that runs before it."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())


class Require:
    """A dependency admitting callers whose token has ``scope`` (or admin).

    The request gate (connector.api.gate) reads ``scope`` off each route's dependencies to
    check the token before the body is read; the check here is what hands the route its caller.
    """

    def __init__(self, scope: Scope) -> None:
        self.scope: Scope = scope

    async def __call__(  # async: a few comparisons need no worker thread
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        admitted = request.scope.get(ADMITTED)
        if isinstance(admitted, Caller):  # the gate compared the token already
            return authorize(admitted, self.scope)
        return authorize(authenticate(request.app.state.tokens, credentials), self.scope)


BurnCaller = Annotated[Caller, Depends(Require("burn"))]
ReadCaller = Annotated[Caller, Depends(Require("read"))]
AdminCaller = Annotated[Caller, Depends(Require("admin"))]
