"""Bounded retries with exponential backoff that honour the platform's own advice.

Platforms ask clients to back off on 429, to retry 5xx and timeouts, and sometimes say how long
to wait (``Retry-After``, ``RateLimit-Reset``) or whether a retry is safe at all. Every other 4xx
is a request that will never succeed: it fails at once with the platform's own message. Each
adapter supplies a :data:`Classifier` that reads its client's exceptions; this module owns the
loop, so the policy is the same for every platform and SDK-internal retries stay off.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from connector.errors import CreditsyncError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; ``sleep`` is injectable so tests never wait."""

    max_attempts: int = 6
    base_wait: float = 0.5
    max_wait: float = 30.0
    jitter: float = 0.5
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Failure:
    """What a platform said when a call failed, as an adapter's classifier reads it.

    ``status`` is None when no answer came (connection error, timeout). ``wait`` is the delay the
    platform asked for, in seconds, when it said one.
    """

    retryable: bool
    status: int | None = None
    code: str | None = None
    message: str = ""
    wait: float | None = None


Classifier = Callable[[BaseException], Failure | None]
"""Reads one exception; None means "not a platform failure" (a bug: re-raised untouched)."""


class PlatformRequestFailed(CreditsyncError):
    """A platform refused a request, or kept failing it until the attempts ran out."""

    code = "platform_error"

    def __init__(
        self, *, platform: str, method: str, path: str, failure: Failure, attempts: int
    ) -> None:
        self.platform = platform
        self.method = method
        self.path = path
        self.status = failure.status
        self.platform_code = failure.code
        self.platform_message = failure.message
        self.attempts = attempts
        self.retryable = failure.retryable
        answer = f"HTTP {failure.status}" if failure.status is not None else "no answer"
        code = f" ({failure.code})" if failure.code else ""
        what = f"{platform} {method.upper()} {path}"
        if failure.retryable:
            text = f"{what} still failing after {attempts} attempts ({answer}{code})"
        else:
            text = f"{platform} refused {method.upper()} {path} ({answer}{code})"
        super().__init__(f"{text}: {failure.message}" if failure.message else text)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Read a response header whatever the case the transport gave it."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def seconds_to_wait(value: str | None, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` value in seconds: delta-seconds or an HTTP date; None when unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
        return max(seconds, 0.0)
    return seconds if seconds >= 0 else None


def retryable_status(status: int | None) -> bool:
    """The common rule: no answer, 409 (lock contention), 429 and 5xx are worth another try."""
    return status is None or status in (409, 429) or status >= 500


class _Wait:
    def __init__(self, policy: RetryPolicy, classify: Classifier) -> None:
        self._policy = policy
        self._classify = classify
        self._backoff = wait_exponential_jitter(
            multiplier=policy.base_wait, max=policy.max_wait, jitter=policy.jitter
        )

    def __call__(self, state: RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        failure = self._classify(error) if error is not None else None
        if failure is not None and failure.wait is not None:
            return min(failure.wait, self._policy.max_wait)
        return float(self._backoff(state))


def call_with_retry(
    policy: RetryPolicy,
    classify: Classifier,
    *,
    platform: str,
    method: str,
    path: str,
    request: Callable[[], T],
    failed: type[PlatformRequestFailed] = PlatformRequestFailed,
) -> T:
    """Run ``request`` under ``policy``; a final platform failure becomes ``failed``."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        return request()

    def worth_retrying(exc: BaseException) -> bool:
        failure = classify(exc)
        return failure is not None and failure.retryable

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_attempts),
        wait=_Wait(policy, classify),
        retry=retry_if_exception(worth_retrying),
        sleep=policy.sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except Exception as exc:
        failure = classify(exc)
        if failure is None:
            raise
        raise failed(
            platform=platform, method=method, path=path, failure=failure, attempts=attempts
        ) from exc
