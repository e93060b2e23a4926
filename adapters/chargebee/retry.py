"""When to call Chargebee again, and how long to wait first: the core retry loop, read for
Chargebee's errors.

The SDK's own retries stay off: it retries a 429 without bound and never reads ``Retry-After``
(it looks for ``response_headers``; ``APIError`` keeps them as ``http_headers``). Here a 429, a
5xx, a timeout or a dropped connection is retried under the core's bounded policy, waiting what
``Retry-After`` asks for when Chargebee sends it; every other 4xx is a request that will never
succeed (a 409 is Chargebee's ``invalid_state_for_request``), so it fails at once with
Chargebee's message, ``api_error_code`` and ``param``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

import chargebee
import httpx

from connector.platform.retry import (
    Failure,
    PlatformRequestFailed,
    RetryPolicy,
    header,
    seconds_to_wait,
)
from connector.platform.retry import call_with_retry as _call_with_retry

T = TypeVar("T")

# The SDK raises a bare Exception naming the status when an answer is not JSON (a proxy's page).
_PLAIN_STATUS = re.compile(r"http_status_code:\s*(\d{3})")


class ChargebeeRequestFailed(PlatformRequestFailed):
    """Chargebee refused a request, or kept failing it until the attempts ran out."""

    code = "chargebee_error"

    @property
    def param(self) -> str | None:
        """The request parameter Chargebee blamed, when it named one."""
        cause = self.__cause__
        return cause.param if isinstance(cause, chargebee.APIError) else None


def retryable(status: int | None) -> bool:
    return status is None or status == 429 or status >= 500


def classify(exc: BaseException) -> Failure | None:
    """Read an error of the Chargebee SDK or of httpx under it; None for anything else."""
    if isinstance(exc, chargebee.APIError):
        status = int(exc.http_status_code) if exc.http_status_code else None
        message = str(exc.args[0]) if exc.args and exc.args[0] else type(exc).__name__
        if exc.param:
            message = f"{message} (param {exc.param})"
        return Failure(
            retryable=retryable(status),
            status=status,
            code=exc.api_error_code,
            message=message,
            wait=seconds_to_wait(header(exc.http_headers, "Retry-After")),
        )
    if isinstance(exc, httpx.TransportError):  # timeouts, refused or dropped connections
        return Failure(retryable=True, message=f"{type(exc).__name__}: {exc}".rstrip(": "))
    if type(exc) is Exception:
        text = str(exc)
        found = _PLAIN_STATUS.search(text)
        if found:
            status = int(found.group(1))
            return Failure(retryable=retryable(status), status=status, message=text[:300])
        if "api_error_code is not present" in text:
            return Failure(retryable=True, message="the answer is not a Chargebee error body")
    return None


def call_with_retry(policy: RetryPolicy, method: str, path: str, request: Callable[[], T]) -> T:
    """Run ``request`` under ``policy``; a final Chargebee error is ChargebeeRequestFailed."""
    return _call_with_retry(
        policy,
        classify,
        platform="Chargebee",
        method=method,
        path=path,
        request=request,
        failed=ChargebeeRequestFailed,
    )


__all__ = ["ChargebeeRequestFailed", "RetryPolicy", "call_with_retry", "classify"]
