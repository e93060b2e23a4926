"""A thin httpx client for Zuora's REST API: OAuth, retries, and Zuora's "200 but failed".

Not the official SDK: it starts a background token thread, prints instead of raising when the
token cannot be had, and pins an old urllib3. This client asks for an OAuth token with the client
credentials grant (the token endpoint is rate limited per IP, so the token is kept until shortly
before it expires), renews it once when Zuora answers 401, sends ``Zuora-Entity-Ids`` when the
connection acts in named entities, and puts an ``Idempotency-Key`` on every POST.

Every request runs under the core retry loop: no answer, 409 (a request with the same key still
in flight), 429 and 5xx are retried with bounded backoff, waiting what ``RateLimit-Reset`` or
``Retry-After`` says when Zuora says it. A 200 whose body says ``success: false`` (or the
PascalCase ``Success: false`` of the older object endpoints) is a failure carrying Zuora's own
reasons, and is not retried. Amounts in answers are parsed as Decimal, never float.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from adapters.zuora.settings import ZuoraSettings
from connector.errors import InvalidInput
from connector.platform.retry import (
    Failure,
    PlatformRequestFailed,
    RetryPolicy,
    call_with_retry,
    header,
    retryable_status,
    seconds_to_wait,
)

Json = dict[str, Any]
PAGE_SIZE = 50  # Object Query's maximum; more is a 400
TOKEN_MARGIN_SECONDS = 60.0  # renew this long before Zuora says the token expires


class ZuoraRequestFailed(PlatformRequestFailed):
    """Zuora refused a request, or kept failing it until the attempts ran out."""

    code = "zuora_error"


class ZuoraAnswer(Exception):
    """One answer that is not a success, as the classifier reads it."""

    def __init__(
        self, status: int, headers: Mapping[str, str], code: str | None, message: str
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = dict(headers)
        self.code = code
        self.message = message


def reasons_of(body: Any) -> tuple[str | None, str]:
    """(first code, every message) of a Zuora error body, in either of its two spellings."""
    if not isinstance(body, Mapping):
        return None, ""
    found = body.get("reasons") or body.get("Errors") or []
    codes: list[str] = []
    messages: list[str] = []
    for reason in found if isinstance(found, list) else []:
        if isinstance(reason, Mapping):
            code = reason.get("code") or reason.get("Code")
            message = reason.get("message") or reason.get("Message")
            if code is not None:
                codes.append(str(code))
            if message:
                messages.append(str(message))
    if not messages and isinstance(body.get("message"), str):
        messages.append(body["message"])
    return (codes[0] if codes else None), "; ".join(messages)


def classify(exc: BaseException) -> Failure | None:
    """Read a failed Zuora call; None for anything that is not one (a bug: re-raised)."""
    if isinstance(exc, httpx.TransportError):
        return Failure(retryable=True, message=type(exc).__name__)
    if not isinstance(exc, ZuoraAnswer):
        return None
    wait = seconds_to_wait(header(exc.headers, "Retry-After"))
    if wait is None:
        wait = seconds_to_wait(header(exc.headers, "RateLimit-Reset"))
    retryable = exc.status != 200 and retryable_status(exc.status)
    return Failure(
        retryable=retryable,
        status=exc.status,
        code=exc.code,
        message=exc.message,
        wait=wait if retryable else None,
    )


def _number(value: Any) -> Any:
    """Decimals go out as JSON numbers, refused if a float could not carry them exactly."""
    if isinstance(value, Decimal):
        as_float = float(value)
        if Decimal(repr(as_float)) != value:
            raise InvalidInput("amount", f"{value} cannot be sent to Zuora exactly")
        return as_float
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return {}
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return {"message": response.text[:200]}


def _failed(body: Any) -> bool:
    if not isinstance(body, Mapping):
        return False
    flag = body.get("success", body.get("Success"))
    return flag is False


class ZuoraApi:
    """GET and POST against one Zuora tenant, each under the retry policy."""

    def __init__(
        self,
        settings: ZuoraSettings,
        *,
        retry: RetryPolicy | None = None,
        http: httpx.Client | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        settings.require("client_id", "calls to the Zuora API")
        settings.require("client_secret", "calls to the Zuora API")
        self._settings = settings
        self._retry = retry or RetryPolicy(max_attempts=settings.max_attempts)
        self._http = http or httpx.Client(timeout=settings.timeout_seconds)
        self._monotonic = monotonic
        self._token: str | None = None
        self._token_expires = 0.0

    # -- requests ---------------------------------------------------------------------------

    def get(self, path: str, params: Sequence[tuple[str, str]] | Mapping[str, str] = ()) -> Json:
        return self._call("GET", path, params=list(_pairs(params)))

    def post(self, path: str, body: Mapping[str, Any], *, idempotency_key: str) -> Json:
        """A write; the key makes a repeated attempt within Zuora's 24 h window a replay."""
        if not idempotency_key:
            raise ValueError("every POST to Zuora needs an idempotency key")
        if len(idempotency_key) >= 255:
            raise InvalidInput("idempotency_key", "is longer than Zuora's 254 characters")
        return self._call("POST", path, body=body, idempotency_key=idempotency_key)

    def get_url(self, url: str) -> bytes:
        """An absolute URL Zuora handed out (a Data Query result file): no auth, retried."""

        def request() -> bytes:
            response = self._http.get(url)
            if response.status_code != 200:
                raise ZuoraAnswer(response.status_code, response.headers, None, response.text[:200])
            return response.content

        return call_with_retry(
            self._retry,
            classify,
            platform="Zuora",
            method="GET",
            path=url.split("?", 1)[0],
            request=request,
            failed=ZuoraRequestFailed,
        )

    def query(
        self,
        object_name: str,
        *,
        filters: Sequence[str] = (),
        expand: Sequence[str] = (),
        cursor: str | None = None,
    ) -> tuple[list[Json], str | None]:
        """One Object Query page: its records and the ``nextPage`` cursor (None at the end)."""
        params: list[tuple[str, str]] = [("pageSize", str(PAGE_SIZE))]
        params += [("filter[]", f) for f in filters]
        params += [("expand[]", e) for e in expand]
        if cursor:
            params.append(("cursor", cursor))
        body = self.get(f"/object-query/{object_name}", params)
        data = body.get("data")
        next_page = body.get("nextPage")
        return (
            [row for row in data if isinstance(row, dict)] if isinstance(data, list) else [],
            str(next_page) if next_page else None,
        )

    def query_all(
        self, object_name: str, *, filters: Sequence[str] = (), expand: Sequence[str] = ()
    ) -> list[Json]:
        """Every record of an Object Query, page after page."""
        found: list[Json] = []
        cursor: str | None = None
        while True:
            rows, cursor = self.query(object_name, filters=filters, expand=expand, cursor=cursor)
            found.extend(rows)
            if cursor is None or not rows:
                return found

    def record(self, object_name: str, key: str, expand: Sequence[str] = ()) -> Json | None:
        """One Object Query record by id; None when Zuora has no such record."""
        try:
            return self.get(f"/object-query/{object_name}/{key}", [("expand[]", e) for e in expand])
        except ZuoraRequestFailed as exc:
            if exc.status == 404:
                return None
            raise

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Json:
        def request() -> Json:
            response = self._send(method, path, params, body, idempotency_key)
            if response.status_code == 401:  # expired or revoked: one new token, one more try
                self._token = None
                response = self._send(method, path, params, body, idempotency_key)
            decoded = _decode(response)
            if response.status_code >= 300 or _failed(decoded):
                code, message = reasons_of(decoded)
                raise ZuoraAnswer(response.status_code, response.headers, code, message)
            return decoded if isinstance(decoded, dict) else {"data": decoded}

        return call_with_retry(
            self._retry,
            classify,
            platform="Zuora",
            method=method,
            path=path,
            request=request,
            failed=ZuoraRequestFailed,
        )

    def _send(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None,
        body: Mapping[str, Any] | None,
        idempotency_key: str | None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._bearer()}", "Accept": "application/json"}
        if self._settings.entity_ids:
            headers["Zuora-Entity-Ids"] = ",".join(self._settings.entity_ids)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        content = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json.dumps(body, default=_number).encode()
        query: list[tuple[str, str | int | float | bool | None]] = list(params or [])
        return self._http.request(
            method, self._settings.base_url + path, params=query, content=content, headers=headers
        )

    def _bearer(self) -> str:
        if self._token is not None and self._monotonic() < self._token_expires:
            return self._token
        assert self._settings.client_id is not None and self._settings.client_secret is not None
        response = self._http.post(
            self._settings.base_url + "/oauth/token",
            data={
                "client_id": self._settings.client_id,
                "client_secret": self._settings.client_secret.get_secret_value(),
                "grant_type": "client_credentials",
            },
        )
        decoded = _decode(response)
        token = decoded.get("access_token") if isinstance(decoded, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            code, message = reasons_of(decoded)
            if response.status_code in (400, 401):
                message = message or "the client id or secret is not valid"
            raise ZuoraAnswer(response.status_code, response.headers, code, f"token: {message}")
        expires_in = float(decoded.get("expires_in") or 3600)
        self._token = token
        self._token_expires = self._monotonic() + max(expires_in - TOKEN_MARGIN_SECONDS, 0.0)
        return token


def _pairs(params: Sequence[tuple[str, str]] | Mapping[str, str]) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)
