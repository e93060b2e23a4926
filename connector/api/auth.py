"""Bearer tokens with scopes: ``burn`` may burn, ``read`` may read, ``admin`` may do everything.

A presented token is compared with every configured token in constant time (``hmac.compare_digest``
and no early exit), so the answer time says nothing about how close a guess was or which token
matched. With no token configured nothing is allowed: an unconfigured server is closed, not open.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
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


def require(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting callers whose token has ``scope`` (or admin)."""

    async def dependency(  # async: a few comparisons need no worker thread
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        caller = authenticate(request.app.state.tokens, credentials)
        if not caller.may(scope):
            raise ApiError(
                403,
                "forbidden",
                f"token {caller.name!r} has scopes {sorted(caller.scopes)}; "
                f"this route needs {scope!r} (or admin)",
                headers={
                    "WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope}"'
                },
            )
        return caller

    dependency.__name__ = f"require_{scope}"
    return dependency


BurnCaller = Annotated[Caller, Depends(require("burn"))]
ReadCaller = Annotated[Caller, Depends(require("read"))]
AdminCaller = Annotated[Caller, Depends(require("admin"))]
