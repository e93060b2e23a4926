"""One error body for every refusal, so a client needs one parser for all of them.

Every error answer is ``{"error": {"code", "message", ...}}``: ``code`` is stable and
machine-readable, ``message`` is for people, and the optional fields say which input is at fault
and how to fix it (``field``, ``fix``) or how far a burn fell short (``requested``,
``available``). Routes declare the statuses they can answer with ``responses=errors(...)`` so the
OpenAPI document lists each of them with this model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from connector.errors import (
    Conflict,
    CreditsyncError,
    InsufficientCredits,
    InvalidInput,
    NotFound,
    PeriodClosed,
)
from connector.sync.lease import LeaseHeld
from connector.text import storable
from mappings.loader import MappingInvalid

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable reason, e.g. insufficient_credits")
    message: str = Field(description="what went wrong, for people")
    field: str | None = Field(default=None, description="the input at fault (dotted path)")
    fix: str | None = Field(default=None, description="what to change so the request succeeds")
    requested: int | None = Field(default=None, description="credits the burn needed")
    available: int | None = Field(default=None, description="credits the account had")
    errors: list[str] | None = Field(default=None, description="every problem, when several")


class ErrorBody(BaseModel):
    error: ErrorDetail


DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be acted on (for webhooks: signature or authentication failed, "
    "or an authentic delivery is not a valid event)",
    401: "No bearer token, or not a configured one",
    402: "Not enough credits; nothing was burned (code insufficient_credits)",
    403: "The token lacks the scope this route needs",
    404: "The account, connection or object does not exist",
    409: "Idempotency key reused for a different request, or the work is already running",
    413: "The request body is larger than allowed",
    422: "A field is invalid; `field` names it and `fix` says what to send",
    500: "Unexpected server error; nothing was changed by the failed step",
    503: "Not ready: database unreachable, migrations pending, or a connection misconfigured",
}


HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each status with the error model and its meaning."""
    return {
        status: {"model": ErrorBody, "description": DESCRIPTIONS[status]}
        for status in (*statuses, 500)
    }


class ApiError(Exception):
    """An answer other than success, raised anywhere below a route."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.extra = extra


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    detail = ErrorDetail(code=code, message=storable(message), **extra)
    body = {"error": detail.model_dump(exclude_none=True)}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def from_domain(exc: CreditsyncError) -> ApiError:
    """The HTTP status and body of a domain error (the ledger and sync raise these)."""
    if isinstance(exc, InsufficientCredits):
        return ApiError(
            402, exc.code, exc.message, requested=exc.requested, available=exc.available
        )
    if isinstance(exc, InvalidInput):
        return ApiError(422, exc.code, exc.message, field=exc.field, fix=exc.fix or None)
    if isinstance(exc, MappingInvalid):
        return ApiError(422, exc.code, exc.message, errors=[str(e) for e in exc.errors])
    if isinstance(exc, NotFound):
        return ApiError(404, exc.code, exc.message)
    if isinstance(exc, Conflict | LeaseHeld | PeriodClosed):
        return ApiError(409, exc.code, exc.message)
    return ApiError(400, exc.code, exc.message)


def _field(loc: Sequence[int | str]) -> str:
    """``("body", "burns", 2, "units")`` -> ``burns.2.units``; query/path prefixes dropped too."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    parts = [p for p in parts if not p.startswith("<")]  # tags of tagged unions: <one>, <batch>
    return ".".join(parts) or "body"


def _fix(error: Mapping[str, Any]) -> str | None:
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if "fix" in context:  # the input types of connector.api.types say it themselves
        return str(context["fix"])
    if kind == "missing":
        return "send this field"
    if kind == "extra_forbidden":
        return "remove this field"
    if kind.startswith("int"):
        return "send a whole number"
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return "send an ISO 8601 timestamp with an offset, e.g. 2026-01-15T10:00:00Z"
    if kind == "json_invalid":
        return "send a valid JSON body"
    return None


def validation_error(exc: RequestValidationError) -> ApiError:
    found = list(exc.errors())
    first = found[0] if found else {"loc": ("body",), "msg": "invalid request"}
    field = _field(first.get("loc", ()))
    message = f"{field}: {first.get('msg', 'invalid')}"
    every = [f"{_field(e.get('loc', ()))}: {e.get('msg', '')}" for e in found]
    return ApiError(
        422,
        InvalidInput.code,
        message,
        field=field,
        fix=_fix(first),
        errors=every if len(every) > 1 else None,
    )


def install(app: FastAPI) -> None:
    """Route every failure through the one error body."""

    @app.exception_handler(ApiError)
    async def _api(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers, **exc.extra)

    @app.exception_handler(CreditsyncError)
    async def _domain(_request: Request, exc: CreditsyncError) -> JSONResponse:
        mapped = from_domain(exc)
        return error_response(mapped.status, mapped.code, mapped.message, **mapped.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        mapped = validation_error(exc)
        return error_response(mapped.status, mapped.code, mapped.message, **mapped.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            500, "internal_error", f"unexpected {type(exc).__name__}; see the server log"
        )
