"""A thin httpx client for NetSuite's REST web services: the record API and SuiteQL.

Every request carries the current M2M access token, waits for one of ``concurrency`` slots (the
account's concurrency limit is shared with every other integration, so creditsync takes a small
part of it), and goes through the core retry loop: no answer, 429 and 5xx are tried again with
backoff honouring ``Retry-After``; any other 4xx fails at once with NetSuite's own words, read
from the ``o:errorDetails`` of its error body.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, Final

import httpx

from adapters.netsuite.auth import TokenSource
from adapters.netsuite.settings import NetSuiteSettings
from connector.errors import CreditsyncError
from connector.platform.retry import (
    Failure,
    PlatformRequestFailed,
    RetryPolicy,
    call_with_retry,
    header,
    seconds_to_wait,
)

SUITEQL: Final = "/services/rest/query/v1/suiteql"
PAGE: Final = 1000  # SuiteQL's largest page


class NetSuiteRequestFailed(PlatformRequestFailed):
    """NetSuite refused a request, or kept failing it until the attempts ran out."""

    code = "netsuite_error"


class NetSuiteUnreadable(CreditsyncError):
    """NetSuite answered 2xx with a body that is not what its API sends."""


class NetSuiteAnswer(Exception):
    """A non-2xx answer, as NetSuite explained it."""

    def __init__(
        self, status: int, error_code: str | None, message: str, retry_after: float | None
    ) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.retry_after = retry_after


def read_error(response: httpx.Response) -> NetSuiteAnswer:
    """NetSuite's error body: ``title`` and ``o:errorDetails[]`` with ``detail`` and
    ``o:errorCode``; the details' texts joined are the message."""
    try:
        body = response.json()
    except ValueError:
        body = None
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    texts: list[str] = []
    code: str | None = None
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict):
            if isinstance(item.get("detail"), str):
                texts.append(item["detail"])
            if code is None and isinstance(item.get("o:errorCode"), str):
                code = item["o:errorCode"]
    title = body.get("title") if isinstance(body, dict) else None
    message = "; ".join(texts) or (title if isinstance(title, str) else response.reason_phrase)
    return NetSuiteAnswer(
        status=response.status_code,
        error_code=code,
        message=message,
        retry_after=seconds_to_wait(header(response.headers, "Retry-After")),
    )


def classify(exc: BaseException) -> Failure | None:
    if isinstance(exc, httpx.TransportError):
        return Failure(retryable=True, message=type(exc).__name__)
    if not isinstance(exc, NetSuiteAnswer):
        return None
    return Failure(
        retryable=exc.status == 429 or exc.status >= 500,
        status=exc.status,
        code=exc.error_code,
        message=exc.message,
        wait=exc.retry_after,
    )


class NetSuiteClient:
    def __init__(
        self,
        settings: NetSuiteSettings,
        http: httpx.Client | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self._http = http or httpx.Client(timeout=settings.timeout_seconds)
        self._policy = policy or RetryPolicy(max_attempts=settings.max_attempts)
        self._slots = threading.BoundedSemaphore(settings.concurrency)
        self.tokens = TokenSource(settings, self._http)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One call, retried as the policy says; NetSuiteRequestFailed when it cannot succeed."""

        def send() -> httpx.Response:
            with self._slots:
                response = self._send(method, path, json, params, headers)
                if response.status_code == 401:  # a token revoked or expired early: once more
                    self.tokens.forget()
                    response = self._send(method, path, json, params, headers)
            if response.status_code >= 400:
                raise read_error(response)
            return response

        return call_with_retry(
            self._policy,
            classify,
            platform="NetSuite",
            method=method,
            path=path,
            request=send,
            failed=NetSuiteRequestFailed,
        )

    def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        return self._http.request(
            method,
            self.settings.host + path,
            json=json,
            params=dict(params or {}),
            headers={
                "Authorization": f"Bearer {self.tokens.token()}",
                "Accept": "application/json",
                **(headers or {}),
            },
        )

    def suiteql(self, query: str) -> Iterator[dict[str, Any]]:
        """Every row of ``query``, page after page (``hasMore``, ``offset``)."""
        offset = 0
        while True:
            response = self.request(
                "POST",
                SUITEQL,
                json={"q": query},
                params={"limit": PAGE, "offset": offset},
                headers={"Prefer": "transient"},
            )
            try:
                page = response.json()
            except ValueError:
                raise NetSuiteUnreadable(
                    f"NetSuite answered a SuiteQL query (offset {offset}) with text that is not "
                    "JSON; check base_url points at the REST web services host"
                ) from None
            items = page.get("items", []) if isinstance(page, dict) else []
            yield from (item for item in items if isinstance(item, dict))
            if not (isinstance(page, dict) and page.get("hasMore")) or not items:
                return
            offset += len(items)

    def close(self) -> None:
        self._http.close()
